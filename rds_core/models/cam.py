"""The class activation map of a GAP + linear classifier: one home for its arithmetic.

Used by the fold ensemble (inference), the ONNX export of the folds and the explanation
guidance in training, so the map the app shows, the exported one and the one training shapes
are the same expression.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["class_activation_map"]


def class_activation_map(network: nn.Module, features: torch.Tensor) -> torch.Tensor:
    """``(N, h, w)``: the classifier's weights applied at every feature cell of ``features`` ``(N, C, h, w)``.

    For a GAP + linear head the map's spatial mean plus the bias is the logit, so it equals
    Grad-CAM (:func:`rds_core.classification.has_cam_head` checks the head).
    """
    weight = network.get_classifier().weight[0].to(features.dtype)
    return torch.einsum("c,nchw->nhw", weight, features)
