"""The fold ensemble: five cross-validation classifiers -> per-fold and ensemble RDS probability.

Input is the lung-masked film cropped to the lungs (the source paper measured accuracy
0.746 on whole films vs 0.785 on lung-masked films). The film is preprocessed once and
every fold sees the same tensor. Each fold also returns its class activation map from the
same forward pass (see :mod:`rds_core.explain` for why no backward pass is needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rds_core.geometry import Box, Letterbox, letterbox, lung_box
from rds_core.models.cam import class_activation_map
from rds_core.models.builders import build_network, load_state
from rds_core.models.packs import Manifest, Preprocessing, open_pack
from rds_core.onnx_backend import BACKENDS, BackendError, FoldsWithCams, onnx_module

__all__ = ["FoldOutputs", "ModelInput", "FoldEnsemble", "has_cam_head", "prepare_input"]


@dataclass(frozen=True)
class ModelInput:
    """The classifier's input tensor and how it maps back onto the film."""

    tensor: torch.Tensor  # (1, 1, size, size), normalised
    box: Box  # lung crop in pixels of the upright film
    letterbox: Letterbox  # crop -> model square

    film_shape: tuple[int, int]  # (height, width) of the film as stored
    turns: int = 0  # np.rot90 quarter turns that made the stored film upright

    def to_film(self, square_map: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Map a model-space (size, size) map onto the film, or onto a resized copy of it.

        Args:
            square_map: map in model input space.
            shape: (height, width) of the target; defaults to the film's own size. A smaller
                shape (a display copy) scales the lung box accordingly.
        """
        height, width = shape or self.film_shape
        if self.turns % 2:  # the box lives on the upright film, whose sides are swapped
            height, width = width, height
            upright_shape = self.film_shape[::-1]
        else:
            upright_shape = self.film_shape
        sy, sx = height / upright_shape[0], width / upright_shape[1]
        box = Box(int(round(self.box.top * sy)), int(round(self.box.bottom * sy)),
                  int(round(self.box.left * sx)), int(round(self.box.right * sx)))
        content = self.letterbox.to_source(square_map, max(1, box.bottom - box.top), max(1, box.right - box.left))
        upright = box.paste(content[: box.bottom - box.top, : box.right - box.left], height, width)
        return np.ascontiguousarray(np.rot90(upright, -self.turns)) if self.turns else upright


@dataclass(frozen=True)
class FoldOutputs:
    """Per-fold outputs of one forward pass."""

    probabilities: np.ndarray  # (folds,)
    cams: np.ndarray | None  # (folds, h, w) raw class activation maps at feature resolution


@torch.no_grad()
def has_cam_head(network: nn.Module, size: int = 64) -> bool:
    """True if ``forward_head`` is global average pooling + one linear layer (CAM == Grad-CAM).

    Checked numerically rather than by module names: timm families differ (EfficientNet's
    ``conv_head`` sits before the pooling, MobileNetV3's after it).
    """
    classifier = network.get_classifier() if hasattr(network, "get_classifier") else None
    if not isinstance(classifier, nn.Linear) or not hasattr(network, "forward_features"):
        return False
    generator = torch.Generator().manual_seed(0)
    probe = torch.randn(1, 1, size, size, generator=generator).to(classifier.weight.device)
    features = network.forward_features(probe)
    if features.ndim != 4:
        return False
    expected = classifier(features.mean(dim=(2, 3)))
    return bool(torch.allclose(network.forward_head(features), expected, rtol=1e-4, atol=1e-5))


def prepare_input(
    pixels: np.ndarray, lung_mask: np.ndarray | None, preprocessing: Preprocessing | Manifest, turns: int = 0
) -> ModelInput:
    """Turn upright, mask to the lungs, crop to their box, letterbox and normalise.

    Args:
        pixels: the film as stored, float32 in [0, 1].
        lung_mask: its lung mask, or None to classify the whole film.
        preprocessing: the pack's preprocessing (or its whole manifest).
        turns: ``np.rot90`` quarter turns that make the film upright
            (:meth:`rds_core.orientation.UprightTemplate.upright_turns`).
    """
    pre = preprocessing.preprocessing if isinstance(preprocessing, Manifest) else preprocessing
    film_shape = pixels.shape
    turns = int(turns) % 4
    if turns:
        # np.rot90 is exact, so a film stored turned gives the same upright crop and score.
        pixels = np.rot90(pixels, turns)
        lung_mask = None if lung_mask is None else np.rot90(lung_mask, turns)
    height, width = pixels.shape
    if pre.lung_masked and lung_mask is not None and lung_mask.any():
        box = lung_box(lung_mask, pre.crop_margin)
        crop = box.crop(pixels) * box.crop(lung_mask)
    else:
        box = Box(0, height, 0, width)
        crop = pixels
    square, fit = letterbox(crop.astype(np.float32, copy=False), pre.size)
    return ModelInput(pre.to_tensor(square), box, fit, film_shape, turns)


class FoldEnsemble:
    """A loaded, verified classification pack: one network per fold."""

    def __init__(self, pack: str | Path, device: torch.device | str = "cpu", backend: str = "torch") -> None:
        self.pack_dir, self.manifest = open_pack(pack, "classification")
        self.device = torch.device(device)
        self.networks: list[nn.Module] = []
        for name in self.manifest.tensor_files:
            network = load_state(build_network(self.manifest.architecture), self.pack_dir / name, self.manifest.name)
            self.networks.append(network.to(self.device).to(memory_format=torch.channels_last))
        self.cam_from_features = all(has_cam_head(n.eval()) for n in self.networks)
        self.onnx = None  # rds_core.onnx_backend: every fold and its CAM in one ONNX Runtime session
        if backend == "onnx":
            if self.device.type != "cpu" or not self.cam_from_features:
                raise BackendError("--backend onnx runs GAP + linear classifiers on the CPU only.")
            self.onnx = onnx_module(FoldsWithCams(self.networks), self.pack_dir, "classification",
                                    self.manifest.preprocessing.size, torch.get_num_threads())
        elif backend != "torch":
            raise BackendError(f"Unknown backend {backend!r}; use one of {', '.join(BACKENDS)}.")

    @property
    def n_folds(self) -> int:
        return len(self.networks)

    def prepare(self, pixels: np.ndarray, lung_mask: np.ndarray | None, turns: int = 0) -> ModelInput:
        """The fold networks' input for a film (see :func:`prepare_input`)."""
        return prepare_input(pixels, lung_mask, self.manifest.preprocessing, turns)

    def predict(self, model_input: ModelInput, *, with_cam: bool = True) -> FoldOutputs:
        """Run every fold on the same tensor; CAMs come from the same forward pass."""
        return self.predict_batch([model_input], with_cam=with_cam)[0]

    @torch.no_grad()
    def predict_batch(self, inputs: list[ModelInput], *, with_cam: bool = True) -> list[FoldOutputs]:
        """:meth:`predict` for several films, each fold network called once on the whole batch."""
        tensor = torch.cat([i.tensor for i in inputs]).to(self.device).contiguous(memory_format=torch.channels_last)
        if self.onnx is not None:
            fold_logits, fold_cams = self.onnx(tensor)
            probabilities = torch.sigmoid(fold_logits).numpy()
            cam_array = fold_cams.numpy() if with_cam else None
            return [FoldOutputs(probabilities[i], None if cam_array is None else cam_array[i]) for i in range(len(inputs))]
        logits, cams = [], []
        # A plain loop: torch.func.vmap over the stacked fold weights was measured slower
        # here (118 vs 94 ms; no batching rule for aten::as_strided_), see bench/RESULTS.md.
        for network in self.networks:
            features = network.forward_features(tensor)
            logits.append(network.forward_head(features).float()[:, 0])
            if with_cam and self.cam_from_features:
                cams.append(class_activation_map(network, features).float())
        probabilities = torch.sigmoid(torch.stack(logits, dim=1)).cpu().numpy()  # (films, folds)
        cam_array = torch.stack(cams, dim=1).cpu().numpy() if cams else None  # (films, folds, h, w)
        return [FoldOutputs(probabilities[i], None if cam_array is None else cam_array[i]) for i in range(len(inputs))]
