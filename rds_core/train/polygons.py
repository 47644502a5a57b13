"""Lung ROI polygons from the team's JSON annotations, and their rasterisation to a mask.

Two JSON styles are read (see ``docs/DATASET.md``):

* **LabelMe**: ``{"shapes": [{"label": "left lung", "points": [[x, y], ...],
  "shape_type": "polygon"}, ...], "imageHeight": H, "imageWidth": W}``. Shapes whose label
  matches the lung pattern are kept; other labels (heart, tube...) are ignored.
* **Plain list**: ``[[[x, y], ...], [[x, y], ...]]``, every polygon is lung (a single
  polygon ``[[x, y], ...]`` is accepted too).

Coordinates are pixels, x to the right and y down, with pixel centres on integers (the
LabelMe convention). A mask pixel is lung when its centre lies inside or on a polygon;
several polygons are united.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rds_core.errors import RdsError

__all__ = [
    "AnnotationError",
    "LungAnnotation",
    "DEFAULT_LUNG_LABEL",
    "EDGE_TOLERANCE_PX",
    "read_lung_annotation",
    "parse_lung_annotation",
    "rasterise",
]

DEFAULT_LUNG_LABEL = r"lung|폐"
# Annotators clicking on the film's border land a pixel or two outside it; further out the
# JSON most likely belongs to another image or another resolution.
EDGE_TOLERANCE_PX = 2.0
# Relative aspect-ratio difference above which a JSON's stated image size cannot be the
# same film resized (it is transposed, cropped or another image).
_ASPECT_TOLERANCE = 0.02
# cv2.fillPoly fixed-point bits: keeps sub-pixel vertex positions after scaling.
_SHIFT = 4


class AnnotationError(RdsError, ValueError):
    """A lung ROI JSON cannot be turned into a lung mask."""


@dataclass(frozen=True)
class LungAnnotation:
    """The lung polygons of one image.

    Attributes:
        polygons: each a float64 array (n_points, 2) of (x, y) pixel coordinates.
        frame: (height, width) of the image the points were drawn on, when the JSON says
            (LabelMe ``imageHeight``/``imageWidth``); None for the plain list style.
        style: ``"labelme"`` or ``"list"``.
    """

    polygons: tuple[np.ndarray, ...]
    frame: tuple[int, int] | None
    style: str


def read_lung_annotation(path: Path, lung_label: str = DEFAULT_LUNG_LABEL) -> LungAnnotation:
    """Read a JSON file of lung polygons in either supported style.

    Args:
        path: the JSON file.
        lung_label: regular expression (case-insensitive, searched anywhere in the label)
            selecting lung shapes in LabelMe files.

    Raises:
        AnnotationError: unreadable, not valid JSON, neither style, or no lung polygon; the
            message starts with the file name.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise AnnotationError(f"{path.name}: not UTF-8 text ({err.reason}).") from err
    except OSError as err:
        raise AnnotationError(f"{path.name}: cannot be read ({err.strerror}).") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise AnnotationError(f"{path.name}: not valid JSON (line {err.lineno}: {err.msg}).") from err
    try:
        return parse_lung_annotation(data, lung_label)
    except AnnotationError as err:
        raise AnnotationError(f"{path.name}: {err}") from err


def parse_lung_annotation(data: Any, lung_label: str = DEFAULT_LUNG_LABEL) -> LungAnnotation:
    """Turn decoded JSON (LabelMe dict or list of polygons) into a :class:`LungAnnotation`.

    Args:
        data: the decoded JSON value.
        lung_label: regular expression selecting lung shapes in LabelMe files.

    Raises:
        AnnotationError: neither style, a malformed polygon, or no lung polygon.
    """
    if isinstance(data, dict):
        if not isinstance(data.get("shapes"), list):
            raise AnnotationError("The JSON is an object without a 'shapes' list: neither LabelMe nor a list of polygons.")
        return _parse_labelme(data, re.compile(lung_label, re.IGNORECASE))
    if isinstance(data, list):
        if not data:
            raise AnnotationError("The JSON is an empty list: no lung polygon.")
        # A lone polygon is a list of points; a list of polygons is one level deeper.
        raw = [data] if all(_is_point(p) for p in data) else data
        polygons = tuple(_polygon(p, f"polygon {i + 1}") for i, p in enumerate(raw))
        return LungAnnotation(polygons, None, "list")
    raise AnnotationError(f"The JSON holds a {type(data).__name__}: neither LabelMe nor a list of polygons.")


def _parse_labelme(data: dict[str, Any], pattern: re.Pattern[str]) -> LungAnnotation:
    polygons: list[np.ndarray] = []
    other_labels: list[str] = []
    for i, shape in enumerate(data["shapes"]):
        if not isinstance(shape, dict):
            raise AnnotationError(f"LabelMe shape {i + 1} is not an object.")
        label = str(shape.get("label", ""))
        shape_type = shape.get("shape_type") or "polygon"
        if not pattern.search(label) or shape_type != "polygon":
            other_labels.append(label if shape_type == "polygon" else f"{label} ({shape_type})")
            continue
        polygons.append(_polygon(shape.get("points"), f"shape {i + 1} ('{label}')"))
    if not polygons:
        found = ", ".join(f"'{label}'" for label in other_labels) if other_labels else "none"
        raise AnnotationError(f"No lung polygon in the LabelMe JSON (shapes found: {found}).")
    return LungAnnotation(tuple(polygons), _labelme_frame(data), "labelme")


def _labelme_frame(data: dict[str, Any]) -> tuple[int, int] | None:
    height, width = data.get("imageHeight"), data.get("imageWidth")
    if height is None or width is None:
        return None
    try:
        frame = (int(height), int(width))
    except (TypeError, ValueError) as err:
        raise AnnotationError(f"LabelMe imageHeight/imageWidth are not numbers ({height!r}, {width!r}).") from err
    if min(frame) <= 0:
        raise AnnotationError(f"LabelMe imageHeight/imageWidth must be positive (got {frame[0]} x {frame[1]}).")
    return frame


def _is_point(value: Any) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _polygon(value: Any, name: str) -> np.ndarray:
    if not isinstance(value, (list, tuple)) or not all(_is_point(p) for p in value):
        raise AnnotationError(f"{name.capitalize()} is not a list of [x, y] number pairs.")
    points = np.asarray(value, dtype=np.float64).reshape(-1, 2)
    if len(points) < 3:
        raise AnnotationError(f"{name.capitalize()} has {len(points)} point(s); a polygon needs at least 3.")
    if not np.isfinite(points).all():
        raise AnnotationError(f"{name.capitalize()} has a non-finite coordinate.")
    return points


def rasterise(annotation: LungAnnotation, shape: tuple[int, int], original_size: tuple[int, int] | None = None) -> np.ndarray:
    """Draw the lung polygons as a uint8 mask (0 background, 255 lung) of ``shape``.

    The points are taken in ``annotation.frame`` when the JSON gave one, else in
    ``original_size`` (the film as stored), else in ``shape``; when that frame differs from
    ``shape`` the points are scaled (pixel-centre aligned) to it.

    Args:
        annotation: the polygons.
        shape: (height, width) of the mask to draw, i.e. of the prepared image.
        original_size: (height, width) of the film as stored, when known.

    Raises:
        AnnotationError: the frame's aspect ratio differs from ``shape``, a polygon reaches
            more than :data:`EDGE_TOLERANCE_PX` outside its frame, or the polygons cover no
            pixel.
    """
    height, width = shape
    frame_h, frame_w = annotation.frame or original_size or shape
    if abs((frame_w / frame_h) / (width / height) - 1.0) > _ASPECT_TOLERANCE:
        raise AnnotationError(
            f"The JSON was drawn on a {frame_w} x {frame_h} image but the image is {width} x {height} "
            "(a different shape, so not the same film)."
        )
    scale = np.array([width / frame_w, height / frame_h])
    mask = np.zeros((height, width), np.uint8)
    for i, points in enumerate(annotation.polygons):
        low, high = points.min(axis=0), points.max(axis=0)
        if (low < -EDGE_TOLERANCE_PX).any() or (high > np.array([frame_w, frame_h]) - 1 + EDGE_TOLERANCE_PX).any():
            raise AnnotationError(
                f"Lung polygon {i + 1} spans x {low[0]:g}..{high[0]:g}, y {low[1]:g}..{high[1]:g}, "
                f"outside the {frame_w} x {frame_h} image."
            )
        inside = np.clip(points, 0, [frame_w - 1, frame_h - 1])
        # Pixel centres sit on integers, so scale about -0.5 (the image's outer edge).
        scaled = (inside + 0.5) * scale - 0.5
        fixed = np.round(scaled * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
        # One call per polygon: a single multi-contour call would leave overlaps as holes.
        cv2.fillPoly(mask, [fixed], 255, lineType=cv2.LINE_8, shift=_SHIFT)
    if not mask.any():
        raise AnnotationError("The lung polygons enclose no pixel.")
    return mask

