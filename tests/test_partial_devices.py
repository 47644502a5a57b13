"""Regional RDS patterns (rds_core.train.partial) and simulated devices (rds_core.train.devices)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from rds_core.train.devices import KINDS, draw_devices
from rds_core.train.partial import EXTENTS, ZONES, lung_zones, simulate_partial_rds
from rds_core.train.simulate import SimulationInputError, effect_margin_px
from tests.test_simulate import _synthetic_film


@pytest.fixture(scope="module")
def film() -> tuple[np.ndarray, np.ndarray]:
    return _synthetic_film()


def test_zones_are_disjoint_and_cover_the_lungs(film):
    _, mask = film
    zones = lung_zones(mask)
    assert set(zones) == set(ZONES)
    total = np.sum([z.astype(int) for z in zones.values()], axis=0)
    assert (total[mask] == 1).all() and (total[~mask] == 0).all()
    # each of the synthetic film's two lungs is split at half height: four similar zones
    areas = [z.sum() for z in zones.values()]
    assert min(areas) > 0.2 * mask.sum()
    # image-left zones lie left of image-right zones, upper above lower
    cx = {n: np.nonzero(z)[1].mean() for n, z in zones.items()}
    cy = {n: np.nonzero(z)[0].mean() for n, z in zones.items()}
    assert cx["left-upper"] < cx["right-upper"] and cy["left-upper"] < cy["left-lower"]


@pytest.mark.parametrize("extent", EXTENTS)
def test_partial_pattern_stays_in_its_zones(film, extent):
    image, mask = film
    out = simulate_partial_rds(image, mask, np.random.default_rng(3), extent=extent, grade=4)
    zones = lung_zones(mask)
    untouched = [n for n in ZONES if n not in out.grades]
    assert {"zone": 3, "lung": 2, "asymmetric": 0}[extent] == len(untouched)
    margin = effect_margin_px(out.painted)
    near = ndi.binary_dilation(out.painted, np.ones((2 * margin + 1,) * 2, bool))
    assert np.array_equal(out.image[~near], image[~near]), "pixels far from the painted zones changed"
    for name in out.grades:  # every painted zone got brighter (denser)
        assert out.image[zones[name]].mean() > image[zones[name]].mean() + 0.01
    if extent == "asymmetric":
        assert sorted(set(out.grades.values())) == [2, 4]
    assert set(out.dominant) <= set(out.grades) and all(out.grades[n] == 4 for n in out.dominant)


def test_partial_rejects_unknown_extent(film):
    image, mask = film
    with pytest.raises(SimulationInputError, match="extent must be one of"):
        simulate_partial_rds(image, mask, np.random.default_rng(0), extent="lobe")


@pytest.mark.parametrize("kind", KINDS)
def test_devices_are_bright_thin_and_respect_the_region(film, kind):
    image, mask = film
    out, coverage = draw_devices(image, np.random.default_rng(5), count=3, kinds=(kind,))
    assert out.shape == image.shape and out.dtype == np.float32
    drawn = coverage > 0.5
    assert drawn.any() and drawn.mean() < 0.08, "devices are thin structures, not a wash over the film"
    assert (out >= image - 1e-6).all() and out[drawn].mean() > image[drawn].mean() + 0.2
    inside, cov_inside = draw_devices(image, np.random.default_rng(5), count=3, kinds=(kind,), region=mask)
    assert np.array_equal(inside[~mask], image[~mask]) and (cov_inside[~mask] == 0).all()


def test_devices_are_reproducible(film):
    image, _ = film
    a, _ = draw_devices(image, np.random.default_rng(9))
    b, _ = draw_devices(image, np.random.default_rng(9))
    c, _ = draw_devices(image, np.random.default_rng(10))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
