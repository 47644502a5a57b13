"""``python -m rds_core analyze FILE_OR_DIR... --out DIR`` - the research team's batch tool.

For each film it writes ``<stem>.json`` (probabilities, label, threshold, lung area, CAM
energy inside the lungs, timings, device, pack, warnings), ``<stem>_mask.png`` (lung
mask, 0/255, at the film's own size) and, unless ``--no-cam``, ``<stem>_cam.png`` (the
fused heatmap over the film). A bad file gets one line on stderr and the run goes on; the
exit status is 1 if any input failed, 2 for a usage or weight-pack problem.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rds_core.errors import RdsError

SUPPORTED_SUFFIXES = {".png", ".jpg", ".jpeg", ".dcm", ".dicom", ""}


def _inputs(paths: list[Path]) -> list[Path]:
    """Expand folders (recursively) into files; keep explicit files as given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
                                and not p.name.startswith(".")))
        else:
            files.append(path)
    return files


def _unique_stems(files: list[Path]) -> list[str]:
    """Output stems; films with the same name in different folders get a numeric suffix."""
    seen: dict[str, int] = {}
    stems = []
    for path in files:
        count = seen.get(path.stem, 0)
        seen[path.stem] = count + 1
        stems.append(path.stem if count == 0 else f"{path.stem}_{count}")
    return stems


def analyze_command(args: argparse.Namespace) -> int:
    from PIL import Image
    from tqdm import tqdm

    from rds_core.imaging import load_radiograph
    from rds_core.pipeline import analyze, load_models
    from rds_core.render import overlay

    files = _inputs(args.inputs)
    if not files:
        print("error: no input files found.", file=sys.stderr)
        return 2
    try:
        models = load_models(args.pack, args.seg_pack, args.device)
    except (RdsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failed, started = 0, time.perf_counter()
    progress = tqdm(list(zip(files, _unique_stems(files))), disable=len(files) <= 3, unit="film", file=sys.stderr)
    for path, stem in progress:
        try:
            radiograph = load_radiograph(path)
            result = analyze(radiograph, models, with_cam=not args.no_cam)
        except RdsError as exc:
            failed += 1
            tqdm.write(f"{path}: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # one broken film must not stop a batch of hundreds
            failed += 1
            tqdm.write(f"{path}: unexpected error ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        record = result.summary()
        record["source"] = str(path)
        (args.out / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        Image.fromarray(result.lung_mask.astype("uint8") * 255).save(args.out / f"{stem}_mask.png")
        if result.cams is not None:
            Image.fromarray(overlay(result.display, heatmap=result.cams.fused, opacity=0.5, lung_mask=result.lung_mask_display)).save(args.out / f"{stem}_cam.png")
    done = len(files) - failed
    print(f"analysed {done} of {len(files)} films in {time.perf_counter() - started:.1f} s; {failed} failed; "
          f"results in {args.out}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rds_core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("analyze", help="segment, classify and explain films")
    run.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_DIR")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--pack", default="rds-demo", help="classification pack name or folder")
    run.add_argument("--seg-pack", default="lung-seg", help="segmentation pack name or folder")
    run.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    run.add_argument("--no-cam", action="store_true", help="skip the heatmaps (faster)")
    args = parser.parse_args(argv)
    return analyze_command(args)


if __name__ == "__main__":
    sys.exit(main())
