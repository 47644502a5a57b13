"""Which way up is the film? Right-angle orientation estimated from the lung mask.

Neonatal films are often stored turned by 90/180/270 degrees (incubator films, portable
detectors). The lung mask is rotation-equivariant (see :mod:`rds_core.segmentation`), but
the classifiers learn from upright crops, so the film is turned upright before it is
classified (``tests/test_orientation.py``; ``bench/orientation.py`` compares this with
averaging the folds over the four rotations).

The estimate is template matching on the mask's shape: the lung box is letterboxed to a
small square and correlated with the mean upright training mask (apices narrow and
separated, costophrenic angles wide, the diaphragm domes, the heart's notch), which the
lung-seg pack carries in its manifest (``extra.upright_template``, written by
:func:`fit_template` from the training masks). Every candidate turn ``k`` is scored on
``rot90(small_mask, k)``; the four candidates of a turned film are the same four arrays in
another order, so the estimate turns with the film and the upright crop - hence the score -
is the same however the film was stored, even on a film where the estimate is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["UprightTemplate", "fit_template", "shape_signature", "store_template"]

TEMPLATE_SIDE = 24


def shape_signature(mask: np.ndarray, side: int = TEMPLATE_SIDE) -> np.ndarray:
    """The mask's lung box, letterboxed to a centred square and area-resized to ``side``."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return np.zeros((side, side), np.float32)
    box = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    extent = max(box.shape)
    square = np.zeros((extent, extent), np.float32)
    top, left = (extent - box.shape[0]) // 2, (extent - box.shape[1]) // 2
    square[top : top + box.shape[0], left : left + box.shape[1]] = box
    return cv2.resize(square, (side, side), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class UprightTemplate:
    """Zero-mean mean shape of upright lung masks (``side`` x ``side``)."""

    values: np.ndarray

    @classmethod
    def from_manifest_extra(cls, extra: dict) -> "UprightTemplate | None":
        """The template stored in a segmentation pack's ``extra``, or None for older packs."""
        stored = extra.get("upright_template")
        if not stored:
            return None
        values = np.asarray(stored["values"], np.float32).reshape(stored["side"], stored["side"])
        return cls(values - values.mean())

    def to_manifest_extra(self) -> dict:
        side = self.values.shape[0]
        return {"side": side, "values": [round(float(v), 4) for v in self.values.ravel()]}

    def scores(self, mask: np.ndarray) -> list[float]:
        """Correlation of each quarter turn ``rot90(mask, k)``, k = 0..3, with the template."""
        small = shape_signature(mask, self.values.shape[0])
        out = []
        for k in range(4):
            turned = np.rot90(small, k)
            out.append(float(((turned - turned.mean()) * self.values).sum()))
        return out

    def upright_turns(self, mask: np.ndarray) -> int:
        """Counter-clockwise quarter turns (``np.rot90`` k) that make the film upright; 0 if empty."""
        if not mask.any():
            return 0
        return int(np.argmax(self.scores(mask)))


def fit_template(upright_masks: Iterable[np.ndarray], side: int = TEMPLATE_SIDE) -> UprightTemplate:
    """Mean shape of upright training masks, mirrored too (films are sometimes flipped)."""
    signatures = [shape_signature(m, side) for m in upright_masks if m.any()]
    if not signatures:
        raise ValueError("fit_template needs at least one non-empty upright lung mask.")
    mean = np.mean(signatures + [s[:, ::-1] for s in signatures], axis=0)
    return UprightTemplate((mean - mean.mean()).astype(np.float32))


def store_template(pack_dir, upright_masks: Iterable[np.ndarray]) -> UprightTemplate:
    """Fit the template on a segmentation pack's training masks and keep it in its manifest.

    The template is data that travels with the weights (like the preprocessing): it lives in
    the manifest's ``extra``, which the sha256 check of the tensor files does not cover.
    """
    import dataclasses
    from pathlib import Path

    from rds_core.models.packs import read_manifest, write_manifest

    template = fit_template(upright_masks)
    manifest = read_manifest(Path(pack_dir))
    extra = dict(manifest.extra, upright_template=template.to_manifest_extra())
    write_manifest(Path(pack_dir), dataclasses.replace(manifest, extra=extra))
    return template
