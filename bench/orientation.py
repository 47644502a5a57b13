"""How often the upright estimate of the lung-seg pack is right, on films it did not fit on.

The template (``extra.upright_template`` of the lung-seg manifest) was fitted on the seg
pack's training masks. Checked here on upright films only (every public film is stored
upright), so "right" means the estimate says 0 quarter turns:

* the validation and test masks of ``shared/data/lung_seg`` (V7 ground truth), read from
  the seg run's ``split.csv`` when given, else all masks (then the number is optimistic);
* the lung-seg pack's own masks of the 284 ``pediatric_cxr`` films (the deployed path).

A wrong estimate does not break rotation invariance (the estimate turns with the film) but
shows the classifier a turned crop, so it costs accuracy on that film.

Usage: ``python bench/orientation.py [--split runs/lung-seg/split.csv]``; writes the
"## Upright estimate" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.latency import write_section  # noqa: E402
from rds_core.imaging import load_radiograph  # noqa: E402
from rds_core.models.packs import open_pack  # noqa: E402
from rds_core.orientation import UprightTemplate  # noqa: E402
from rds_core.segmentation import LungSegmenter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--split", type=Path, default=None, help="the seg run's split.csv (held-out masks only)")
    parser.add_argument("--seg-pack", default="lung-seg")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()

    _, manifest = open_pack(args.seg_pack, "segmentation")
    template = UprightTemplate.from_manifest_extra(manifest.extra)
    if template is None:
        print(f"error: pack {args.seg_pack} has no upright template", file=sys.stderr)
        return 2
    if args.split and args.split.is_file():
        frame = pd.read_csv(args.split)
        frame = frame[frame["split"] != "train"]
        gt_note = f"{len(frame)} validation + test masks (not used to fit the template)"
        masks = [np.asarray(Image.open(p).convert("L")) > 127 for p in frame["mask"]]
    else:
        frame = pd.read_csv(args.shared / "lung_seg" / "manifest.csv")
        gt_note = f"all {len(frame)} masks (the template was fitted on part of them: optimistic)"
        masks = [np.asarray(Image.open(args.shared / "lung_seg" / p).convert("L")) > 127 for p in frame["mask"]]
    gt_right = np.mean([template.upright_turns(m) == 0 for m in masks])
    segmenter = LungSegmenter(args.seg_pack, "cpu")
    labels = pd.read_csv(args.shared / "pediatric_cxr" / "labels.csv")
    predicted = []
    for row in labels.itertuples():
        seg = segmenter.segment(load_radiograph(args.shared / "pediatric_cxr" / row.file).pixels)
        if seg.lungs_found:
            predicted.append(template.upright_turns(seg.mask) == 0)
    lines = [
        "## Upright estimate (lung-seg template)", "",
        "Command: `python bench/orientation.py --split runs/lung-seg/split.csv`. Every film below is stored upright.", "",
        "| masks | n | estimate upright |", "|---|---|---|",
        f"| V7 ground truth, {gt_note} | {len(masks)} | {gt_right:.3f} |",
        f"| lung-seg pack masks of `pediatric_cxr` films (deployed path) | {len(predicted)} | {np.mean(predicted):.3f} |", "",
    ]
    text = "\n".join(lines)
    print(text)
    write_section(args.results, "## Upright estimate (lung-seg template)", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
