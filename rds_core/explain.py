"""Explanations for a fold ensemble: per-fold Grad-CAM, a fused map, agreement, and
how much of each map falls inside the lungs.

Why no backward pass: for a network whose head is global average pooling followed by one
linear layer, the Grad-CAM weights at the last convolutional layer are the linear weights
divided by the number of positions, so Grad-CAM equals the class activation map (CAM,
Zhou et al. 2016) up to a positive factor that min-max normalisation removes (Selvaraju
et al. 2017, "Grad-CAM", section 3.1). ``tests/test_explain.py`` checks this against
``pytorch_grad_cam.GradCAM``; networks with other heads go through pytorch_grad_cam.

Fusion (how to show one explanation for an ensemble, the question the source work
raised): each fold map is ReLU'd, upsampled to the film and min-max normalised; the fused
map is their mean, optionally weighted by each fold's probability. The agreement map is
the fraction of folds whose normalised map exceeds ``agreement_level`` at each pixel, and
the spread map is their standard deviation. A shared-scale view divides every fold's raw
map by the largest value over all folds, so a fold with weak evidence looks weak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rds_core.classification import ModelInput

__all__ = ["CamSet", "build_cam_set", "energy_inside", "minmax", "gradcam_maps"]


@dataclass
class CamSet:
    """All maps at one (display) resolution, values in [0, 1]."""

    per_fold: np.ndarray  # (folds, H, W), each min-max normalised
    shared_scale: np.ndarray  # (folds, H, W), divided by the maximum over all folds
    fused: np.ndarray  # (H, W) mean of per_fold (weighted when asked)
    agreement: np.ndarray  # (H, W) fraction of folds above agreement_level
    spread: np.ndarray  # (H, W) standard deviation over folds
    in_lung_folds: list[float]  # fraction of each fold's CAM energy inside the lung mask
    in_lung_fused: float
    agreement_level: float = 0.5


def minmax(cam: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] as pytorch_grad_cam does; a flat map becomes zeros."""
    low, high = float(cam.min()), float(cam.max())
    if high - low < 1e-12:
        return np.zeros_like(cam, dtype=np.float32)
    return ((cam - low) / (high - low)).astype(np.float32)


def energy_inside(cam: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of the map's total (non-negative) energy that lies inside ``mask``."""
    total = float(cam.sum())
    return float(cam[mask].sum()) / total if total > 0 else 0.0


def _upsample(cams: np.ndarray, size: int) -> np.ndarray:
    """Bilinear upsampling of (folds, h, w) feature maps to the model input size."""
    tensor = torch.from_numpy(np.ascontiguousarray(cams, dtype=np.float32))[:, None]
    return torch.nn.functional.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False)[:, 0].numpy()


def build_cam_set(
    raw_cams: np.ndarray,
    model_input: ModelInput,
    display_shape: tuple[int, int],
    lung_mask_display: np.ndarray,
    *,
    fold_probabilities: np.ndarray | None = None,
    agreement_level: float = 0.5,
) -> CamSet:
    """Fuse per-fold raw maps into the maps a page shows.

    Args:
        raw_cams: (folds, h, w) class activation maps (any scale, may be negative), or maps
            already at model input size.
        model_input: how model space maps onto the film (lung crop + letterbox).
        display_shape: (height, width) of the display copy of the film.
        lung_mask_display: bool lung mask at display_shape.
        fold_probabilities: when given, the fused map is weighted by them.
        agreement_level: threshold on normalised maps for the agreement map.
    """
    positive = np.maximum(raw_cams, 0.0)
    squares = _upsample(positive, model_input.letterbox.size)
    on_film = np.stack([model_input.to_film(square, display_shape) for square in squares])
    per_fold = np.stack([minmax(m) for m in on_film])
    peak = float(on_film.max())
    shared = (on_film / peak).astype(np.float32) if peak > 1e-12 else np.zeros_like(on_film)
    weights = None if fold_probabilities is None else np.asarray(fold_probabilities, dtype=np.float64)
    if weights is not None and weights.sum() <= 1e-9:
        weights = None
    fused = np.average(per_fold, axis=0, weights=weights).astype(np.float32)
    agreement = (per_fold >= agreement_level).mean(axis=0).astype(np.float32)
    spread = per_fold.std(axis=0).astype(np.float32)
    return CamSet(
        per_fold=per_fold,
        shared_scale=shared,
        fused=fused,
        agreement=agreement,
        spread=spread,
        in_lung_folds=[energy_inside(m, lung_mask_display) for m in per_fold],
        in_lung_fused=energy_inside(fused, lung_mask_display),
        agreement_level=agreement_level,
    )


def gradcam_maps(networks: list[nn.Module], tensor: torch.Tensor) -> np.ndarray:
    """Grad-CAM of the positive logit per network with pytorch_grad_cam, at input size.

    Used for networks whose head is not pooling + linear, as the reference in tests, and as
    the naive baseline in ``bench/latency.py``. Each CAM object is a context manager so its
    hooks are released before the next fold.
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    maps = []
    for network in networks:
        with GradCAM(model=network, target_layers=[_last_feature_layer(network)]) as cam:
            maps.append(cam(input_tensor=tensor, targets=[ClassifierOutputTarget(0)])[0])
    return np.stack(maps).astype(np.float32)


def _last_feature_layer(network: nn.Module) -> nn.Module:
    """The module whose output is ``forward_features`` (timm naming)."""
    for name in ("bn2", "norm", "final_conv", "features", "layer4", "stages", "conv_head"):
        module = getattr(network, name, None)
        if isinstance(module, nn.Module) and not isinstance(module, nn.Identity):
            return module
    return list(network.children())[-3]
