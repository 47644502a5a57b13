"""Right-angle orientation from the lung mask, and an upright crop whatever the stored turn."""

from __future__ import annotations

import numpy as np
import pytest

from rds_core.classification import prepare_input
from rds_core.models.packs import Preprocessing
from rds_core.orientation import UprightTemplate, fit_template, shape_signature


def _chest(height: int = 300, width: int = 260, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A film with two lungs that are narrow at the apex and wide at the base, and a heart notch."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    y = (yy - 0.15 * height) / (0.7 * height)  # 0 at the apices, 1 at the diaphragm
    half = 0.05 * width + 0.2 * width * np.sqrt(np.clip(y, 0, 1))
    mask = np.zeros((height, width), bool)
    for centre in (0.3 + shift, 0.7 + shift):
        mask |= (np.abs(xx - centre * width) < half * 0.8) & (y >= 0) & (y <= 1)
    heart = ((yy - 0.8 * height) / (0.15 * height)) ** 2 + ((xx - 0.58 * width) / (0.12 * width)) ** 2 < 1
    mask &= ~heart
    rng = np.random.default_rng(0)
    film = np.clip(0.6 - 0.3 * mask + rng.normal(0, 0.02, mask.shape), 0, 1).astype(np.float32)
    return film, mask


@pytest.fixture(scope="module")
def template() -> UprightTemplate:
    return fit_template([_chest(h, w, s)[1] for h, w, s in ((300, 260, 0.0), (280, 300, 0.02), (320, 240, -0.02))])


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_estimate_turns_with_the_film(template, turns):
    _, mask = _chest(310, 250, 0.01)
    stored = np.rot90(mask, turns)
    # rot90(stored, k) is upright when k undoes the stored turn
    assert template.upright_turns(stored) == (-turns) % 4


def test_template_round_trips_through_the_manifest(template):
    again = UprightTemplate.from_manifest_extra({"upright_template": template.to_manifest_extra()})
    assert again is not None and np.allclose(again.values, template.values, atol=1e-4)
    assert UprightTemplate.from_manifest_extra({}) is None


def test_signature_is_size_independent():
    small = shape_signature(_chest(150, 130)[1])
    big = shape_signature(_chest(600, 520)[1])
    assert small.shape == big.shape and np.abs(small - big).mean() < 0.05


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_upright_crop_is_identical_for_a_turned_film(template, turns):
    film, mask = _chest(301, 257)
    pre = Preprocessing(size=64, mean=0.5, std=0.25, lung_masked=True, crop_margin=0.05)
    upright = prepare_input(film, mask, pre, template.upright_turns(mask))
    stored_film, stored_mask = np.rot90(film, turns).copy(), np.rot90(mask, turns).copy()
    again = prepare_input(stored_film, stored_mask, pre, template.upright_turns(stored_mask))
    assert again.turns == (-turns) % 4
    assert np.array_equal(upright.tensor.numpy(), again.tensor.numpy())
    # a map in model space lands on the film as stored: the turned map of the upright film
    square = np.zeros((64, 64), np.float32)
    square[20:30, 10:20] = 1.0
    on_upright = upright.to_film(square)
    on_stored = again.to_film(square)
    assert on_stored.shape == stored_film.shape
    assert np.allclose(on_stored, np.rot90(on_upright, turns), atol=1e-6)
    # and onto a smaller display copy of the stored film
    display = (stored_film.shape[0] // 2, stored_film.shape[1] // 2)
    assert again.to_film(square, display).shape == display
