"""Checks and scaling shared by the DICOM and raster decoders."""

from __future__ import annotations

import numpy as np

from rds_core.errors import ImageTooLargeError, ImageTooSmallError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MIN_SIDE",
    "WORKING_MAX_SIDE",
    "UPLOAD_NAME",
    "who",
    "check_dimensions",
    "working_shape",
    "downscale_to_working",
    "is_blank",
    "to_unit_float32",
]

DEFAULT_MAX_PIXELS = 50_000_000
"""Pixel budget: a 7000 x 7000 film still fits; a decompression bomb does not."""

DEFAULT_MIN_SIDE = 64

WORKING_MAX_SIDE = 2560
"""Longest side of the decoded working copy. Every shipped and real neonatal film (<= 2500 px) keeps its
full size; larger films are area-averaged down right after decoding, so a 7000 x 7000 film costs
about 26 MB as float32 instead of 196 MB, and later stages never see more (issue 14: <= 400 MB per film)."""

UPLOAD_NAME = "<upload>"
"""`Radiograph.source` for bytes given without a name."""


def who(name: str) -> str:
    """The subject of an error sentence: the file name, or "The uploaded file".

    Args:
        name: file name without directories, or `UPLOAD_NAME`.
    """
    return "The uploaded file" if name == UPLOAD_NAME else name


def check_dimensions(height: int, width: int, name: str, *, max_pixels: int, min_side: int) -> None:
    """Refuse an image by its header size, before any pixel is decoded.

    Args:
        height: rows declared by the file header.
        width: columns declared by the file header.
        name: file name used in the error sentence.
        max_pixels: largest allowed ``height * width``.
        min_side: smallest allowed side length.

    Raises:
        ImageTooLargeError: more than `max_pixels` pixels.
        ImageTooSmallError: a side shorter than `min_side` (or a zero size).
    """
    if height * width > max_pixels:
        raise ImageTooLargeError(
            f"{who(name)} is {width}x{height} pixels ({_megapixels(height * width)} megapixels), more than the "
            f"limit of {_megapixels(max_pixels)} megapixels; downscale it or choose a smaller export."
        )
    if min(height, width) < min_side:
        raise ImageTooSmallError(
            f"{who(name)} is only {width}x{height} pixels, below the minimum of {min_side} pixels per side; "
            "choose the full-resolution image."
        )


def working_shape(height: int, width: int, max_side: int = WORKING_MAX_SIDE) -> tuple[int, int]:
    """The (height, width) of the working copy: the film scaled so its long side is at most `max_side`.

    Args:
        height: rows as stored.
        width: columns as stored.
        max_side: longest side allowed.
    """
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def downscale_to_working(values: np.ndarray, max_side: int = WORKING_MAX_SIDE) -> np.ndarray:
    """Area-average a 2-D array down to :func:`working_shape`, keeping its dtype; small arrays pass unchanged.

    Stored integers stay integers (rounded means), so a DICOM LUT can still index them afterwards.

    Args:
        values: 2-D array of stored values (uint8/uint16/int16/float32...).
        max_side: longest side allowed.
    """
    import cv2  # imported here: only large films need it

    height, width = values.shape[:2]
    shape = working_shape(height, width, max_side)
    if shape == (height, width):
        return values
    source = values
    if values.dtype not in (np.uint8, np.uint16, np.int16, np.float32):
        source = values.astype(np.float32)  # int32/float64 etc.: cv2's area filter needs a supported type
    small = cv2.resize(source, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return small if small.dtype == values.dtype else np.rint(small).astype(values.dtype)


def is_blank(pixels: np.ndarray) -> bool:
    """True when `pixels` ([0, 1]) would show a single grey level on an 8-bit screen.

    Args:
        pixels: normalised film.
    """
    return pixels.size == 0 or float(pixels.max()) - float(pixels.min()) < 1.0 / 255.0


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.2g}" if pixels < 1_000_000 else f"{pixels / 1e6:,.0f}"


def to_unit_float32(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map ``[low, high]`` linearly onto ``[0, 1]`` as a new float32 array, clipping outside values.

    One float32 copy is made; the rest happens in place, so a large film is not copied twice.
    A flat range (``high <= low``) gives zeros.

    Args:
        values: any real array.
        low: value that becomes 0.
        high: value that becomes 1.
    """
    out = values.astype(np.float32)
    if high <= low:
        out.fill(0.0)
        return out
    out -= np.float32(low)
    out *= np.float32(1.0 / (high - low))
    np.clip(out, 0.0, 1.0, out=out)
    return out
