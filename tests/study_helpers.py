"""Builders shared by the reader-study tests (not a test module).

Every file is created under the caller's ``tmp_path``; ``fake_hint`` stands in for the
``rds_core`` ensemble so that study tests run without models.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from rds_core.imaging import Radiograph
from study.admin import create_study
from study.cases import import_case_set
from study.records import AiHint, StudyInfo

__all__ = ["film", "write_films", "fake_hint", "make_study"]


def film(seed: int, shape: tuple[int, int] = (80, 96)) -> np.ndarray:
    """A distinct 8-bit grey test image (content differs per seed)."""
    return (np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)


def write_films(folder: Path, n: int, truths: Sequence[int] | None = None,
                extra_rows: Sequence[str] = ()) -> Path:
    """Write ``n`` PNG films and ``truth.csv`` into ``folder``; returns the CSV path."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,truth"]
    for i in range(n):
        Image.fromarray(film(i)).save(folder / f"case_{i:02d}.png")
        rows.append(f"case_{i:02d}.png,{(truths[i] if truths else i % 2)}")
    rows += list(extra_rows)
    csv = folder / "truth.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return csv


def fake_hint(radiograph: Radiograph) -> AiHint:
    """A cheap deterministic stand-in for the rds_core ensemble."""
    p = float(np.clip(radiograph.pixels.mean() * 1.6 - 0.3, 0.0, 1.0))
    folds = tuple(float(np.clip(p + d, 0.0, 1.0)) for d in (-0.04, -0.02, 0.0, 0.02, 0.04))
    heat = Image.fromarray((radiograph.pixels[::8, ::8] * 255).astype(np.uint8))
    buffer = io.BytesIO()
    heat.save(buffer, format="PNG")
    return AiHint(probability=p, fold_probabilities=folds, spread=float(np.std(folds)),
                  threshold=0.5, positive=p >= 0.5,
                  heatmap_png=buffer.getvalue(), pack_name="fake-pack", pack_version="0.0")


def make_study(db, tmp_path: Path, *, n: int = 8, design: str = "sequential",
               arms: Sequence[str] = ("none", "score_heatmap"), flagged_fraction: float = 0.0,
               name: str = "study", seed: str = "seed", **kwargs) -> StudyInfo:
    """Import ``n`` films (alternating truth) and create a study over them."""
    csv = write_films(tmp_path / f"films_{name}", n)
    report = import_case_set(db, csv.parent, csv, name=name, storage_dir=tmp_path / "store",
                             hint_fn=fake_hint)
    return create_study(db, name=name, case_set_id=report.case_set_id, design=design,
                        arms=arms, flagged_fraction=flagged_fraction, seed=seed, **kwargs)
