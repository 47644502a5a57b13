"""Turn normalised film pixels into 8-bit grey for display and PNG export."""

from __future__ import annotations

import numpy as np

__all__ = ["to_uint8"]


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Convert ``[0, 1]`` pixels (1 = bright) to uint8 grey, rounding to the nearest level.

    Args:
        pixels: float array in [0, 1], e.g. ``Radiograph.pixels``.

    Returns:
        uint8 array of the same shape (0 = black, 255 = white).

    Raises:
        ValueError: values outside [0, 1] or NaN, which would mean the caller skipped
            normalisation; clipping them silently would hide that bug.

    Example:
        >>> to_uint8(np.array([[0.0, 0.5, 1.0]], dtype=np.float32)).tolist()
        [[0, 128, 255]]
    """
    array = np.asarray(pixels)
    # NaN makes min() NaN and every comparison False, so this also catches NaN.
    if array.size and not (array.min() >= 0.0 and array.max() <= 1.0):
        raise ValueError("to_uint8 expects pixels in [0, 1] without NaN; normalise the image first.")
    out = array * np.float32(255.0)
    np.rint(out, out=out)
    return out.astype(np.uint8)
