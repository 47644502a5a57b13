"""Tiny random weight packs shared by the core tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

from rds_core.models.random_pack import write_random_classifier_pack, write_random_segmentation_pack

# A random U-Net finds "lungs" nowhere plausible; relax the gate so the pipeline runs through.
OPEN_GATE = {"min_confidence": 0.0, "min_area_fraction": 0.0, "max_area_fraction": 1.0}


def make_packs(root: Path, *, model: str = "resnet10t", tta: tuple[int, ...] = (0,)) -> tuple[Path, Path]:
    """Write a random classifier pack and a random segmentation pack under ``root``."""
    cls_dir, seg_dir = root / "rds-demo", root / "lung-seg"
    write_random_classifier_pack(cls_dir, model=model, size=64)
    write_random_segmentation_pack(seg_dir, size=64, postprocessing={**OPEN_GATE, "tta_rotations": list(tta)})
    return cls_dir, seg_dir
