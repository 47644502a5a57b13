"""Pictures of a result: the film with its lung contour and a heatmap blended over it.

Pure numpy + Pillow (no Streamlit, no matplotlib), so the app pages and the CLI draw the
same image. Every function takes display-resolution arrays as :class:`~rds_core.pipeline.Analysis`
holds them: a grey film in [0, 1], a boolean lung mask and maps in [0, 1] of the same shape.

How the heatmap is blended: each pixel is mixed with its colour by ``opacity * alpha(value)``,
so where the map is near zero the film stays untouched and only the regions that drove the
score are tinted. A uniform blend would wash the whole film blue and hide the anatomy a
visitor is trying to look at. ``alpha`` is a smoothstep of the value (0 -> 0, 0.5 -> 0.5,
1 -> 1) that fades weak values out, and it is feathered where the map jumps (the fold maps
end at the lung crop's box): the tint there is lowered towards zero over a few pixels, never
raised, so a cold pixel stays exactly the film and no hard rectangular edge is drawn.
The map itself is never clipped or masked to the lungs.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from rds_core.imaging.display import to_uint8

__all__ = [
    "HEAT_STOPS",
    "LUNG_CONTOUR_RGB",
    "heat_colors",
    "grey_rgb",
    "contour",
    "overlay",
    "colorbar",
    "to_png",
    "to_jpeg",
    "blend_alpha",
]

# Colour stops (position, RGB) of the heat scale: calm blue -> teal -> yellow -> orange -> red.
HEAT_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.00, (40, 70, 170)),
    (0.30, (20, 160, 190)),
    (0.55, (200, 220, 60)),
    (0.78, (245, 150, 30)),
    (1.00, (215, 25, 30)),
)
LUNG_CONTOUR_RGB: tuple[int, int, int] = (0, 230, 255)  # cyan: not on the heat scale, so never confused with it


def _check_unit(name: str, values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    # NaN fails both comparisons, so this also rejects NaN.
    if array.size and not (array.min() >= 0.0 and array.max() <= 1.0):
        raise ValueError(f"{name} must hold values in [0, 1] without NaN; scale the map before rendering it.")
    return array


def _heat_table() -> np.ndarray:
    """The heat scale sampled at 256 levels (a lookup table is ~10x faster than interpolating)."""
    levels = np.linspace(0.0, 1.0, 256)
    positions = np.array([p for p, _ in HEAT_STOPS])
    colours = np.array([c for _, c in HEAT_STOPS], dtype=np.float64)
    return np.rint(np.stack([np.interp(levels, positions, colours[:, i]) for i in range(3)], axis=-1)).astype(np.uint8)


_HEAT_TABLE = _heat_table()


def heat_colors(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB colours of the heat scale (:data:`HEAT_STOPS`), in 256 levels.

    Args:
        values: float array of any shape, values in [0, 1].

    Returns:
        uint8 array of shape ``values.shape + (3,)``.

    Raises:
        ValueError: values outside [0, 1] or NaN.

    Example:
        >>> heat_colors(np.array([0.0, 1.0])).tolist()
        [[40, 70, 170], [215, 25, 30]]
    """
    array = _check_unit("The heatmap", values)
    return _HEAT_TABLE[np.rint(array * 255.0).astype(np.uint8)]


def grey_rgb(pixels: np.ndarray) -> np.ndarray:
    """A [0, 1] grey film (1 = bright) as an RGB uint8 image.

    Args:
        pixels: float array (height, width) in [0, 1].
    """
    grey = to_uint8(pixels)
    return np.repeat(grey[..., None], 3, axis=-1)


def _shifted_all(mask: np.ndarray) -> np.ndarray:
    """True where a pixel and its four neighbours are all in ``mask`` (one step of erosion).

    Pixels outside the image count as outside the mask, so a lung touching the border
    still gets a contour there.
    """
    padded = np.pad(mask, 1, constant_values=False)
    return (
        padded[1:-1, 1:-1]
        & padded[:-2, 1:-1]
        & padded[2:, 1:-1]
        & padded[1:-1, :-2]
        & padded[1:-1, 2:]
    )


def contour(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """The inner outline of a boolean mask, ``width`` pixels thick.

    Args:
        mask: boolean array (height, width), True inside the lungs.
        width: outline thickness in pixels (>= 1).

    Returns:
        Boolean array of the same shape, True on the outline (always inside ``mask``).

    Example:
        >>> square = np.zeros((5, 5), bool); square[1:4, 1:4] = True
        >>> int(contour(square, 1).sum())  # the 3x3 ring minus its centre
        8
    """
    if width < 1:
        raise ValueError(f"The contour width must be at least 1 pixel, got {width}.")
    inner = np.asarray(mask, dtype=bool)
    for _ in range(width):
        inner = _shifted_all(inner)
    return np.asarray(mask, dtype=bool) & ~inner


def blend_alpha(heat: np.ndarray, opacity: float) -> np.ndarray:
    """Per-pixel tint strength for a [0, 1] map: ``opacity`` times a smoothstep, feathered at jumps.

    Args:
        heat: float32 map (height, width) in [0, 1].
        opacity: the strongest tint, reached where the map is 1.

    Returns:
        float32 (height, width) in [0, opacity]; 0 exactly where the map is 0.
    """
    alpha = opacity * heat * heat * (3.0 - 2.0 * heat)
    sigma = max(heat.shape) / 50.0  # a ramp of about 4 % of the long side
    if sigma < 1.0:  # thumbnails: nothing to feather
        return alpha.astype(np.float32)
    # 2 * blur - alpha is alpha where the map is smooth and falls to ~0 on the hot side of a
    # step (where the blur is half the plateau), so a jump becomes a ramp ~2 sigma wide; the
    # minimum never raises the tint, so cold pixels keep the film exactly.
    blurred = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    return np.clip(np.minimum(alpha, 2.0 * blurred - alpha), 0.0, None).astype(np.float32)


def overlay(
    film: np.ndarray,
    *,
    heatmap: np.ndarray | None = None,
    opacity: float = 0.5,
    lung_mask: np.ndarray | None = None,
    contour_rgb: tuple[int, int, int] = LUNG_CONTOUR_RGB,
    contour_width: int | None = None,
) -> np.ndarray:
    """Draw the film with an optional heatmap blend and an optional lung outline.

    Args:
        film: grey film (height, width) in [0, 1], e.g. ``Analysis.display``.
        heatmap: map (height, width) in [0, 1], e.g. ``Analysis.cams.fused``; None for none.
        opacity: strongest tint, reached where the map is 1 (0 = film only, 1 = pure colour);
            see :func:`blend_alpha` for how the tint follows the map.
        lung_mask: boolean lung mask (height, width); None for no outline.
        contour_rgb: colour of the outline.
        contour_width: outline thickness in pixels; by default about 1/300 of the long side.

    Returns:
        uint8 RGB image (height, width, 3).

    Raises:
        ValueError: shapes that differ, values outside [0, 1], or opacity outside [0, 1].

    Example:
        >>> film = np.full((4, 4), 0.5, np.float32)
        >>> overlay(film, heatmap=np.zeros((4, 4)), opacity=0.8)[0, 0].tolist()  # zero map: film unchanged
        [128, 128, 128]
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"The heatmap opacity must lie between 0 and 1, got {opacity}.")
    image = grey_rgb(film).astype(np.float32)
    shape = image.shape[:2]
    if heatmap is not None:
        heat = _check_unit("The heatmap", heatmap)
        if heat.shape != shape:
            raise ValueError(f"The heatmap is {heat.shape} but the film is {shape}; render them at one resolution.")
        alpha = blend_alpha(heat, opacity)[..., None]
        image = image * (1.0 - alpha) + heat_colors(heat).astype(np.float32) * alpha
    result = np.rint(image).astype(np.uint8)
    if lung_mask is not None:
        mask = np.asarray(lung_mask, dtype=bool)
        if mask.shape != shape:
            raise ValueError(f"The lung mask is {mask.shape} but the film is {shape}; render them at one resolution.")
        width = contour_width if contour_width is not None else max(1, round(max(shape) / 300))
        result[contour(mask, width)] = contour_rgb
    return result


def colorbar(width: int = 256, height: int = 14) -> np.ndarray:
    """A horizontal legend of the heat scale, low on the left, as uint8 RGB.

    Args:
        width: pixels from 0 to 1.
        height: bar thickness in pixels.
    """
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)
    return np.repeat(heat_colors(ramp)[None], height, axis=0)


def to_png(image: np.ndarray, *, compress_level: int = 1) -> bytes:
    """Encode a uint8 grey or RGB image as PNG bytes.

    Args:
        image: uint8 array (height, width) or (height, width, 3).
        compress_level: zlib level 0-9; 1 because an app re-encodes on every slider move
            and the saving of higher levels is small for radiographs.

    Raises:
        ValueError: not uint8, or not a 2-D grey / 3-channel RGB array.
    """
    array = np.asarray(image)
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"to_png expects uint8 grey (H, W) or RGB (H, W, 3), got {array.dtype} {array.shape}.")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def to_jpeg(image: np.ndarray, *, quality: int = 88) -> bytes:
    """Encode a uint8 grey or RGB image as JPEG bytes for display (about a tenth of the PNG size).

    For pictures a browser only shows: a 768 px overlay encodes in a few ms and travels as
    ~60-100 KB instead of ~0.8 MB of PNG. Files the CLI writes stay PNG (lossless).

    Args:
        image: uint8 array (height, width) or (height, width, 3).
        quality: JPEG quality 1-95.

    Raises:
        ValueError: not uint8, not a 2-D grey / 3-channel RGB array, or quality out of range.
    """
    array = np.asarray(image)
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"to_jpeg expects uint8 grey (H, W) or RGB (H, W, 3), got {array.dtype} {array.shape}.")
    if not 1 <= quality <= 95:
        raise ValueError(f"The JPEG quality must lie between 1 and 95, got {quality}.")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
