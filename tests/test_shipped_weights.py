"""The shipped packs in weights/: verified, honest about their data, and doing their job on samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rds_core.imaging import load_radiograph
from rds_core.models.packs import read_manifest, verify_files
from rds_core.pipeline import analyze, load_models

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "weights"
SAMPLES = REPO / "samples"
PACKS = ("lung-seg", "rds-demo", "pediatric-pneumonia")


@pytest.mark.parametrize("pack", PACKS)
def test_shipped_pack_verifies_and_says_what_it_is(pack: str) -> None:
    manifest = read_manifest(WEIGHTS / pack)
    verify_files(WEIGHTS / pack, manifest)
    assert "not for clinical use" in manifest.notice
    assert manifest.training_data and manifest.metrics
    if pack == "rds-demo":
        assert "simulated" in manifest.notice and "simulated" in manifest.training_data


def test_weights_stay_under_the_budget() -> None:
    total = sum(p.stat().st_size for p in WEIGHTS.rglob("*") if p.is_file())
    assert total < 100 * 1024 * 1024


@pytest.fixture(scope="module")
def models():
    return load_models("rds-demo", "lung-seg", "cpu")


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * np.logical_and(a, b).sum() / (a.sum() + b.sum()))


def test_shipped_segmentation_finds_the_lungs_of_a_sample(models) -> None:
    film = load_radiograph(SAMPLES / "kermany_normal_02.png")
    result = analyze(film, models)
    assert result.lungs_found
    assert 0.12 < result.lung_area_fraction < 0.6
    assert result.lung_mask.shape == (film.height, film.width)
    # Two lungs, one on each side of the midline.
    columns = np.flatnonzero(result.lung_mask.any(axis=0))
    assert columns.min() < film.width * 0.4 and columns.max() > film.width * 0.6


def test_shipped_segmentation_is_robust_to_a_quarter_turn(models) -> None:
    film = load_radiograph(SAMPLES / "kermany_normal_02.png")
    upright = models.segmenter.segment(film.pixels).mask
    turned = models.segmenter.segment(np.ascontiguousarray(np.rot90(film.pixels))).mask
    assert _dice(upright, np.rot90(turned, -1)) > 0.85


def test_shipped_demo_pack_scores_simulated_rds_above_untouched_films(models) -> None:
    rows = [line.split(",")[:2] for line in (SAMPLES / "samples.csv").read_text().splitlines()[1:]]
    scores = {name: analyze(load_radiograph(SAMPLES / name), models, with_cam=False).probability
              for name, _ in rows if name.startswith(("kermany_", "simulated_rds_grade3", "simulated_rds_grade4"))}
    simulated = [s for n, s in scores.items() if n.startswith("simulated")]
    untouched = [s for n, s in scores.items() if n.startswith("kermany_")]
    assert min(simulated) > np.median(untouched), json.dumps(scores, indent=1)


def test_shipped_demo_pack_looks_at_the_lungs(models) -> None:
    result = analyze(load_radiograph(SAMPLES / "simulated_rds_grade4_01.png"), models)
    assert result.cams is not None
    # The maps concentrate on the lungs well beyond chance (a uniform map would put
    # lung_area_fraction of its energy there). The >= 0.8 target is not met yet: see RESULTS.md.
    assert result.cams.in_lung_fused > 1.5 * result.lung_area_fraction
