"""Window/level and zoom of the reader's film (``study.window_level``): conventions and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from study.window_level import MAX_ZOOM, ViewSettings, crop, fit_film, render_view, window

RAMP = np.linspace(0.0, 1.0, 101, dtype=np.float32)[None, :]


@pytest.mark.parametrize(("level", "width", "black_below", "white_above"), [
    (0.5, 1.0, 0.0, 1.0),      # the whole range: identity
    (0.5, 0.2, 0.4, 0.6),      # a narrow band around the middle
    (0.3, 0.4, 0.1, 0.5),      # a dark band: bright tissue clips to white
])
def test_window_maps_the_band_to_the_full_range(level: float, width: float, black_below: float,
                                                 white_above: float) -> None:
    shown = render_view(RAMP, ViewSettings(level=level, width=width))[0]
    values = RAMP[0]
    assert (shown[values <= black_below + 1e-6] == 0).all()
    assert (shown[values >= white_above - 1e-6] == 255).all()
    inside = (values > black_below) & (values < white_above)
    assert np.all(np.diff(shown[inside].astype(int)) >= 0), "monotone inside the band"
    assert window(np.array([level]), level, width)[0] == pytest.approx(0.5)


def test_invert_swaps_black_and_white() -> None:
    plain = render_view(RAMP, ViewSettings()).astype(int)
    inverted = render_view(RAMP, ViewSettings(invert=True)).astype(int)
    assert np.abs(inverted - (255 - plain)).max() <= 1, "equal up to rounding"
    assert (inverted[0, 0], inverted[0, -1]) == (255, 0)


@pytest.mark.parametrize(("zoom", "centre", "expected_top_left"), [
    (1.0, (0.5, 0.5), (0, 0)),
    (2.0, (0.5, 0.5), (25, 50)),
    (2.0, (0.0, 0.0), (0, 0)),      # clamped at the top-left corner
    (4.0, (1.0, 1.0), (75, 150)),   # clamped at the bottom-right corner
])
def test_zoom_crops_inside_the_film(zoom: float, centre: tuple[float, float],
                                    expected_top_left: tuple[int, int]) -> None:
    yy, xx = np.mgrid[:100, :200]
    film = (yy * 1000 + xx).astype(np.float64)  # each pixel knows where it came from
    part = crop(film, zoom, *centre)
    assert part.shape == (round(100 / zoom), round(200 / zoom))
    assert divmod(int(part[0, 0]), 1000) == expected_top_left


@pytest.mark.parametrize(("settings", "message"), [
    ({"level": 1.5}, "level must lie between 0 and 1"),
    ({"width": 0.0}, "window width must lie between"),
    ({"zoom": MAX_ZOOM * 2}, "zoom must lie between 1 and"),
    ({"centre_x": -0.1}, "zoom centre must lie inside the film"),
    ({"level": float("nan")}, "level must lie between 0 and 1"),
])
def test_impossible_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ViewSettings(**settings)


def test_films_outside_the_unit_range_are_refused() -> None:
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        render_view(RAMP * 2, ViewSettings())
    with pytest.raises(ValueError, match="2-D grey image"):
        render_view(np.zeros((4, 4, 3), np.float32), ViewSettings())


def test_fit_film_shrinks_only_large_films() -> None:
    film = np.random.default_rng(0).random((300, 600)).astype(np.float32)
    assert fit_film(film, 1000).shape == (300, 600)
    small = fit_film(film, 200)
    assert small.shape == (100, 200) and small.min() >= 0.0 and small.max() <= 1.0
    assert small.mean() == pytest.approx(film.mean(), abs=0.01), "box filtering keeps the brightness"
