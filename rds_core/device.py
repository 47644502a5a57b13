"""Choose the torch device: CUDA when present, else CPU."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(requested: str = "auto") -> torch.device:
    """Map ``"auto" | "cpu" | "cuda"`` to a device; asking for CUDA without one is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was requested but no CUDA device is available; use --device cpu or auto.")
    if requested not in ("cpu", "cuda"):
        raise ValueError(f"Unknown device '{requested}'; use auto, cpu or cuda.")
    return torch.device(requested)
