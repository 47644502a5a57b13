"""Decode a PNG or JPEG chest radiograph (8- or 16-bit grey, or grey stored as colour) with Pillow."""

from __future__ import annotations

import io
import math
import zlib

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from rds_core.warnings_catalog import warning
from rds_core.errors import (
    ColourImageError,
    CorruptFileError,
    ImageTooLargeError,
    MultiFrameError,
    UnsupportedFormatError,
)
from rds_core.imaging.common import (
    WORKING_MAX_SIDE,
    check_dimensions,
    downscale_to_working,
    is_blank,
    to_unit_float32,
    who,
    working_shape,
)
from rds_core.imaging.radiograph import Radiograph

__all__ = ["GREY_TOLERANCE", "MAX_COLOURED_FRACTION", "load_raster"]

GREY_TOLERANCE = 16
"""Largest channel spread (of 255) of a grey pixel; JPEG chroma noise on grey stays far below."""

MAX_COLOURED_FRACTION = 0.01
"""A grey film may carry a few coloured marks (an arrow, a label); more than this is a colour image."""

_GREY_CHECK_PIXELS = 1_000_000  # the grey check looks at a regular subsample of about this many pixels

# Pillow 13 has no "MPO" opener name (KeyError); its JPEG opener still reads MPO files.
_PILLOW_FORMATS = {"png": ("PNG",), "jpeg": ("JPEG",)}
_REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA", "I")  # modes `Image.reduce` accepts
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_COLOUR_MODES = ("RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA")
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error)


def load_raster(data: bytes, name: str, file_format: str, *, max_pixels: int, min_side: int) -> Radiograph:
    """Decode a PNG or JPEG into a `Radiograph`, refusing colour, animation and absurd sizes.

    Args:
        data: the whole file.
        name: file name for messages and `Radiograph.source`.
        file_format: ``"png"`` or ``"jpeg"``, as sniffed from the content.
        max_pixels: largest allowed width * height, checked from the header before decoding.
        min_side: smallest allowed side length.

    Raises:
        CorruptFileError, ColourImageError, MultiFrameError, ImageTooLargeError,
        ImageTooSmallError, UnsupportedFormatError.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[file_format])
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"{who(name)} declares far more pixels than any radiograph (a possible decompression bomb); "
            "choose a normal export of the image."
        ) from exc
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        variant = _jpeg_variant(data) if file_format == "jpeg" else None
        if variant is not None:
            raise UnsupportedFormatError(
                f"{who(name)} is a {variant} stream, which is not an ordinary photo-style JPEG and cannot be opened "
                "here; save the X-ray as PNG or DICOM instead."
            ) from exc
        raise CorruptFileError(
            f"{who(name)} is a damaged {file_format.upper()} file whose header cannot be read; export or copy it again."
        ) from exc

    with image:
        width, height = image.size
        check_dimensions(height, width, name, max_pixels=max_pixels, min_side=min_side)
        # JPEG MPO extras are previews or depth maps, so only PNG animation counts as several frames.
        frames = getattr(image, "n_frames", 1)
        if file_format == "png" and frames > 1:
            raise MultiFrameError(
                f"{who(name)} is an animated PNG with {frames} frames; choose a single still image of the X-ray."
            )
        if file_format == "jpeg":
            # JPEG can decode straight at 1/2, 1/4 or 1/8 scale: a huge film never exists at full size.
            image.draft(image.mode, working_shape(height, width)[::-1])
        try:
            image.load()
        except _DECODE_ERRORS as exc:
            raise CorruptFileError(
                f"{who(name)} is an incomplete or damaged {file_format.upper()} file; export or copy it again."
            ) from exc
        warnings: list[str] = []
        upright = _shrink(_apply_exif_orientation(image, warnings))
        pixels, bits = _grey_pixels(upright, name, warnings)
        pixels = downscale_to_working(pixels)  # modes `_shrink` cannot reduce (16-bit, palette)
        if is_blank(pixels):
            warnings.append(warning("blank_raster"))

    return Radiograph(
        pixels=pixels,
        source=name,
        file_format=file_format,
        bits_stored=bits,
        original_size=(height, width),
        warnings=tuple(warnings),
    )


def _apply_exif_orientation(image: Image.Image, warnings: list[str]) -> Image.Image:
    """Turn the image the way a photo viewer would (phone photos of films carry this tag)."""
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    if orientation in (None, 1):
        return image
    warnings.append(warning("exif_turned"))
    return ImageOps.exif_transpose(image)


def _shrink(image: Image.Image) -> Image.Image:
    """Reduce a large image by a whole factor in Pillow, before any numpy copy exists."""
    factor = math.ceil(max(image.size) / WORKING_MAX_SIDE)
    if factor <= 1 or image.mode not in _REDUCIBLE_MODES:
        return image
    return image.reduce(factor)


def _jpeg_variant(data: bytes) -> str | None:
    """Name the JPEG family member from its frame header (SOF) marker when Pillow cannot open it.

    JPEG-LS, lossless and 12-bit JPEG share the JPEG signature but need other decoders.
    """
    position = 2
    while position + 9 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker == 0xF7:
            return "JPEG-LS"
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            precision = data[position + 4]
            if marker in (0xC3, 0xC7, 0xCB, 0xCF):
                return f"lossless JPEG ({precision}-bit)"
            return f"{precision}-bit JPEG" if precision != 8 else None
        position += 2 + length
    return None


def _grey_pixels(image: Image.Image, name: str, warnings: list[str]) -> tuple[np.ndarray, int]:
    """Return [0, 1] float32 grey pixels and the stored bits per channel."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        return _sixteen_bit(downscale_to_working(np.asarray(image)), warnings), 16
    if mode == "1":
        return to_unit_float32(np.asarray(image.convert("L")), 0.0, 255.0), 1
    if mode == "L":
        return to_unit_float32(np.asarray(image), 0.0, 255.0), 8
    if mode == "LA":
        grey_alpha = np.asarray(image)
        _note_transparency(grey_alpha[..., 1], warnings)
        return to_unit_float32(grey_alpha[..., 0], 0.0, 255.0), 8
    if mode in _COLOUR_MODES:
        if mode not in ("RGB", "RGBA"):
            # Palettes (possibly with transparency) and other colour spaces are compared in RGB.
            image = image.convert("RGBA" if mode in ("P", "PA") else "RGB")
        return _grey_from_colour(np.asarray(image), name, warnings), 8
    raise UnsupportedFormatError(
        f"{who(name)} uses the unusual pixel mode {mode}; save it as an 8- or 16-bit grey PNG or a JPEG."
    )


def _sixteen_bit(values: np.ndarray, warnings: list[str]) -> np.ndarray:
    """Scale 16-bit grey by the bits actually used.

    PNG exports of 10-14 bit detector data keep the values (e.g. 0-4095) in a 16-bit container;
    dividing by 65535 would give a black film. PNG's sBIT chunk would say so, but Pillow does
    not read it, so the bit depth is taken from the largest value.
    """
    bits = max(8, int(values.max()).bit_length())
    if bits < 16:
        warnings.append(warning("few_bits", bits=bits))
    return to_unit_float32(values, 0.0, float(2**bits - 1))


def _grey_from_colour(values: np.ndarray, name: str, warnings: list[str]) -> np.ndarray:
    """Accept grey stored as RGB(A) (channels equal within `GREY_TOLERANCE`), refuse real colour."""
    height, width = values.shape[:2]
    step = max(1, math.isqrt(height * width // _GREY_CHECK_PIXELS))
    sample = values[::step, ::step, :3]
    spread = sample.max(axis=2) - sample.min(axis=2)
    coloured = np.count_nonzero(spread > GREY_TOLERANCE) / spread.size
    if coloured > MAX_COLOURED_FRACTION:
        raise ColourImageError(
            f"{who(name)} is a colour image ({coloured:.0%} of its pixels are coloured), not a grey-scale X-ray; "
            "choose the original radiograph."
        )
    warnings.append(warning("rgb_grey"))
    if values.shape[2] == 4:
        _note_transparency(values[..., 3], warnings)
    grey = values[..., :3].sum(axis=2, dtype=np.float32)  # the channel mean also averages JPEG noise
    grey *= np.float32(1.0 / (3 * 255))
    np.minimum(grey, 1.0, out=grey)  # float32 rounding can overshoot 1 by an ulp
    return grey


def _note_transparency(alpha: np.ndarray, warnings: list[str]) -> None:
    if alpha.min() < 255:
        warnings.append(warning("transparency"))
