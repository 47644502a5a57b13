"""``analyze(radiograph) -> Analysis``: everything a page or the CLI shows, in one call.

Stages: segment the lungs (U-Net pack) -> lung-masked crop -> five fold classifiers in
one pass -> fused class activation maps. Models are loaded once per (pack, seg pack,
device) and reused; the app wraps :func:`load_models` in ``st.cache_resource``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from rds_core.classification import FoldEnsemble, FoldOutputs, ModelInput
from rds_core.device import resolve_device
from rds_core.explain import CamSet, build_cam_set
from rds_core.geometry import resize
from rds_core.imaging.radiograph import Radiograph
from rds_core.models.packs import Manifest, resolve_pack_dir
from rds_core.segmentation import LungSegmentation, LungSegmenter

__all__ = [
    "DEFAULT_PACK",
    "DEFAULT_SEG_PACK",
    "DISPLAY_MAX_SIDE",
    "Models",
    "PackInfo",
    "Analysis",
    "load_models",
    "analyze",
    "analyze_batch",
    "predict_folds",
]

DEFAULT_PACK = "rds-demo"
DEFAULT_SEG_PACK = "lung-seg"
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

    @property
    def positive(self) -> bool:
        """True when the ensemble probability reaches the pack's threshold."""
        return self.probability >= self.threshold

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
        }


def load_models(pack: str | Path = DEFAULT_PACK, seg_pack: str | Path = DEFAULT_SEG_PACK, device: str = "auto") -> Models:
    """Load and verify both packs once per (pack folder, seg pack folder, device).

    Names are resolved to folders first, so the cache never hands out packs from another
    weights folder (``RDS_WEIGHTS_DIR`` may change, e.g. between tests).
    """
    return _load_models(resolve_pack_dir(pack).resolve(), resolve_pack_dir(seg_pack).resolve(), device)


@functools.lru_cache(maxsize=4)
def _load_models(pack_dir: Path, seg_dir: Path, device: str) -> Models:
    resolved = resolve_device(device)
    return Models(LungSegmenter(seg_dir, resolved), FoldEnsemble(pack_dir, resolved), resolved)


def display_shape(height: int, width: int, max_side: int = DISPLAY_MAX_SIDE) -> tuple[int, int]:
    """Size of the display copy: the film scaled down so its long side is at most ``max_side``."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def analyze(radiograph: Radiograph, models: Models | None = None, *, with_cam: bool = True) -> Analysis:
    """Segment, classify and explain one film.

    Args:
        radiograph: a loaded film (see :func:`rds_core.imaging.load_radiograph`).
        models: loaded packs; default packs on the best device when omitted.
        with_cam: compute the class activation maps (the CLI's ``--no-cam`` skips them).

    Example:
        >>> from rds_core.imaging import load_radiograph
        >>> result = analyze(load_radiograph("samples/kermany_normal_01.png"))  # doctest: +SKIP
        >>> round(result.probability, 2), result.label  # doctest: +SKIP
    """
    models = models or load_models()
    started = time.perf_counter()
    pixels = radiograph.pixels
    seg = models.segmenter.segment(pixels)
    seg_done = time.perf_counter()
    model_input = models.classifier.prepare(pixels, seg.mask if seg.lungs_found else None)
    outputs = models.classifier.predict(model_input, with_cam=with_cam)
    timings = {"segmentation": (seg_done - started) * 1000.0, "classification": (time.perf_counter() - seg_done) * 1000.0}
    return _assemble(radiograph, seg, model_input, outputs, models, with_cam, timings)


def analyze_batch(radiographs: list[Radiograph], models: Models | None = None, *, with_cam: bool = True) -> list[Analysis]:
    """:func:`analyze` for several films, each model called once for the whole batch.

    Results match :func:`analyze` film by film up to float rounding of batched convolutions
    (one film gives exactly :func:`analyze`). Stage timings are the batch's time shared
    equally between its films.

    Args:
        radiographs: loaded films, any sizes.
        models: loaded packs; default packs on the best device when omitted.
        with_cam: compute the class activation maps.
    """
    if len(radiographs) <= 1:
        return [analyze(r, models, with_cam=with_cam) for r in radiographs]
    models = models or load_models()
    started = time.perf_counter()
    segs = models.segmenter.segment_batch([r.pixels for r in radiographs])
    seg_done = time.perf_counter()
    inputs = [models.classifier.prepare(r.pixels, s.mask if s.lungs_found else None) for r, s in zip(radiographs, segs)]
    outputs = predict_folds(models.classifier, inputs, with_cam=with_cam)
    share = 1000.0 / len(radiographs)
    timings = {"segmentation": (seg_done - started) * share, "classification": (time.perf_counter() - seg_done) * share}
    results = []
    for radiograph, seg, model_input, output in zip(radiographs, segs, inputs, outputs):
        results.append(_assemble(radiograph, seg, model_input, output, models, with_cam, dict(timings)))
    return results


@torch.no_grad()
def predict_folds(classifier: FoldEnsemble, inputs: list[ModelInput], *, with_cam: bool = True) -> list[FoldOutputs]:
    """:meth:`FoldEnsemble.predict` for several inputs, each fold network called once on the batch.

    One input goes through :meth:`FoldEnsemble.predict` itself; ``tests/test_batch.py`` pins
    that the batched path gives the same numbers.
    """
    if len(inputs) == 1:
        return [classifier.predict(inputs[0], with_cam=with_cam)]
    tensor = torch.cat([i.tensor for i in inputs]).to(classifier.device).contiguous(memory_format=torch.channels_last)
    logits, cams = [], []
    for network in classifier.networks:
        features = network.forward_features(tensor)
        logits.append(network.forward_head(features).float()[:, 0])
        if with_cam and classifier.cam_from_features:
            weight = network.get_classifier().weight[0].to(features.dtype)
            cams.append(torch.einsum("c,nchw->nhw", weight, features).float())
    probabilities = torch.sigmoid(torch.stack(logits, dim=1)).cpu().numpy()  # (films, folds)
    cam_array = torch.stack(cams, dim=1).cpu().numpy() if cams else None  # (films, folds, h, w)
    return [FoldOutputs(probabilities[i], None if cam_array is None else cam_array[i]) for i in range(len(inputs))]


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
        warnings.append("The classifier saw the whole film because no lungs were found; its score means little.")
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
    )
