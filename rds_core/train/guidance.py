"""Explanation guidance: train the class activation map to lie on the evidence.

A classifier trained on image labels alone is free to find the evidence anywhere: the v2
rds-demo pack scored simulated RDS well (AUC 0.955 on unseen films) while its CAM peaked
outside the lungs (energy inside the lungs 0.47, pointing game 0.05). On simulated
training films the simulator knows where it painted, so the map can be supervised too.

:func:`energy_loss` is the *energy loss* of Rao, Böhle, Parchami-Araghi & Schiele,
"Studying How to Efficiently and Effectively Guide Models with Explanations" (ICCV 2023):
one minus the share of the positive attribution inside the evidence region, here on the
network's own CAM (the quantity the app shows: CAM == Grad-CAM for a GAP + linear head).
It changes what the model *learns*; the map at inference is still the model's exact CAM,
unclipped, and shows where the model looks also where that is wrong. Only positive
examples are guided (a negative film has no evidence region).

Honesty note (model card): a benchmark of where the map points on *simulated* patterns
measures how well this guidance was learnt, not localisation on real RDS.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rds_core.models.cam import class_activation_map

__all__ = ["LogitsAndCam", "energy_loss", "strip_wrapper"]

_PREFIX = "network."


class LogitsAndCam(nn.Module):
    """Training view of a GAP + linear timm classifier: ``(logits, cam)`` from one forward pass.

    ``cam`` is ``(N, h, w)``: the classifier weights applied at every feature cell, the map
    whose spatial mean plus the bias is the logit.
    """

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.network.forward_features(images)
        logits = self.network.forward_head(features)
        return logits, class_activation_map(self.network, features)


def strip_wrapper(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The plain network's state dict from a :class:`LogitsAndCam` state dict (others unchanged)."""
    return {key.removeprefix(_PREFIX): value for key, value in state.items()}


def energy_loss(cam: torch.Tensor, evidence: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Mean over positive examples of 1 - (positive CAM energy inside the evidence) / (all of it).

    Args:
        cam: ``(N, h, w)`` class activation maps.
        evidence: ``(N, 1, H, W)`` evidence masks in [0, 1] at input resolution (area-pooled
            to the map's cells, so a cell half inside counts half).
        positive: ``(N,)`` labels; only examples with label 1 contribute.

    Returns:
        A scalar in [0, 1]; 0 when the batch has no positive example.
    """
    chosen = positive > 0.5
    if not bool(chosen.any()):
        return cam.sum() * 0.0  # keeps the graph (and DDP's gradient hooks) intact
    region = F.adaptive_avg_pool2d(evidence[chosen].float(), cam.shape[-2:])[:, 0]
    energy = cam[chosen].float().clamp(min=0)
    inside = (energy * region).sum(dim=(1, 2))
    total = energy.sum(dim=(1, 2))
    return (1.0 - inside / (total + 1e-6)).mean()
