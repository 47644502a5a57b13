"""Simulated tubes, catheters and ECG leads drawn onto a film (augmentation and tests).

Neonatal films are full of devices: endotracheal and nasogastric/orogastric tubes down the
midline, umbilical venous and arterial catheters coming up from below, ECG electrodes
(round, with a lead) and their wires anywhere across the chest. The source work warns they
can sway a model. Training with them drawn at random teaches the folds to ignore them;
``tests/test_devices.py`` and ``bench/explain.py`` check that drawing them moves neither
the score nor the map.

Devices are radio-opaque: drawn brighter than the film under them (a line of width 1.5-5
px at 512 px, partly translucent, with a soft edge), along random smooth curves (quadratic
Bezier). Lengths and widths scale with the film's size.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["draw_devices"]

KINDS: tuple[str, ...] = ("tube", "catheter", "lead", "electrode")


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int = 64) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def _path(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Control points in (x, y) pixels for one device of ``kind``."""
    u = lambda a, b: float(rng.uniform(a, b))  # noqa: E731 - a short local helper reads best
    if kind == "tube":  # from the mouth down the midline, ending in the chest or stomach
        x0 = width * u(0.42, 0.58)
        pts = [(x0, -0.05 * height), (x0 + width * u(-0.1, 0.1), height * u(0.3, 0.5)), (x0 + width * u(-0.08, 0.12), height * u(0.45, 1.0))]
    elif kind == "catheter":  # from the umbilicus up, often curving towards the heart
        x0 = width * u(0.4, 0.6)
        pts = [(x0, 1.05 * height), (x0 + width * u(-0.15, 0.15), height * u(0.55, 0.8)), (x0 + width * u(-0.15, 0.15), height * u(0.25, 0.6))]
    else:  # a lead wire anywhere across the film
        a = np.array([u(0, width), u(0, height)])
        b = np.array([u(0, width), u(0, height)])
        mid = (a + b) / 2 + rng.normal(0, 0.15, 2) * (width, height)
        pts = [tuple(a), tuple(mid), tuple(b)]
    return _bezier(*(np.asarray(p, np.float64) for p in pts))


def draw_devices(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    count: int | None = None,
    kinds: tuple[str, ...] = KINDS,
    region: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw random radio-opaque devices onto a film.

    Args:
        image: float film (height, width) in [0, 1] (1 = bright).
        rng: the only source of randomness.
        count: number of devices; 1-4 when None.
        kinds: which devices to choose from (:data:`KINDS`).
        region: when given, devices show only where it is True (e.g. a lung-masked crop,
            whose black surroundings a device would not brighten after masking).

    Returns:
        (film with devices, float coverage map in [0, 1] of where they were drawn).
    """
    height, width = image.shape
    scale = max(height, width) / 512.0
    coverage = np.zeros((height, width), np.float32)
    brightness = np.zeros((height, width), np.float32)
    n = int(rng.integers(1, 5)) if count is None else count
    for _ in range(n):
        kind = kinds[int(rng.integers(len(kinds)))]
        layer = np.zeros((height, width), np.float32)
        if kind == "electrode":
            centre = (int(rng.uniform(0.1, 0.9) * width), int(rng.uniform(0.1, 0.9) * height))
            radius = max(2, int(rng.uniform(6, 14) * scale))
            cv2.circle(layer, centre, radius, 1.0, thickness=-1, lineType=cv2.LINE_AA)
            cv2.circle(layer, centre, max(1, radius // 3), 0.4, thickness=-1, lineType=cv2.LINE_AA)
        else:
            thickness = max(1, int(round(rng.uniform(1.5, 5.0) * scale)))
            points = np.round(_path(kind, height, width, rng) * 16).astype(np.int32)  # 4 fractional bits
            cv2.polylines(layer, [points], False, 1.0, thickness=thickness, lineType=cv2.LINE_AA, shift=4)
            if kind == "tube" and rng.random() < 0.5:  # a radio-opaque stripe along the tube
                cv2.polylines(layer, [points], False, 1.0, thickness=thickness + 2, lineType=cv2.LINE_AA, shift=4)
        layer = cv2.GaussianBlur(layer, (0, 0), 0.6 * scale)
        level = float(rng.uniform(0.55, 0.95))  # how opaque: wires faint, catheters dense
        brightness = np.maximum(brightness, layer * level)
        coverage = np.maximum(coverage, layer)
    if region is not None:
        brightness *= region
        coverage *= region
    out = image.astype(np.float32) + brightness * (1.0 - image.astype(np.float32))
    return np.clip(out, 0.0, 1.0), coverage
