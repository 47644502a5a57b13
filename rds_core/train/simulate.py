"""Render a simulated neonatal RDS pattern inside the lungs of a real chest radiograph.

No open neonatal RDS radiographs exist, so the demo pack is trained on public paediatric
films into whose lung masks this module paints the radiological pattern of Respiratory
Distress Syndrome (hyaline membrane disease), graded I-IV after the four-grade scheme of
Giedion A, Haefliger H, Dangel P, "Acute pulmonary X-ray changes in hyaline membrane
disease treated with artificial ventilation and positive end-expiratory pressure (PEP)",
Pediatr Radiol 1(3):145-152, 1973 (the scheme also taught as the Couchman grading):

* grade I   - fine reticulogranular ("ground-glass") granularity, lungs still aerated;
* grade II  - as I, plus air bronchograms reaching beyond the heart border;
* grade III - as II, with a more confluent opacity that blurs the heart and diaphragm
  borders;
* grade IV  - "white-out": near-total opacification, borders lost.

All grades are bilateral, diffuse and roughly symmetric, with reduced lung volume.

**This is a visual proxy for demonstration training, not a physical model.** It does not
model X-ray attenuation, surfactant physiology, film processing or the neonatal chest; it
only makes lungs look the way a radiologist describes RDS. A model trained on it has
learnt the simulator, not the disease: it is not validated on real RDS and is not for
clinical use.

How a film is altered (all of it inside a feathered, slightly eroded lung mask, so no
pixel further than :func:`effect_margin_px` from the mask changes and the mask boundary
never appears as a sharp edge):

1. *hypoaeration* - a small smooth vertical squeeze of the lung content towards the apex,
   so the diaphragm seems higher;
2. *ground-glass haze* - the lung is pulled towards the soft-tissue density of its own
   surroundings (chest wall, mediastinum, diaphragm, estimated from the film itself) by
   a severity-dependent fraction, modulated by a smooth random field, a left/right
   asymmetry and a base-to-apex gradient; fine structure (vessels, rib edges) is kept;
3. *reticulogranular texture* - band-passed random fields at two random scales with a
   random anisotropy, skewed towards bright granules, scaled to the film's own
   lung-to-tissue contrast;
4. *air bronchograms* (grade >= II) - branching random-walk trees from each hilum,
   blurred into thin tubes, where the haze is withheld so the aerated bronchi stay dark;
5. *border blurring* (grade >= III) - fine detail inside the lungs is partly replaced by a
   blurred copy, which with the strong haze silhouettes the heart and diaphragm.

Severity is continuous inside a grade (``strength`` in [0, 1]) and every parameter is drawn
at random within limits, so no single artefact gives the label away. Pixels outside the
margin are returned bit-for-bit; when the input lies on an 8-bit grid (a PNG divided by
255) the altered pixels are rounded back onto that grid too.

Example:
    >>> import numpy as np
    >>> yy, xx = np.mgrid[:256, :256]
    >>> mask = ((yy - 128) / 80) ** 2 + ((abs(xx - 128) - 55) / 35) ** 2 < 1
    >>> image = np.where(mask, 0.3, 0.6).astype(np.float32)
    >>> film = simulate_rds(image, mask, grade=3, rng=np.random.default_rng(0))
    >>> film.image.shape, film.image.dtype, film.grade
    ((256, 256), dtype('float32'), 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from rds_core.errors import RdsError

__all__ = [
    "GRADES",
    "SEVERITY_NAMES",
    "SimulatedFilm",
    "SimulationInputError",
    "effect_margin_px",
    "sample_grade",
    "simulate_rds",
]

GRADES: tuple[int, ...] = (1, 2, 3, 4)

SEVERITY_NAMES: Mapping[int, str] = MappingProxyType(
    {
        1: "grade I: fine reticulogranular (ground-glass) pattern",
        2: "grade II: ground glass with air bronchograms",
        3: "grade III: confluent opacity, blurred heart and diaphragm borders",
        4: "grade IV: white-out",
    }
)

# Lung mask area (pixels) of a typical paediatric film at 512 x 512; all lengths below are
# given for that size and scaled with the square root of the actual mask area, so a film
# at another resolution gets the same pattern relative to its lungs.
_REFERENCE_MASK_AREA = 60_000.0
_MIN_MASK_FRACTION = 0.005
_MIN_SIDE = 64
# Gaussian support of the feather (in sigmas): bounds how far outside the mask we may write.
_TRUNCATE = 3.0
_MAX_FEATHER_SIGMA = 6.0  # at the reference scale
_MIN_EROSION = 1.0  # at the reference scale


class SimulationInputError(RdsError, ValueError):
    """The image, mask, grade or strength given to :func:`simulate_rds` is unusable."""


@dataclass(frozen=True)
class SimulatedFilm:
    """A film with a simulated RDS pattern.

    Attributes:
        image: float32 (height, width) in [0, 1], same size as the input film.
        grade: severity grade 1-4 (Giedion I-IV).
        strength: position within the grade, 0 (mildest) to 1 (most severe).
        params: every sampled parameter, for the training log and reproducibility.
    """

    image: np.ndarray
    grade: int
    strength: float
    params: dict[str, Any] = field(default_factory=dict)


def sample_grade(rng: np.random.Generator, weights: tuple[float, ...] | None = None) -> int:
    """Draw a severity grade.

    Args:
        rng: numpy random generator (the only source of randomness).
        weights: relative probability of grades I-IV; equal when None.

    Returns:
        An int in 1..4.
    """
    if weights is None:
        return int(rng.integers(1, 5))
    p = np.asarray(weights, dtype=np.float64)
    if p.shape != (4,) or np.any(p < 0) or not np.isfinite(p).all() or p.sum() <= 0:
        raise SimulationInputError(
            f"grade weights must be four non-negative numbers with a positive sum, got {weights!r}."
        )
    return int(rng.choice(GRADES, p=p / p.sum()))


def effect_margin_px(lung_mask: np.ndarray) -> int:
    """How far outside the lung mask :func:`simulate_rds` may change pixels.

    Every pixel whose Chebyshev (square) distance to the mask exceeds this value is
    returned unchanged.

    Args:
        lung_mask: boolean lung mask of the film.

    Returns:
        The margin in pixels.
    """
    # The feather is a truncated Gaussian of the (eroded) mask: its support ends within
    # this radius. The erosion is ignored here, which keeps the bound simple and safe.
    return _radius(_MAX_FEATHER_SIGMA * _scale(int(np.count_nonzero(lung_mask))))


def simulate_rds(
    image: np.ndarray,
    lung_mask: np.ndarray,
    grade: int,
    rng: np.random.Generator,
    *,
    strength: float | None = None,
) -> SimulatedFilm:
    """Paint a simulated RDS pattern of the given grade into the lungs of a film.

    Deterministic for a given generator state. A visual proxy for demo training, not a
    physical model (see the module docstring).

    Args:
        image: float32 (or float64) array (height, width) in [0, 1], 1 = bright/opaque.
        lung_mask: boolean array of the same shape, True on both lungs.
        grade: severity 1-4 (Giedion I-IV).
        rng: numpy random generator; every random choice is drawn from it.
        strength: position within the grade in [0, 1]; drawn uniformly when None.

    Returns:
        A :class:`SimulatedFilm` with the altered image and the sampled parameters.

    Raises:
        SimulationInputError: (a ValueError) for a wrong shape, dtype or range, an empty
            or tiny mask, a grade outside 1-4, or a strength outside [0, 1].
    """
    img, mask = _check_inputs(image, lung_mask, grade, rng, strength)
    h, w = img.shape
    if strength is None:
        strength = float(rng.uniform(0.0, 1.0))
    severity = (grade - 1) + float(strength)  # continuous, 0..4
    scale = _scale(int(mask.sum()))
    params: dict[str, Any] = {"grade": int(grade), "strength": float(strength), "scale": scale}

    # Work in a crop around the lungs: everything outside it is untouched anyway.
    margin = effect_margin_px(mask)
    context = margin + int(round(40 * scale))
    rows, cols = np.nonzero(mask)
    y0, y1 = max(rows.min() - context, 0), min(rows.max() + context + 1, h)
    x0, x1 = max(cols.min() - context, 0), min(cols.max() + context + 1, w)
    src = img[y0:y1, x0:x1].astype(np.float32)
    m = mask[y0:y1, x0:x1]

    weight = _feather(m, scale, rng, params)
    lungs = _lung_geometry(m)
    params["lungs"] = len(lungs)

    squeezed = _squeeze(src, m, weight, severity, rng, params)
    # The base keeps what the haze lifts (air between ribs and vessels); the detail keeps
    # what stays visible through it (rib edges, vessels, film noise).
    base = _masked_blur(squeezed, m, 9.0 * scale)
    tissue = _tissue_level(squeezed, m, scale)
    contrast = np.clip(tissue - base, 0.0, None)  # how much darker than soft tissue

    haze = _haze_fraction(m, lungs, severity, scale, rng, params)
    # Granules are spots where the opacification is denser: they modulate the haze, so
    # they follow its strength and the local air contrast (faint over the heart), and
    # they merge into a uniform opacity in white-out (fading over grade IV).
    grain = _granular_texture(m.shape, scale, rng, params)
    gain = params["grain_amplitude"] * (1.0 - 0.5 * float(np.clip(severity - 3.0, 0.0, 1.0)))
    haze = np.clip(haze + gain * grain * haze * (1.0 - haze), 0.0, 1.0)
    if grade >= 2:
        bronchi = _air_bronchograms(m, lungs, scale, rng, params)
        haze = haze * (1.0 - bronchi)
    else:
        params["bronchogram_trees"] = 0

    # Film grain (the finest scale) is kept as it is, so the noise inside the lungs
    # stays like the noise everywhere else on the film; only larger detail is blurred
    # and compressed.
    smooth = ndi.gaussian_filter(squeezed, 1.0 * scale)
    grain_of_film = squeezed - smooth
    detail = smooth - base
    if grade >= 3:
        beta = float(rng.uniform(0.25, 0.55) if grade == 3 else rng.uniform(0.55, 0.85))
        sigma_b = float(rng.uniform(2.0, 4.0)) * scale
        blurred = ndi.gaussian_filter(squeezed, sigma_b) - base
        detail = (1.0 - beta) * detail + beta * blurred
        params.update(border_blur=beta, border_blur_sigma_px=sigma_b)
    else:
        params.update(border_blur=0.0, border_blur_sigma_px=0.0)
    # Denser lungs sit on the shoulder of the film/display curve, where contrast is
    # compressed: ribs and vessels fade as the haze grows.
    compress = float(rng.uniform(0.45, 0.75))
    params["detail_compression"] = compress
    detail = detail * (1.0 - compress * haze)

    lung_view = base + detail + grain_of_film + haze * contrast
    out_crop = src + weight * (lung_view - src)
    np.clip(out_crop, 0.0, 1.0, out=out_crop)

    out = img.astype(np.float32, copy=True)
    out[y0:y1, x0:x1] = out_crop
    if _on_8bit_grid(img):
        touched = np.zeros_like(mask)
        touched[y0:y1, x0:x1] = weight > 0
        out[touched] = np.round(out[touched] * 255.0) / 255.0
        params["quantised_to"] = 255
    else:
        params["quantised_to"] = None
    return SimulatedFilm(image=out, grade=int(grade), strength=float(strength), params=params)


# --- validation ---------------------------------------------------------------------


def _check_inputs(
    image: np.ndarray,
    lung_mask: np.ndarray,
    grade: int,
    rng: np.random.Generator,
    strength: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(image, np.ndarray) or image.ndim != 2:
        raise SimulationInputError(
            "image must be a 2-D numpy array (height, width) of one grey-scale film, "
            f"got {type(image).__name__} with shape {getattr(image, 'shape', None)}."
        )
    if not np.issubdtype(image.dtype, np.floating):
        raise SimulationInputError(
            f"image must be float in [0, 1], got dtype {image.dtype}; "
            "convert it first (e.g. uint8 / 255)."
        )
    if min(image.shape) < _MIN_SIDE:
        raise SimulationInputError(
            f"image is {image.shape[1]}x{image.shape[0]} pixels; at least "
            f"{_MIN_SIDE}x{_MIN_SIDE} is needed to draw a lung pattern."
        )
    if not np.isfinite(image).all() or image.min() < 0.0 or image.max() > 1.0:
        raise SimulationInputError(
            "image values must be finite and within [0, 1] (1 = bright); "
            f"got min {np.nanmin(image):.3g}, max {np.nanmax(image):.3g}."
        )
    if not isinstance(lung_mask, np.ndarray) or lung_mask.dtype != np.bool_:
        raise SimulationInputError(
            "lung_mask must be a boolean numpy array (e.g. mask_png > 127), got "
            f"{getattr(lung_mask, 'dtype', type(lung_mask).__name__)}."
        )
    if lung_mask.shape != image.shape:
        raise SimulationInputError(
            f"lung_mask shape {lung_mask.shape} does not match image shape {image.shape}."
        )
    area = int(lung_mask.sum())
    if area == 0:
        raise SimulationInputError("lung_mask is empty: there are no lungs to draw RDS into.")
    if area < _MIN_MASK_FRACTION * image.size:
        raise SimulationInputError(
            f"lung_mask covers only {area} pixels ({100 * area / image.size:.2f} % of the film); "
            f"at least {100 * _MIN_MASK_FRACTION:.1f} % is needed to draw a lung pattern."
        )
    if isinstance(grade, bool) or not isinstance(grade, (int, np.integer)) or grade not in GRADES:
        raise SimulationInputError(f"grade must be an integer from 1 to 4 (Giedion I-IV), got {grade!r}.")
    if strength is not None:
        try:
            ok = 0.0 <= float(strength) <= 1.0  # False for NaN too
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise SimulationInputError(f"strength must be within [0, 1] or None, got {strength!r}.")
    if not isinstance(rng, np.random.Generator):
        raise SimulationInputError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}."
        )
    return image, lung_mask


# --- geometry -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Lung:
    """One lung (one side of the mask) in crop coordinates."""

    top: int
    bottom: int
    left: int
    right: int
    medial_sign: int  # +1 when the mediastinum lies towards larger x
    hilum: tuple[float, float]  # (y, x)


def _scale(mask_area: int) -> float:
    return float(np.clip(math.sqrt(mask_area / _REFERENCE_MASK_AREA), 0.25, 8.0))


def _radius(sigma: float) -> int:
    # scipy's Gaussian support radius for a given truncate
    return int(_TRUNCATE * sigma + 0.5)


def _lung_geometry(mask: np.ndarray) -> list[_Lung]:
    """Split the mask at the mediastinum and find a hilum for each side."""
    cols = np.nonzero(mask.any(axis=0))[0]
    c0, c1 = cols.min(), cols.max()
    # The mediastinum is the emptiest column in the middle of the mask's extent; this also
    # splits masks whose two lungs touch behind the heart.
    lo, hi = c0 + int(0.3 * (c1 - c0)), c0 + int(0.7 * (c1 - c0)) + 1
    counts = mask[:, lo:hi].sum(axis=0)
    mid = lo + int(np.argmin(counts)) if hi > lo else (c0 + c1) // 2
    lungs = []
    for side, sl in ((+1, slice(0, mid)), (-1, slice(mid, mask.shape[1]))):
        part = np.zeros_like(mask)
        part[:, sl] = mask[:, sl]
        if part.sum() < 0.1 * mask.sum():
            continue  # a single-lung mask (or a speck): no second hilum
        rr, cc = np.nonzero(part)
        top, bottom, left, right = rr.min(), rr.max(), cc.min(), cc.max()
        hy = top + 0.42 * (bottom - top)
        row = part[int(hy)]
        xs = np.nonzero(row)[0]
        if xs.size == 0:
            xs = cc
        width = right - left
        # Hilum sits a little inside the medial edge of the lung at about mid height.
        hx = xs.max() - 0.12 * width if side > 0 else xs.min() + 0.12 * width
        lungs.append(_Lung(int(top), int(bottom), int(left), int(right), side, (float(hy), float(hx))))
    return lungs


def _feather(mask: np.ndarray, scale: float, rng: np.random.Generator, params: dict) -> np.ndarray:
    """Soft weight in [0, 1]: ~1 inside the lungs, fading over a random width at the edge."""
    erosion = float(rng.uniform(_MIN_EROSION, 4.0)) * scale
    sigma = float(rng.uniform(3.0, _MAX_FEATHER_SIGMA)) * scale
    steps = int(math.floor(erosion))
    core = ndi.binary_erosion(mask, iterations=steps) if steps > 0 else mask
    weight = ndi.gaussian_filter(core.astype(np.float32), sigma, truncate=_TRUNCATE)
    # Tiny tails would be invisible yet would count as "changed" pixels.
    weight[weight < 1e-3] = 0.0
    params.update(feather_erosion_px=steps, feather_sigma_px=sigma)
    return weight


def _downsample(image: np.ndarray, f: int) -> np.ndarray:
    """Block mean by an integer factor (edge-padded to a multiple of it)."""
    h, w = image.shape
    hh, ww = -(-h // f) * f, -(-w // f) * f
    padded = np.pad(image, ((0, hh - h), (0, ww - w)), mode="edge") if (hh, ww) != (h, w) else image
    # Two contiguous reductions are much faster than one mean over strided axes.
    rows = padded.reshape(hh // f, f, ww).sum(axis=1, dtype=np.float32)
    return rows.reshape(hh // f, ww // f, f).sum(axis=2) / np.float32(f * f)


def _upsample(small: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear-like upsampling: repeat, then a box of the same width (cheap at any f)."""
    big = np.repeat(np.repeat(small, f, axis=0), f, axis=1)
    if f > 1:
        big = ndi.uniform_filter(big, f, mode="nearest")
    return big[: shape[0], : shape[1]]


def _masked_blur(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of the image over lung pixels only (normalised convolution).

    Computed at half resolution: the result is smooth on the scale of `sigma` anyway.
    """
    f = 2 if sigma >= 4.0 else 1
    m = _downsample(mask.astype(np.float32), f)
    num = ndi.gaussian_filter(_downsample(image, f) * m, sigma / f)
    den = ndi.gaussian_filter(m, sigma / f)
    # Far from the lungs den is tiny but still positive; there the feather weight is
    # zero, so the value only has to be finite.
    return _upsample(num / np.maximum(den, 1e-6), f, image.shape)


def _tissue_level(image: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """Soft-tissue density around the lungs, spread smoothly into them.

    Estimated from a ring of non-lung pixels around the mask (chest wall, mediastinum,
    diaphragm), interpolated by normalised convolution at quarter resolution; this is
    the density a fully airless lung would take, so white-out never looks brighter than
    its own surroundings.
    """
    f = 4
    small_img = _downsample(image, f)
    small_lung = _downsample(mask.astype(np.float32), f) > 0.0
    ring = ndi.binary_dilation(small_lung, iterations=max(1, int(round(12 * scale / f)))) & ~small_lung
    ring &= small_img > 0.02  # black padding is not tissue
    values = small_img[ring]
    fallback = float(np.median(values)) if values.size else float(image[mask].max())
    sigma = 30.0 * scale / f
    r = ring.astype(np.float32)
    num = ndi.gaussian_filter(small_img * r, sigma)
    den = ndi.gaussian_filter(r, sigma)
    small = np.where(den > 1e-3, num / np.maximum(den, 1e-6), fallback).astype(np.float32)
    return _upsample(small, f, image.shape)


def _smooth_field(shape: tuple[int, int], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-std random field varying over about `sigma` pixels (cheap: low-res)."""
    f = max(1, int(sigma // 4))
    small_shape = (-(-shape[0] // f), -(-shape[1] // f))
    small = ndi.gaussian_filter(rng.standard_normal(small_shape).astype(np.float32), sigma / f)
    big = _upsample(small, f, shape)
    big = big - big.mean()
    return big / (big.std() + 1e-8)


# --- pattern components -------------------------------------------------------------


def _squeeze(
    image: np.ndarray,
    mask: np.ndarray,
    weight: np.ndarray,
    severity: float,
    rng: np.random.Generator,
    params: dict,
) -> np.ndarray:
    """Hypoaeration: compress the lung content towards the apex by a few per cent.

    Each lung pixel shows the film from a little further down, so the diaphragm dome
    appears higher; the displacement grows from the apex to the base and fades with the
    feather weight, so it is continuous at the lung edge.
    """
    amount = float(rng.uniform(0.0, 0.012 + 0.010 * severity))
    params["volume_squeeze"] = amount
    if amount * (mask.shape[0]) < 0.5:
        return image
    rows = np.nonzero(mask.any(axis=1))[0]
    h = image.shape[0]
    yy = np.arange(h, dtype=np.float32)[:, None]
    # Only vertical displacement: linear interpolation along each column.
    src_y = np.clip(yy + np.clip(yy - rows.min(), 0.0, None) * amount * weight, 0.0, h - 1.0)
    y0 = np.minimum(src_y.astype(np.intp), h - 2)
    frac = src_y - y0
    upper = np.take_along_axis(image, y0, axis=0)
    lower = np.take_along_axis(image, y0 + 1, axis=0)
    warped = upper + frac * (lower - upper)
    return warped.astype(np.float32)


def _haze_fraction(
    mask: np.ndarray,
    lungs: list[_Lung],
    severity: float,
    scale: float,
    rng: np.random.Generator,
    params: dict,
) -> np.ndarray:
    """Fraction of the way each lung pixel moves towards soft-tissue density."""
    # Haze fraction at the start of grades I..IV and at the end of grade IV; the jump
    # before grade IV makes white-out distinctly denser than a confluent grade III.
    level = float(np.interp(severity, [0.0, 1.0, 2.0, 3.0, 3.0001, 4.0], [0.10, 0.28, 0.48, 0.72, 0.80, 0.98]))
    level = float(np.clip(level + rng.normal(0.0, 0.03), 0.05, 0.99))
    patchiness = float(rng.uniform(0.08, 0.22))
    asym = float(rng.uniform(-0.12, 0.12))
    basal = float(rng.uniform(-0.08, 0.25))
    field_ = _smooth_field(mask.shape, float(rng.uniform(25.0, 50.0)) * scale, rng)
    h, w = mask.shape
    rows = np.nonzero(mask.any(axis=1))[0]
    span = max(int(rows.max() - rows.min()), 1)
    y_rel = np.clip((np.arange(h, dtype=np.float32)[:, None] - rows.min()) / span, 0.0, 1.0)
    if len(lungs) == 2:
        mid = 0.5 * (lungs[0].right + lungs[1].left)
    else:
        mid = 0.5 * w
    x_rel = np.tanh((np.arange(w, dtype=np.float32)[None, :] - mid) / (0.05 * w))
    modulation = 1.0 + patchiness * field_ + asym * x_rel + basal * (y_rel - 0.5)
    haze = np.clip(level * modulation, 0.0, 1.0).astype(np.float32)
    params.update(
        haze_level=level, haze_patchiness=patchiness, haze_asymmetry=asym, haze_basal_gradient=basal
    )
    return haze


def _granular_texture(
    shape: tuple[int, int], scale: float, rng: np.random.Generator, params: dict
) -> np.ndarray:
    """Reticulogranular texture: band-passed noise at two scales, skewed to bright granules."""
    tex_scale = float(rng.uniform(0.75, 1.35))
    aniso = float(rng.uniform(0.75, 1.33))
    axis = int(rng.integers(0, 2))
    fine_w = float(rng.uniform(0.55, 0.85))
    s_fine = [1.2 * tex_scale * scale] * 2
    s_fine[axis] *= aniso
    noise = rng.standard_normal(shape, dtype=np.float32)
    # Two bands of one noise field (differences of Gaussians: no slow drift), the
    # coarser one filtered at half resolution to stay fast.
    low1 = ndi.gaussian_filter(noise, s_fine, truncate=3.0)
    low2 = ndi.gaussian_filter(noise, [2.2 * v for v in s_fine], truncate=3.0)
    low3 = _upsample(ndi.gaussian_filter(_downsample(low2, 2), [2.0 * v / 2 for v in s_fine]), 2, shape)
    out = np.zeros(shape, dtype=np.float32)
    for band, wgt in ((low1 - low2, fine_w), (low2 - low3, 1.0 - fine_w)):
        out += wgt * band / (band.std() + 1e-8)
    skew = float(rng.uniform(0.15, 0.45))
    out = out + skew * np.abs(out)  # granules are opacities: brighter than the background
    out -= out.mean()
    out /= out.std() + 1e-8
    amplitude = float(rng.uniform(0.5, 0.8))  # modulation of the haze fraction
    params.update(
        texture_scale=tex_scale,
        texture_anisotropy=aniso,
        texture_axis=axis,
        texture_fine_weight=fine_w,
        texture_skew=skew,
        grain_amplitude=amplitude,
    )
    return out


def _air_bronchograms(
    mask: np.ndarray, lungs: list[_Lung], scale: float, rng: np.random.Generator, params: dict
) -> np.ndarray:
    """Branching air-filled bronchi radiating from each hilum, as a [0, 1] visibility map."""
    thick = np.zeros(mask.shape, dtype=np.float32)
    thin = np.zeros(mask.shape, dtype=np.float32)
    trees = 0
    for lung in lungs:
        height = lung.bottom - lung.top
        lateral = -lung.medial_sign  # +1: lateral is towards larger x
        for _ in range(int(rng.integers(2, 5))):
            # Angle 0 points laterally, positive angles point downwards (towards the base).
            angle = math.radians(rng.uniform(-35.0, 75.0))
            start = (
                lung.hilum[0] + rng.normal(0.0, 0.05 * height),
                lung.hilum[1] + rng.normal(0.0, 4.0 * scale),
            )
            length = float(rng.uniform(0.16, 0.24)) * height
            _grow(start, angle, lateral, length, 0, mask, rng, thick, thin)
            trees += 1
    sig_thick = float(rng.uniform(1.5, 2.1)) * scale
    sig_thin = float(rng.uniform(1.0, 1.3)) * scale
    # Normalise so a single line of unit density peaks at about 1 after blurring.
    vis = ndi.gaussian_filter(thick, sig_thick) * (math.sqrt(2 * math.pi) * sig_thick)
    vis = np.maximum(vis, ndi.gaussian_filter(thin, sig_thin) * (math.sqrt(2 * math.pi) * sig_thin))
    strength = float(rng.uniform(0.4, 0.75))
    params.update(
        bronchogram_trees=trees,
        bronchogram_contrast=strength,
        bronchogram_sigma_px=(sig_thick, sig_thin),
    )
    return np.clip(vis, 0.0, 1.0) * strength


def _grow(
    start: tuple[float, float],
    angle: float,
    lateral: int,
    length: float,
    depth: int,
    mask: np.ndarray,
    rng: np.random.Generator,
    thick: np.ndarray,
    thin: np.ndarray,
) -> None:
    """Draw one bronchus as a curving random walk, then branch (a small L-system)."""
    n = max(int(length), 2)
    turns = np.cumsum(rng.normal(0.0, 0.06, n)) + angle
    ys = start[0] + np.cumsum(np.sin(turns))
    xs = start[1] + lateral * np.cumsum(np.cos(turns))
    yi, xi = np.round(ys).astype(int), np.round(xs).astype(int)
    inside = (yi >= 0) & (yi < mask.shape[0]) & (xi >= 0) & (xi < mask.shape[1])
    inside[inside] = mask[yi[inside], xi[inside]]
    # Stop the branch where it first leaves the lung.
    stop = int(np.argmin(inside)) if not inside.all() else n
    if stop < 2:
        return
    target = thick if depth <= 1 else thin
    fade = 1.0 if depth <= 1 else 0.75 ** (depth - 1)
    # Visibility wavers along a bronchus (partial volume, overlapping granules).
    waver = np.clip(1.0 + np.cumsum(rng.normal(0.0, 0.08, stop)), 0.4, 1.2)
    np.add.at(target, (yi[:stop], xi[:stop]), fade * waver)
    if depth >= 3 or stop < n:
        return
    for sign in (-1.0, 1.0):
        if depth >= 1 and rng.uniform() < 0.3:
            continue  # not every branch point shows both children
        child = turns[stop - 1] + sign * math.radians(rng.uniform(15.0, 35.0))
        _grow(
            (ys[stop - 1], xs[stop - 1]),
            float(child),
            lateral,
            length * float(rng.uniform(0.6, 0.8)),
            depth + 1,
            mask,
            rng,
            thick,
            thin,
        )


def _on_8bit_grid(image: np.ndarray) -> bool:
    sample = image.ravel()[:: max(1, image.size // 4096)].astype(np.float64) * 255.0
    return bool(np.all(np.abs(sample - np.round(sample)) < 1e-4))
