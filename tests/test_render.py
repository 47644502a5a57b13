"""Rendering conventions: heat scale, lung outline, blending by opacity * value, PNG round trip."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from rds_core.geometry import fit_within
from rds_core.render import (
    HEAT_STOPS,
    blend_alpha,
    LUNG_CONTOUR_RGB,
    colorbar,
    contour,
    grey_rgb,
    heat_colors,
    overlay,
    to_jpeg,
    to_png,
)


def _ellipse(shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    return ((yy - h / 2) / (0.35 * h)) ** 2 + ((xx - w / 2) / (0.35 * w)) ** 2 < 1


def test_heat_scale_hits_its_stops_and_interpolates_between_them() -> None:
    positions = np.array([p for p, _ in HEAT_STOPS])
    colours = np.array([c for _, c in HEAT_STOPS])
    # 256 levels: a stop between two levels is off by at most half a level's colour step.
    assert np.abs(heat_colors(positions).astype(int) - colours).max() <= 3
    assert heat_colors(np.array([0.0, 1.0])).tolist() == [list(colours[0]), list(colours[-1])]
    (p0, c0), (p1, c1) = HEAT_STOPS[0], HEAT_STOPS[1]
    middle = heat_colors(np.array([(p0 + p1) / 2]))[0]
    assert np.allclose(middle, (np.array(c0) + np.array(c1)) / 2, atol=3)
    # Hot end is redder than the cold end, cold end bluer: the scale reads the right way round.
    cold, hot = heat_colors(np.array([0.0, 1.0]))
    assert hot[0] > cold[0] and cold[2] > hot[2]


@pytest.mark.parametrize("bad", [np.array([-0.1, 0.5]), np.array([0.2, 1.5]), np.array([np.nan])])
def test_maps_outside_unit_range_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        heat_colors(bad)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        overlay(np.zeros(bad.shape, np.float32)[None], heatmap=bad[None])


@pytest.mark.parametrize("shape", [(40, 40), (37, 91), (120, 64)])
@pytest.mark.parametrize("width", [1, 3])
def test_contour_is_a_thin_ring_inside_the_mask(shape: tuple[int, int], width: int) -> None:
    mask = _ellipse(shape)
    ring = contour(mask, width)
    assert not (ring & ~mask).any(), "the outline never leaves the lungs"
    assert ring.any() and ring.sum() < mask.sum()
    # Every mask pixel closer than `width` steps to the outside is on the ring, no other is.
    from scipy import ndimage

    depth = ndimage.distance_transform_cdt(np.pad(mask, 1), metric="taxicab")[1:-1, 1:-1]
    assert np.array_equal(ring, mask & (depth <= width))


def test_contour_closes_along_the_image_border() -> None:
    mask = np.ones((10, 12), bool)
    ring = contour(mask, 1)
    assert ring[0].all() and ring[-1].all() and ring[:, 0].all() and ring[:, -1].all()
    assert not ring[1:-1, 1:-1].any()


def test_contour_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1 pixel"):
        contour(np.ones((4, 4), bool), 0)


def test_overlay_tints_only_where_the_map_is_hot() -> None:
    rng = np.random.default_rng(0)
    film = rng.random((50, 60), dtype=np.float32)
    heat = np.zeros((50, 60), np.float32)
    heat[10:20, 10:20] = 1.0
    out = overlay(film, heatmap=heat, opacity=0.6)
    plain = grey_rgb(film)
    assert np.array_equal(out[heat == 0], plain[heat == 0]), "cold pixels keep the film exactly"
    expected = np.rint(plain[15, 15] * 0.4 + np.array(HEAT_STOPS[-1][1]) * 0.6)  # value 1 = the hot end
    assert np.abs(out[15, 15].astype(int) - expected).max() <= 1


@pytest.mark.parametrize("opacity", [0.0, 0.25, 1.0])
def test_opacity_scales_the_tint(opacity: float) -> None:
    film = np.full((8, 8), 0.5, np.float32)
    heat = np.full((8, 8), 0.5, np.float32)
    out = overlay(film, heatmap=heat, opacity=opacity).astype(float)
    grey, colour = 128.0, heat_colors(np.array([0.5]))[0].astype(float)
    alpha = opacity * 0.5
    assert np.allclose(out[0, 0], grey * (1 - alpha) + colour * alpha, atol=1)


def test_overlay_draws_the_lung_outline_in_its_own_colour() -> None:
    film = np.zeros((60, 80), np.float32)
    mask = _ellipse((60, 80))
    out = overlay(film, lung_mask=mask, contour_width=2)
    ring = contour(mask, 2)
    assert (out[ring] == LUNG_CONTOUR_RGB).all()
    assert (out[~ring] == 0).all()


def test_overlay_rejects_mismatched_shapes_and_bad_opacity() -> None:
    film = np.zeros((20, 30), np.float32)
    with pytest.raises(ValueError, match="heatmap is"):
        overlay(film, heatmap=np.zeros((30, 20), np.float32))
    with pytest.raises(ValueError, match="lung mask is"):
        overlay(film, lung_mask=np.zeros((20, 31), bool))
    with pytest.raises(ValueError, match="opacity must lie between 0 and 1"):
        overlay(film, heatmap=np.zeros((20, 30), np.float32), opacity=1.5)


@pytest.mark.parametrize("shape", [(33, 47), (47, 33, 3)])
def test_png_round_trip_is_lossless(shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(to_png(image))))
    assert np.array_equal(decoded, image)


def test_png_refuses_float_images() -> None:
    with pytest.raises(ValueError, match="expects uint8"):
        to_png(np.zeros((4, 4), np.float32))


def test_fit_within_shrinks_the_long_side_and_never_enlarges() -> None:
    image = np.zeros((300, 150, 3), np.uint8)
    assert fit_within(image, 100).shape == (100, 50, 3)
    assert fit_within(image, 400) is image


def test_colorbar_runs_from_cold_to_hot() -> None:
    bar = colorbar(64, 5)
    assert bar.shape == (5, 64, 3)
    assert bar[0, 0].tolist() == list(HEAT_STOPS[0][1]) and bar[0, -1].tolist() == list(HEAT_STOPS[-1][1])


def test_a_step_in_the_map_is_drawn_as_a_ramp_not_a_hard_edge() -> None:
    heat = np.zeros((240, 240), np.float32)
    heat[60:180, 60:180] = 0.8  # a fold map pasted into its lung box: a hard step at the box edge
    alpha = blend_alpha(heat, 1.0)
    # The raw map jumps by 0.9 in one pixel; drawn, no neighbouring pixels differ by more than 0.2.
    assert np.abs(np.diff(alpha, axis=1)).max() < 0.2 and np.abs(np.diff(alpha, axis=0)).max() < 0.2
    assert np.all(alpha[heat == 0] == 0.0), "cold pixels keep the film exactly"
    assert alpha[120, 120] == pytest.approx(0.8 * 0.8 * (3 - 2 * 0.8), abs=1e-4), "smooth regions keep their tint"


def test_blend_alpha_follows_the_map_monotonically() -> None:
    ramp = np.tile(np.linspace(0.0, 1.0, 40, dtype=np.float32), (4, 1))  # small: no feathering
    alpha = blend_alpha(ramp, 0.5)[0]
    assert alpha[0] == 0.0 and alpha[-1] == pytest.approx(0.5) and np.all(np.diff(alpha) >= 0)


def test_jpeg_is_compact_and_close_to_the_image() -> None:
    image = (np.random.default_rng(0).random((64, 80)) * 40 + np.linspace(0, 200, 80)).astype(np.uint8)
    rgb = np.repeat(image[..., None], 3, axis=-1)
    data = to_jpeg(rgb)
    back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert data[:2] == b"\xff\xd8" and np.abs(back - rgb).mean() < 6
    with pytest.raises(ValueError, match="JPEG quality must lie between 1 and 95"):
        to_jpeg(rgb, quality=100)
    with pytest.raises(ValueError, match="to_jpeg expects uint8"):
        to_jpeg(rgb.astype(np.float32))
