"""``analyze(radiograph) -> Analysis``: everything a page or the CLI shows, in one call.

Stages: segment the lungs (U-Net pack) -> lung-masked crop -> five fold classifiers in
one pass -> fused class activation maps. :func:`load_models` loads fresh packs on every call
(no hidden cache): the app caches them with ``st.cache_resource``, the CLI and the study's
hint function hold their own instance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rds_core.agreement import Disagreement, fold_disagreement
from rds_core.classification import FoldEnsemble, FoldOutputs, ModelInput
from rds_core.device import resolve_device
from rds_core.explain import CamSet, build_cam_set
from rds_core.geometry import fit_shape, resize
from rds_core.imaging.radiograph import Radiograph
from rds_core.models.packs import Manifest, default_pack_name, resolve_pack_dir
from rds_core.segmentation import LungSegmentation, LungSegmenter
from rds_core.warnings_catalog import warning

__all__ = [
    "DISPLAY_MAX_SIDE",
    "Models",
    "PackInfo",
    "Analysis",
    "load_models",
    "analyze",
    "analyze_batch",
]

DISPLAY_MAX_SIDE = 768


@dataclass(frozen=True)
class PackInfo:
    """What a page must say about the weights behind a result."""

    name: str
    version: str
    training_data: str
    notice: str

    @classmethod
    def of(cls, manifest: Manifest) -> "PackInfo":
        return cls(manifest.name, manifest.version, manifest.training_data, manifest.notice)


@dataclass
class Models:
    """The loaded packs for one device."""

    segmenter: LungSegmenter
    classifier: FoldEnsemble
    device: torch.device


@dataclass
class Analysis:
    """The result of :func:`analyze`: one film, its lungs, the fold ensemble and its maps.

    Maps for display (``display``, ``lung_mask_display`` and every map in ``cams``) share
    one resolution whose long side is at most ``DISPLAY_MAX_SIDE``; ``lung_mask`` is at the
    film's original resolution.
    """

    radiograph: Radiograph
    display: np.ndarray
    lung_mask: np.ndarray
    lung_mask_display: np.ndarray
    lung_area_fraction: float
    lungs_found: bool
    fold_probabilities: list[float]
    probability: float
    spread: float
    threshold: float
    label: str
    class_names: tuple[str, ...]
    cams: CamSet | None
    timings_ms: dict[str, float]
    device: str
    pack: PackInfo
    seg_pack: PackInfo
    warnings: list[str] = field(default_factory=list)
    upright_turns: int = 0  # quarter turns (np.rot90 k) that made the stored film upright before classifying

    @property
    def positive(self) -> bool:
        """True when the ensemble probability reaches the pack's threshold."""
        return self.probability >= self.threshold

    @property
    def disagreement(self) -> Disagreement:
        """Whether the fold models disagree on this film (:func:`rds_core.agreement.fold_disagreement`)."""
        return fold_disagreement(self.fold_probabilities, self.threshold)

    def summary(self) -> dict[str, object]:
        """The JSON-ready record written by the CLI."""
        return {
            "source": self.radiograph.source,
            "fold_probabilities": [round(p, 6) for p in self.fold_probabilities],
            "probability": round(self.probability, 6),
            "spread": round(self.spread, 6),
            "label": self.label,
            "threshold": self.threshold,
            "lungs_found": self.lungs_found,
            "lung_area_fraction": round(self.lung_area_fraction, 6),
            "cam_in_lung": None if self.cams is None else {
                "folds": [round(x, 6) for x in self.cams.in_lung_folds], "fused": round(self.cams.in_lung_fused, 6)},
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "device": self.device,
            "pack": {"name": self.pack.name, "version": self.pack.version},
            "seg_pack": {"name": self.seg_pack.name, "version": self.seg_pack.version},
            "warnings": list(self.warnings),
            "upright_turns": self.upright_turns,
        }


def load_models(pack: str | Path | None = None, seg_pack: str | Path | None = None, device: str = "auto",
                backend: str = "torch") -> Models:
    """Load and verify both packs (no cache here: the app caches with ``st.cache_resource``,
    the CLI and the hint function hold their own instance).

    Args:
        pack: classification pack name or folder; :func:`default_pack_name` when None.
        seg_pack: lung segmentation pack name or folder; :func:`default_pack_name` when None.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        backend: ``torch`` or ``onnx`` (ONNX Runtime on the CPU, :mod:`rds_core.onnx_backend`).
    """
    resolved = resolve_device(device)
    pack_dir = resolve_pack_dir(pack or default_pack_name("classification"))
    seg_dir = resolve_pack_dir(seg_pack or default_pack_name("segmentation"))
    return Models(LungSegmenter(seg_dir, resolved, backend), FoldEnsemble(pack_dir, resolved, backend), resolved)


def display_shape(height: int, width: int, max_side: int = DISPLAY_MAX_SIDE) -> tuple[int, int]:
    """Size of the display copy (long side at most ``max_side``; :func:`rds_core.geometry.fit_shape`)."""
    return fit_shape(height, width, max_side)


def analyze(radiograph: Radiograph, models: Models, *, with_cam: bool = True) -> Analysis:
    """Segment, classify and explain one film.

    Args:
        radiograph: a loaded film (see :func:`rds_core.imaging.load_radiograph`).
        models: loaded packs (:func:`load_models`).
        with_cam: compute the class activation maps (the CLI's ``--no-cam`` skips them).

    Example:
        >>> from rds_core.imaging import load_radiograph
        >>> result = analyze(load_radiograph("samples/kermany_normal_01.png"), load_models())  # doctest: +SKIP
        >>> round(result.probability, 2), result.label  # doctest: +SKIP
    """
    started = time.perf_counter()
    pixels = radiograph.pixels
    seg = models.segmenter.segment(pixels)
    seg_done = time.perf_counter()
    model_input = models.classifier.prepare(pixels, seg.mask if seg.lungs_found else None, seg.upright_turns)
    outputs = models.classifier.predict(model_input, with_cam=with_cam)
    timings = {"segmentation": (seg_done - started) * 1000.0, "classification": (time.perf_counter() - seg_done) * 1000.0}
    return _assemble(radiograph, seg, model_input, outputs, models, with_cam, timings)


def analyze_batch(radiographs: list[Radiograph], models: Models, *, with_cam: bool = True) -> list[Analysis]:
    """:func:`analyze` for several films, each model called once for the whole batch.

    Results match :func:`analyze` film by film up to float rounding of batched convolutions
    (one film gives exactly :func:`analyze`). Stage timings are the batch's time shared
    equally between its films.

    Args:
        radiographs: loaded films, any sizes.
        models: loaded packs (:func:`load_models`).
        with_cam: compute the class activation maps.
    """
    if len(radiographs) <= 1:
        return [analyze(r, models, with_cam=with_cam) for r in radiographs]
    started = time.perf_counter()
    segs = models.segmenter.segment_batch([r.pixels for r in radiographs])
    seg_done = time.perf_counter()
    inputs = [models.classifier.prepare(r.pixels, s.mask if s.lungs_found else None, s.upright_turns)
              for r, s in zip(radiographs, segs)]
    outputs = models.classifier.predict_batch(inputs, with_cam=with_cam)
    share = 1000.0 / len(radiographs)
    timings = {"segmentation": (seg_done - started) * share, "classification": (time.perf_counter() - seg_done) * share}
    results = []
    for radiograph, seg, model_input, output in zip(radiographs, segs, inputs, outputs):
        results.append(_assemble(radiograph, seg, model_input, output, models, with_cam, dict(timings)))
    return results


def _assemble(
    radiograph: Radiograph,
    seg: LungSegmentation,
    model_input: ModelInput,
    outputs: FoldOutputs,
    models: Models,
    with_cam: bool,
    timings: dict[str, float],
) -> Analysis:
    """Display copies, maps and the Analysis record of one film (shared by both entry points)."""
    tick = time.perf_counter()
    shape = display_shape(*radiograph.pixels.shape)
    display = resize(radiograph.pixels, *shape)
    mask_display = seg.mask_at(shape)
    cams = None
    if with_cam:
        raw = outputs.cams
        if raw is None:  # networks whose head is not pooling + linear: real Grad-CAM
            from rds_core.explain import gradcam_maps

            raw = gradcam_maps(models.classifier.networks, model_input.tensor.to(models.device))
        cams = build_cam_set(raw, model_input, shape, mask_display)
        timings["explanation"] = (time.perf_counter() - tick) * 1000.0
    timings["total"] = sum(timings.values())

    manifest = models.classifier.manifest
    probabilities = outputs.probabilities.astype(float)
    probability = float(probabilities.mean())
    warnings = list(radiograph.warnings) + list(seg.warnings)
    if not seg.lungs_found:
        warnings.append(warning("whole_film"))
    return Analysis(
        radiograph=radiograph,
        display=display,
        lung_mask=seg.mask,
        lung_mask_display=mask_display,
        lung_area_fraction=seg.area_fraction,
        lungs_found=seg.lungs_found,
        fold_probabilities=[float(p) for p in probabilities],
        probability=probability,
        spread=float(probabilities.std()),
        threshold=manifest.threshold,
        label=manifest.class_names[-1] if probability >= manifest.threshold else manifest.class_names[0],
        class_names=manifest.class_names,
        cams=cams,
        timings_ms=timings,
        device=str(models.device),
        pack=PackInfo.of(manifest),
        seg_pack=PackInfo.of(models.segmenter.manifest),
        warnings=warnings,
        upright_turns=seg.upright_turns if seg.lungs_found else 0,
    )
