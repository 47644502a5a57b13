"""Batch augmentation in torch for radiographs (applied on the training device).

Neonatal reality drives the choice: films rotated by 90/180/270 degrees and by small
angles, mirrored, with varying exposure (contrast, gamma), quantum noise and blur.
Geometric transforms are applied identically to the image and, when given, its mask.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["augment_batch"]


def augment_batch(
    images: torch.Tensor,
    masks: torch.Tensor | None,
    generator: torch.Generator,
    *,
    right_angles: bool = True,
    max_angle: float = 12.0,
    max_scale: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Augment a batch of [0, 1] images (N, 1, H, W) and optional masks.

    Args:
        images: grey films in [0, 1].
        masks: matching masks in {0, 1}, or None.
        generator: seeded torch generator (CPU) for reproducibility.
        right_angles: also rotate by a random multiple of 90 degrees.
        max_angle: small extra rotation, degrees.
        max_scale: random zoom in [1 - s, 1 + s].
    """
    n = images.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator) * (high - low) + low

    angle = uniform(-max_angle, max_angle) * math.pi / 180
    if right_angles:
        angle = angle + torch.randint(0, 4, (n,), generator=generator) * (math.pi / 2)
    scale = uniform(1 - max_scale, 1 + max_scale)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2, generator=generator) - 0.5) * 0.1
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    ).to(images)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if masks is not None:
        masks = (F.grid_sample(masks, grid, mode="bilinear", padding_mode="zeros", align_corners=False) > 0.5).to(masks)

    # Photometric: gamma, contrast/brightness, blur or noise (independent per film).
    gamma = torch.exp(uniform(-0.35, 0.35)).view(n, 1, 1, 1).to(images)
    images = images.clamp(0, 1) ** gamma
    contrast = uniform(0.75, 1.25).view(n, 1, 1, 1).to(images)
    brightness = uniform(-0.08, 0.08).view(n, 1, 1, 1).to(images)
    mean = images.mean(dim=(2, 3), keepdim=True)
    images = (images - mean) * contrast + mean + brightness
    blur = torch.rand(n, generator=generator) < 0.25
    if blur.any():
        kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]).to(images)
        kernel = (kernel[:, None] * kernel[None, :]) / 256.0
        blurred = F.conv2d(F.pad(images, (2, 2, 2, 2), mode="replicate"), kernel[None, None])
        images = torch.where(blur.view(n, 1, 1, 1).to(images.device), blurred, images)
    noise_level = uniform(0.0, 0.03).view(n, 1, 1, 1).to(images)
    if images.device.type == "cpu":
        noise = torch.randn(images.shape, generator=generator)
    else:  # drawn on the device (a CPU draw + copy per batch would stall the GPU); seeded by seed_everything
        noise = torch.randn(images.shape, device=images.device, dtype=images.dtype)
    images = (images + noise * noise_level).clamp(0, 1)
    return images, masks
