"""How a reader sees a film: window/level and zoom, rendered server-side with numpy.

The reader page re-renders the film whenever a slider moves, so this is plain array
work: window/level maps a band of grey values to the full display range (as on a
radiology workstation, where the level is the centre of the band and the width its
size), and zoom is a crop around a chosen centre that the browser scales up to the
page width.

Example:
    >>> import numpy as np
    >>> film = np.linspace(0, 1, 5, dtype=np.float32)[None, :]
    >>> render_view(film, ViewSettings(level=0.5, width=0.5)).tolist()
    [[0, 0, 128, 255, 255]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rds_core.geometry import fit_within

__all__ = ["MAX_ZOOM", "MIN_WIDTH", "ViewSettings", "window", "crop", "render_view", "fit_film"]

MAX_ZOOM = 8.0
MIN_WIDTH = 0.02  # narrower windows turn every pixel black or white


@dataclass(frozen=True)
class ViewSettings:
    """Window/level and zoom of one view of a film.

    Attributes:
        level: centre of the grey band shown, 0-1 of the film's range (0.5 = middle).
        width: size of that band, ``MIN_WIDTH``-1 (1 = the whole range, no windowing).
        zoom: magnification, 1 (whole film) to ``MAX_ZOOM``.
        centre_x: horizontal centre of the zoomed crop, 0 (left) to 1 (right).
        centre_y: vertical centre of the zoomed crop, 0 (top) to 1 (bottom).
        invert: show black as white (some readers prefer it for lines and tubes).
    """

    level: float = 0.5
    width: float = 1.0
    zoom: float = 1.0
    centre_x: float = 0.5
    centre_y: float = 0.5
    invert: bool = False

    def __post_init__(self) -> None:
        checks = (
            (0.0 <= self.level <= 1.0, f"The level must lie between 0 and 1 (got {self.level})."),
            (MIN_WIDTH <= self.width <= 1.0,
             f"The window width must lie between {MIN_WIDTH} and 1 (got {self.width})."),
            (1.0 <= self.zoom <= MAX_ZOOM, f"The zoom must lie between 1 and {MAX_ZOOM:g} (got {self.zoom})."),
            (0.0 <= self.centre_x <= 1.0 and 0.0 <= self.centre_y <= 1.0,
             f"The zoom centre must lie inside the film (got {self.centre_x}, {self.centre_y})."),
        )
        for ok, message in checks:
            if not ok:  # also False for NaN
                raise ValueError(message)


def window(pixels: np.ndarray, level: float, width: float) -> np.ndarray:
    """Map the band ``level ± width / 2`` to [0, 1]; values outside it clip to black or white.

    Args:
        pixels: float film in [0, 1].
        level: centre of the band.
        width: size of the band (> 0).
    """
    low = level - width / 2.0
    out = (np.asarray(pixels, dtype=np.float32) - np.float32(low)) / np.float32(width)
    return np.clip(out, 0.0, 1.0, out=out)


def crop(pixels: np.ndarray, zoom: float, centre_x: float, centre_y: float) -> np.ndarray:
    """The part of the film seen at ``zoom``, centred as close to the given point as the
    film's edges allow (the crop never runs off the film).

    Args:
        pixels: 2-D film.
        zoom: magnification >= 1.
        centre_x: horizontal centre, 0-1 of the width.
        centre_y: vertical centre, 0-1 of the height.
    """
    height, width = pixels.shape[:2]
    crop_h, crop_w = max(1, round(height / zoom)), max(1, round(width / zoom))
    top = min(max(0, round(centre_y * height - crop_h / 2)), height - crop_h)
    left = min(max(0, round(centre_x * width - crop_w / 2)), width - crop_w)
    return pixels[top:top + crop_h, left:left + crop_w]


def render_view(pixels: np.ndarray, view: ViewSettings) -> np.ndarray:
    """The film as the reader sees it: cropped, windowed, optionally inverted, 8-bit grey.

    Args:
        pixels: float film in [0, 1] (``Radiograph.pixels``).
        view: the reader's settings.

    Returns:
        uint8 array (crop height, crop width).

    Raises:
        ValueError: the film is not 2-D or holds values outside [0, 1].
    """
    array = np.asarray(pixels)
    if array.ndim != 2:
        raise ValueError(f"A film is a 2-D grey image, got shape {array.shape}.")
    if array.size and not (array.min() >= 0.0 and array.max() <= 1.0):
        raise ValueError("The film must hold values in [0, 1] without NaN.")
    shown = window(crop(array, view.zoom, view.centre_x, view.centre_y), view.level, view.width)
    if view.invert:
        shown = 1.0 - shown
    return np.rint(shown * 255.0).astype(np.uint8)


def fit_film(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink a float film so its long side is at most ``max_side`` (never enlarges).

    Keeps enough pixels for zooming while bounding the work per slider move
    (:func:`rds_core.geometry.fit_within`, area averaging).

    Args:
        pixels: float film in [0, 1].
        max_side: the largest allowed side in pixels.
    """
    return fit_within(np.asarray(pixels, dtype=np.float32), max_side)
