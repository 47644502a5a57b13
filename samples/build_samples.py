"""Rebuild the demo's sample films, ``samples.csv`` and nothing else.

Usage (from the repository root)::

    .venv/bin/python samples/build_samples.py [--shared ../shared/data] [--out samples]

Takes a few openly licensed paediatric films from the shared data folder, one small DICOM
from ``tests/data/dicom`` and paints a SIMULATED RDS pattern (grades I-IV) into four normal
paediatric films with :func:`rds_core.train.simulate.simulate_rds`, using their V7 lung masks.
The choice is seeded, so running it again gives the same files. ``samples/README.md`` is
written by hand and describes the result.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: make `rds_core` importable
    sys.path.insert(0, str(REPO))

from rds_core.imaging.display import to_uint8  # noqa: E402
from rds_core.train.partial import simulate_partial_rds  # noqa: E402
from rds_core.train.simulate import SEVERITY_NAMES, simulate_rds  # noqa: E402

__all__ = ["Sample", "build", "main"]

SEED = "42-samples"
KERMANY = "Kermany DS et al., Cell 2018; Mendeley Data doi:10.17632/rscbjbr9sj.2"
CC_BY = "CC BY 4.0"
DICOM_NAME = "derived_RG1_MONO2_explicitLE_512.dcm"
COLUMNS = ("file", "truth", "kind", "grade", "description", "source", "licence")


@dataclass(frozen=True)
class Sample:
    """One row of ``samples.csv``."""

    file: str
    truth: int
    kind: str  # the gallery caption's kind: normal, pneumonia, simulated, simulated_one_lung, dicom
    grade: str  # simulated Giedion grade, "" otherwise
    description: str
    source: str
    licence: str


def _unpadded_box(row: dict[str, str], side: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the real film inside a padded lung_seg square.

    The shared lung_seg images were padded to a square with black bars, then resized; the
    manifest keeps the padding and scale so the bars can be cut off again.
    """
    scale = float(row["scale"])
    top = round(float(row["pad_top"]) * scale)
    left = round(float(row["pad_left"]) * scale)
    bottom = min(side, round((float(row["pad_top"]) + float(row["orig_height"])) * scale))
    right = min(side, round((float(row["pad_left"]) + float(row["orig_width"])) * scale))
    return top, bottom, left, right


def _load_lung_seg(shared: Path, row: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Film in [0, 1] and boolean lung mask, with the padding bars removed."""
    image = np.asarray(Image.open(shared / "lung_seg" / row["file"]).convert("L"), dtype=np.float32) / 255.0
    mask = np.asarray(Image.open(shared / "lung_seg" / row["mask"]).convert("L")) > 127
    top, bottom, left, right = _unpadded_box(row, image.shape[0])
    return image[top:bottom, left:right], mask[top:bottom, left:right]


def _save_png(pixels: np.ndarray, path: Path) -> None:
    Image.fromarray(to_uint8(pixels)).save(path, optimize=True)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _kermany_source(folder: str, row: dict[str, str]) -> str:
    return f"shared/data/{folder}/{row['file']} (original {row['original_filename']}); {KERMANY}"


def build(shared: Path, out: Path, dicom_dir: Path) -> list[Sample]:
    """Write the sample films and ``samples.csv`` into ``out``.

    Args:
        shared: the shared data folder (holds ``lung_seg/`` and ``pediatric_cxr/``).
        out: the samples folder.
        dicom_dir: folder holding :data:`DICOM_NAME`.

    Returns:
        The rows written to ``samples.csv``.
    """
    rng = random.Random(SEED)
    out.mkdir(parents=True, exist_ok=True)
    seg_rows = [r for r in _read_csv(shared / "lung_seg" / "manifest.csv") if r["source_dataset"] == "kermany_v7"]
    ped_rows = _read_csv(shared / "pediatric_cxr" / "labels.csv")

    def pick(rows: list[dict[str, str]], count: int) -> list[dict[str, str]]:
        return rng.sample(sorted(rows, key=lambda r: r["file"]), count)

    normals = pick([r for r in seg_rows if r["label"] == "normal"], 5)
    bacterial = pick([r for r in seg_rows if r["label"] == "bacteria"], 1)[0]
    viral = pick([r for r in seg_rows if r["label"] == "virus"], 1)[0]
    ped_normals = pick([r for r in ped_rows if r["label"] == "NORMAL"], 2)
    ped_pneumonia = pick([r for r in ped_rows if r["label"] == "PNEUMONIA"], 1)[0]
    # Drawn last so the picks above stay what they were before this sample existed.
    one_lung_base = pick([r for r in seg_rows if r["label"] == "normal" and r not in normals], 1)[0]
    samples: list[Sample] = []

    def copy_lung_seg(row: dict[str, str], name: str, what: str) -> None:
        image, _ = _load_lung_seg(shared, row)
        _save_png(image, out / name)
        samples.append(Sample(name, 0, "pneumonia" if "pneumonia" in what else "normal", "",
                              f"Child aged 1-5 years, {what} (Kermany paediatric set; black padding bars removed)",
                              _kermany_source("lung_seg", row), CC_BY))

    def copy_pediatric(row: dict[str, str], name: str, what: str) -> None:
        shutil.copyfile(shared / "pediatric_cxr" / row["file"], out / name)
        samples.append(Sample(name, 0, "pneumonia" if "pneumonia" in what else "normal", "",
                              f"Child aged 1-5 years, {what} (Kermany paediatric set)",
                              _kermany_source("pediatric_cxr", row), CC_BY))

    copy_lung_seg(normals[0], "kermany_normal_01.png", "normal chest film")
    copy_pediatric(ped_normals[0], "kermany_normal_02.png", "normal chest film")
    copy_pediatric(ped_normals[1], "kermany_normal_03.png", "normal chest film")
    copy_lung_seg(bacterial, "kermany_pneumonia_01.png", "bacterial pneumonia")
    copy_lung_seg(viral, "kermany_pneumonia_02.png", "viral pneumonia")
    copy_pediatric(ped_pneumonia, "kermany_pneumonia_03.png", f"{ped_pneumonia['pathogen']} pneumonia")

    shutil.copyfile(dicom_dir / DICOM_NAME, out / "adult_cr_chest.dcm")
    samples.append(Sample(
        "adult_cr_chest.dcm", 0, "dicom", "",
        "Adult PA chest, DICOM CR (MONOCHROME2, 12-bit, 512x482), derived from the NEMA WG04 RG1 film",
        f"tests/data/dicom/{DICOM_NAME}, made from pydicom/pylibjpeg-data ljdata/ds/JPEG2000/RG1_J2KI.dcm "
        "(NEMA WG04 compression test set)",
        "MIT (pydicom/pylibjpeg-data repository); the image itself carries no explicit licence",
    ))

    for grade, row in zip((1, 2, 3, 4), normals[1:]):
        image, mask = _load_lung_seg(shared, row)
        film = simulate_rds(image, mask, grade, np.random.default_rng(1000 + grade), strength=0.5)
        name = f"simulated_rds_grade{grade}_01.png"
        _save_png(film.image, out / name)
        samples.append(Sample(
            name, 1, "simulated", str(grade),
            f"SIMULATED RDS pattern, {SEVERITY_NAMES[grade]}, painted by rds_core.train.simulate "
            "onto a normal paediatric film; not a real RDS case",
            _kermany_source("lung_seg", row) + "; lung mask V7 Labs covid-19-xray-dataset",
            "CC BY 4.0 (adapted: simulated pattern added; film Kermany et al., mask V7 Labs)",
        ))

    image, mask = _load_lung_seg(shared, one_lung_base)
    film = simulate_partial_rds(image, mask, np.random.default_rng(2000), extent="lung", grade=3)
    side = "left" if film.dominant[0].startswith("left") else "right"
    name = "simulated_rds_one_lung_01.png"
    _save_png(film.image, out / name)
    samples.append(Sample(
        name, 1, "simulated_one_lung", "",
        f"SIMULATED RDS pattern in ONE lung only (the image-{side} lung), grade III in that lung, painted by "
        "rds_core.train.partial onto a normal paediatric film; not a real RDS case",
        _kermany_source("lung_seg", one_lung_base) + "; lung mask V7 Labs covid-19-xray-dataset",
        "CC BY 4.0 (adapted: simulated pattern added; film Kermany et al., mask V7 Labs)",
    ))

    with open(out / "samples.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for sample in samples:
            writer.writerow([getattr(sample, column) for column in COLUMNS])
    return samples


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` when None.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "samples")
    parser.add_argument("--dicom-dir", type=Path, default=REPO / "tests" / "data" / "dicom")
    args = parser.parse_args(argv)
    if not (args.shared / "lung_seg" / "manifest.csv").is_file():
        print(f"error: {args.shared} does not hold lung_seg/manifest.csv; pass --shared", file=sys.stderr)
        return 2
    rows = build(args.shared, args.out, args.dicom_dir)
    print(f"wrote {len(rows)} samples and samples.csv to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
