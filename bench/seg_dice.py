"""Segmentation Dice of a pack on the lung_seg test split, through the inference code path.

The split is rebuilt exactly as ``python -m rds_core.train seg`` built it (patient-level,
seed 42, 70/15/15), so the numbers compare with ``metrics.test_dice_*`` in the manifest.

Usage: ``python bench/seg_dice.py [--csv ../shared/data/lung_seg/manifest.csv] [--pack lung-seg]``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rds_core.models.packs import resolve_pack_dir  # noqa: E402
from rds_core.train.seg import evaluate_pack  # noqa: E402
from rds_core.train.table import patient_split, read_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path, default=ROOT.parent / "shared/data/lung_seg/manifest.csv")
    parser.add_argument("--pack", default="lung-seg")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if not args.csv.exists():
        print(f"error: {args.csv} not found (the lung_seg data set is in ../shared).", file=sys.stderr)
        return 2
    frame = read_table(args.csv)
    frame = frame[frame["mask"].astype(str) != ""].reset_index(drop=True)
    frame["split"] = patient_split(frame, {"train": 0.7, "val": 0.15, "test": 0.15}, args.seed)
    test = frame[frame["split"] == "test"].reset_index(drop=True)
    print(json.dumps(evaluate_pack(resolve_pack_dir(args.pack), test, "cpu"), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
