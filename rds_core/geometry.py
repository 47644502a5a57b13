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
    """Where a (height, width) image sits inside its padded square of side ``side``."""

    height: int
    width: int
    side: int
    top: int
    left: int
    size: int  # model input side

    def to_source(self, square_map: np.ndarray, height: int | None = None, width: int | None = None) -> np.ndarray:
        """Map a (size, size) model-space map back onto the image.

        The content region is cut from the square first and resized straight to the
        requested (height, width) - by default the image's own size - so a big film never
        needs a padded full-resolution intermediate.
        """
        scale = self.size / self.side
        top, left = self.top * scale, self.left * scale
        bottom, right = top + self.height * scale, left + self.width * scale
        rows = slice(int(np.floor(top)), max(int(np.floor(top)) + 1, int(np.ceil(bottom))))
        cols = slice(int(np.floor(left)), max(int(np.floor(left)) + 1, int(np.ceil(right))))
        content = square_map.astype(np.float32, copy=False)[rows, cols]
        return resize(np.ascontiguousarray(content), height or self.height, width or self.width)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """Pad ``image`` to a centred square with zeros, then resize to ``size`` x ``size``."""
    height, width = image.shape
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    # Shrink first when the film is big: padding a 2500 px film is wasted memory traffic.
    if side > size:
        scale = size / side
        small_h, small_w = max(1, round(height * scale)), max(1, round(width * scale))
        small = resize(image.astype(np.float32, copy=False), small_h, small_w)
        square = np.zeros((size, size), np.float32)
        s_top, s_left = (size - small_h) // 2, (size - small_w) // 2
        square[s_top : s_top + small_h, s_left : s_left + small_w] = small
    else:
        padded = np.zeros((side, side), np.float32)
        padded[top : top + height, left : left + width] = image
        square = resize(padded, size, size)
    return square, Letterbox(height, width, side, top, left, size)


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
