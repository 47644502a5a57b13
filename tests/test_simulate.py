"""Tests of the simulated RDS pattern (rds_core.train.simulate) on a synthetic film."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from rds_core.train.simulate import (
    GRADES,
    SEVERITY_NAMES,
    SimulatedFilm,
    SimulationInputError,
    effect_margin_px,
    sample_grade,
    simulate_rds,
)

SIZE = 256


def _synthetic_film(size: int = SIZE, *, quantised: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 'body' gradient with two darker elliptic 'lungs' and film noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    body = 0.45 + 0.25 * yy + 0.05 * np.cos(3.0 * xx)
    left = ((yy - 0.48) / 0.30) ** 2 + ((xx - 0.30) / 0.14) ** 2 < 1.0
    right = ((yy - 0.48) / 0.30) ** 2 + ((xx - 0.70) / 0.14) ** 2 < 1.0
    mask = left | right
    # Lungs are darker than soft tissue, with a soft edge like a real film.
    air = ndi.gaussian_filter(mask.astype(np.float32), 2.0)
    noise = np.random.default_rng(1234).normal(0.0, 0.012, (size, size)).astype(np.float32)
    image = np.clip(body - 0.28 * air + noise, 0.0, 1.0).astype(np.float32)
    if quantised:
        image = np.round(image * 255.0).astype(np.float32) / 255.0
    return image, mask


def _tiny_mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[100:105, 100:105] = True
    return mask


@pytest.fixture(scope="module")
def film() -> tuple[np.ndarray, np.ndarray]:
    return _synthetic_film()


def _outside(mask: np.ndarray, margin: int) -> np.ndarray:
    square = np.ones((2 * margin + 1, 2 * margin + 1), dtype=bool)
    return ~ndi.binary_dilation(mask, structure=square)


@pytest.mark.parametrize("grade", GRADES)
@pytest.mark.parametrize("quantised", [True, False])
def test_output_shape_dtype_range(film, grade, quantised):
    image, mask = _synthetic_film(quantised=quantised)
    out = simulate_rds(image, mask, grade, np.random.default_rng(grade))
    assert isinstance(out, SimulatedFilm)
    assert out.image.shape == image.shape
    assert out.image.dtype == np.float32
    assert out.image.min() >= 0.0 and out.image.max() <= 1.0
    assert out.grade == grade
    assert 0.0 <= out.strength <= 1.0
    assert out.params["grade"] == grade
    assert not np.array_equal(out.image, image)


def test_float64_input_gives_float32(film):
    image, mask = film
    out = simulate_rds(image.astype(np.float64), mask, 2, np.random.default_rng(0))
    assert out.image.dtype == np.float32


@pytest.mark.parametrize("grade", GRADES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pixels_outside_dilated_mask_unchanged(film, grade, seed):
    image, mask = film
    margin = effect_margin_px(mask)
    # The spill-over must stay a feather, not a second lung.
    assert 1 <= margin <= 0.1 * SIZE
    out = simulate_rds(image, mask, grade, np.random.default_rng(seed)).image
    outside = _outside(mask, margin)
    assert outside.sum() > 0.4 * image.size
    np.testing.assert_array_equal(out[outside], image[outside])


def test_edge_is_feathered_not_sharp(film):
    """The change fades across the mask border instead of stopping at it."""
    image, mask = film
    change = np.zeros(image.shape, dtype=np.float64)
    for seed in range(4):
        out = simulate_rds(image, mask, 4, np.random.default_rng(seed), strength=1.0).image
        change += np.abs(out.astype(np.float64) - image)
    inside_depth = ndi.distance_transform_edt(mask)
    outside_depth = ndi.distance_transform_edt(~mask)
    deep = change[inside_depth > 12].mean()
    just_inside = change[(inside_depth >= 1) & (inside_depth <= 2)].mean()
    just_outside = change[(outside_depth >= 1) & (outside_depth <= 2)].mean()
    assert just_outside > 0.0  # the feather crosses the border...
    assert just_outside < just_inside < deep  # ...and grows smoothly towards the centre


def test_mean_lung_intensity_rises_with_grade(film):
    image, mask = film
    seeds = range(6)
    means = [
        np.mean([simulate_rds(image, mask, g, np.random.default_rng(s)).image[mask].mean() for s in seeds])
        for g in GRADES
    ]
    original = image[mask].mean()
    assert original < means[0]
    assert all(a < b for a, b in zip(means, means[1:])), means
    # White-out approaches soft tissue: most of the lung-to-body contrast is gone.
    body = image[_outside(mask, effect_margin_px(mask))].mean()
    assert means[-1] - original > 0.5 * (body - original)


def test_strength_orders_severity_within_a_grade(film):
    image, mask = film
    low = np.mean([simulate_rds(image, mask, 3, np.random.default_rng(s), strength=0.0).image[mask].mean() for s in range(4)])
    high = np.mean([simulate_rds(image, mask, 3, np.random.default_rng(s), strength=1.0).image[mask].mean() for s in range(4)])
    assert low < high


def test_same_seed_same_result(film):
    image, mask = film
    a = simulate_rds(image, mask, 3, np.random.default_rng(42))
    b = simulate_rds(image, mask, 3, np.random.default_rng(42))
    np.testing.assert_array_equal(a.image, b.image)
    assert a.strength == b.strength
    assert a.params == b.params


def test_different_seeds_differ(film):
    image, mask = film
    a = simulate_rds(image, mask, 2, np.random.default_rng(1), strength=0.5)
    b = simulate_rds(image, mask, 2, np.random.default_rng(2), strength=0.5)
    assert not np.array_equal(a.image, b.image)
    assert np.abs(a.image - b.image)[mask].mean() > 1e-3


def test_input_arrays_are_not_modified(film):
    image, mask = film
    image_copy, mask_copy = image.copy(), mask.copy()
    simulate_rds(image, mask, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(image, image_copy)
    np.testing.assert_array_equal(mask, mask_copy)


def test_quantised_input_stays_on_8bit_grid(film):
    image, mask = film
    out = simulate_rds(image, mask, 2, np.random.default_rng(0)).image
    np.testing.assert_allclose(out * 255.0, np.round(out * 255.0), atol=1e-3)


def test_bronchograms_only_from_grade_two(film):
    image, mask = film
    trees = {g: simulate_rds(image, mask, g, np.random.default_rng(0)).params["bronchogram_trees"] for g in GRADES}
    assert trees[1] == 0
    assert all(trees[g] > 0 for g in (2, 3, 4))


def test_single_lung_mask_works(film):
    image, mask = film
    one = mask.copy()
    one[:, SIZE // 2 :] = False
    out = simulate_rds(image, one, 3, np.random.default_rng(0)).image
    np.testing.assert_array_equal(out[_outside(one, effect_margin_px(one))], image[_outside(one, effect_margin_px(one))])
    assert out[one].mean() > image[one].mean()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda im, m: (im, m[:-1]), r"lung_mask shape \(255, 256\) does not match image shape \(256, 256\)"),
        (lambda im, m: (im, np.zeros_like(m)), r"lung_mask is empty"),
        (lambda im, m: (im, _tiny_mask(m.shape)), r"lung_mask covers only 25 pixels"),
        (lambda im, m: (im, m.astype(np.uint8) * 255), r"lung_mask must be a boolean"),
        (lambda im, m: ((im * 255).astype(np.uint8), m), r"image must be float in \[0, 1\], got dtype uint8"),
        (lambda im, m: (im * 2.0, m), r"image values must be finite and within \[0, 1\]"),
        (lambda im, m: (np.where(m, np.nan, im).astype(np.float32), m), r"image values must be finite"),
        (lambda im, m: (np.stack([im, im, im], -1), m), r"image must be a 2-D numpy array"),
        (lambda im, m: (im[:32, :32], m[:32, :32]), r"at least 64x64"),
    ],
)
def test_bad_arrays_raise(film, change, message):
    image, mask = change(*film)
    with pytest.raises(ValueError, match=message):
        simulate_rds(image, mask, 2, np.random.default_rng(0))


@pytest.mark.parametrize("grade", [0, 5, -1, 2.0, True, "2", None])
def test_grade_out_of_range_raises(film, grade):
    image, mask = film
    with pytest.raises(SimulationInputError, match=r"grade must be an integer from 1 to 4"):
        simulate_rds(image, mask, grade, np.random.default_rng(0))


@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan"), "strong"])
def test_bad_strength_raises(film, strength):
    image, mask = film
    with pytest.raises(ValueError, match=r"strength must be within \[0, 1\]"):
        simulate_rds(image, mask, 2, np.random.default_rng(0), strength=strength)


def test_bad_rng_raises(film):
    image, mask = film
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator"):
        simulate_rds(image, mask, 2, 42)  # type: ignore[arg-type]


def test_error_is_typed_value_error():
    assert issubclass(SimulationInputError, ValueError)


def test_sample_grade_covers_all_grades():
    rng = np.random.default_rng(0)
    draws = [sample_grade(rng) for _ in range(400)]
    assert set(draws) == set(GRADES)
    counts = np.bincount(draws, minlength=5)[1:]
    assert counts.min() > 60  # roughly uniform by default
    weighted = [sample_grade(rng, weights=(0, 0, 1, 0)) for _ in range(20)]
    assert set(weighted) == {3}


@pytest.mark.parametrize("weights", [(1, 1, 1), (0, 0, 0, 0), (1, -1, 1, 1)])
def test_sample_grade_rejects_bad_weights(weights):
    with pytest.raises(ValueError, match=r"grade weights must be four non-negative numbers"):
        sample_grade(np.random.default_rng(0), weights=weights)


def test_severity_names_cover_grades():
    assert set(SEVERITY_NAMES) == set(GRADES)
    assert "white-out" in SEVERITY_NAMES[4]
    with pytest.raises(TypeError):
        SEVERITY_NAMES[5] = "grade V"  # type: ignore[index]
