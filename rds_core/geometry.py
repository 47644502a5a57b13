"""Letterboxing and lung-box cropping, with exact inverses.

Models see square inputs; films are rarely square. We pad to a centred square (aspect
kept, zeros = black) and resize, and keep the numbers needed to map a model-sized map
(mask probability, CAM) back onto the film at its own resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Letterbox", "letterbox", "resize", "resize_mask", "fit_shape", "fit_within", "Box", "lung_box"]


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a 2-D float32 map; area averaging when shrinking, bilinear when growing."""
    if image.shape == (height, width):
        return image
    shrinking = height * width < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a bool mask to ``shape`` (area average or bilinear, then > 0.5)."""
    return resize(mask.astype(np.float32), *shape) > 0.5


def fit_shape(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(height, width) scaled down so the long side is at most ``max_side`` (never up).

    The one rule for display copies, thumbnails and viewer films.
    """
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink a grey or RGB image (uint8 or float) to :func:`fit_shape`; returned as is when small.

    Area averaging, so a shrunk film keeps its brightness and a [0, 1] float stays in
    [0, 1] (up to rounding, which is clipped for floats).
    """
    height, width = image.shape[:2]
    shape = fit_shape(height, width, max_side)
    if shape == (height, width):
        return image
    out = cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return np.clip(out, 0.0, 1.0) if np.issubdtype(out.dtype, np.floating) else out


@dataclass(frozen=True)
class Letterbox:
    """Where a (height, width) image sits inside the (size, size) model square.

    The content occupies rows ``[inner_top, inner_top + inner_height)`` and columns
    ``[inner_left, inner_left + inner_width)`` of the square; the padding around it is the
    same on opposite sides (see :func:`letterbox`).
    """

    height: int
    width: int
    side: int  # the long side of the image
    top: int  # padding of the image to a (side, side) square, in image pixels
    left: int
    size: int  # model input side
    inner_top: int
    inner_left: int
    inner_height: int
    inner_width: int

    def to_source(self, square_map: np.ndarray, height: int | None = None, width: int | None = None) -> np.ndarray:
        """Map a (size, size) model-space map back onto the image.

        The content region is cut from the square first and resized straight to the
        requested (height, width) - by default the image's own size - so a big film never
        needs a padded full-resolution intermediate.
        """
        rows = slice(self.inner_top, self.inner_top + self.inner_height)
        cols = slice(self.inner_left, self.inner_left + self.inner_width)
        content = square_map.astype(np.float32, copy=False)[rows, cols]
        return resize(np.ascontiguousarray(content), height or self.height, width or self.width)


def _same_parity(length: float, size: int) -> int:
    """The whole length nearest to ``length`` (1 to ``size``) that leaves an even margin to ``size``."""
    low = int(np.floor(length))
    candidates = [n for n in (low - 1, low, low + 1, low + 2) if 1 <= n <= size and (size - n) % 2 == 0]
    return min(candidates, key=lambda n: (abs(n - length), n)) if candidates else min(size, max(1, round(length)))


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Resize ``image`` to fit a ``size`` x ``size`` square and pad it with zeros, centred.

    The content's sides are rounded to the parity of ``size``, so the padding is equal on
    opposite sides: the square of a film turned by 90/180/270 degrees is exactly the turned
    square of the film, which keeps rotation-averaged predictions equivariant (a one-pixel
    offset on odd padding once moved the scores of turned films by up to 0.05).
    """
    height, width = image.shape
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    scale = size / side
    # Resize the content alone, then pad: a 2500 px film is never padded at full resolution.
    small_h, small_w = _same_parity(height * scale, size), _same_parity(width * scale, size)
    small = resize(image.astype(np.float32, copy=False), small_h, small_w)
    square = np.zeros((size, size), np.float32)
    s_top, s_left = (size - small_h) // 2, (size - small_w) // 2
    square[s_top : s_top + small_h, s_left : s_left + small_w] = small
    return square, Letterbox(height, width, side, top, left, size, s_top, s_left, small_h, small_w)


@dataclass(frozen=True)
class Box:
    """A crop rectangle in film pixels: rows [top, bottom), columns [left, right)."""

    top: int
    bottom: int
    left: int
    right: int

    def crop(self, image: np.ndarray) -> np.ndarray:
        return image[self.top : self.bottom, self.left : self.right]

    def paste(self, crop_map: np.ndarray, height: int, width: int) -> np.ndarray:
        """Place a crop-sized map into a zero (height, width) canvas."""
        canvas = np.zeros((height, width), np.float32)
        canvas[self.top : self.bottom, self.left : self.right] = crop_map
        return canvas


def lung_box(mask: np.ndarray, margin: float) -> Box:
    """Bounding box of the mask grown by ``margin`` of its size; the whole film if empty."""
    height, width = mask.shape
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return Box(0, height, 0, width)
    pad_r = int(round((rows[-1] - rows[0] + 1) * margin))
    pad_c = int(round((cols[-1] - cols[0] + 1) * margin))
    return Box(
        max(0, rows[0] - pad_r), min(height, rows[-1] + 1 + pad_r), max(0, cols[0] - pad_c), min(width, cols[-1] + 1 + pad_c)
    )
