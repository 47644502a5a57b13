"""Randomly initialised packs: for tests and for trying the pipeline before training.

They exercise exactly the code path of a trained pack (manifest, sha256, safetensors,
preprocessing) but their outputs mean nothing, and their manifests say so.
"""

from __future__ import annotations

from pathlib import Path

import torch

from rds_core.models.builders import build_network, save_pack
from rds_core.models.packs import Architecture, Manifest, PostProcessing, Preprocessing

__all__ = ["write_random_classifier_pack", "write_random_segmentation_pack"]

RANDOM_NOTICE = "Randomly initialised weights for testing; outputs are meaningless."


def write_random_classifier_pack(
    pack_dir: Path,
    *,
    model: str = "resnet10t",
    size: int = 64,
    folds: int = 5,
    seed: int = 0,
    threshold: float = 0.5,
    model_kwargs: dict | None = None,
) -> Manifest:
    """Write a classification pack of ``folds`` random timm models (``model_kwargs`` go to timm)."""
    architecture = Architecture("timm", model, kwargs=dict(model_kwargs or {}))
    states = {}
    for fold in range(folds):
        torch.manual_seed(seed + fold)
        states[f"fold{fold}.safetensors"] = build_network(architecture).state_dict()
    manifest = Manifest(
        name=pack_dir.name, version="0.0.0-random", task="classification", class_names=("non-RDS", "RDS"),
        architecture=architecture, preprocessing=Preprocessing(size=size, lung_masked=True), files={},
        threshold=threshold, training_data="none (random initialisation)", notice=RANDOM_NOTICE,
    )
    return save_pack(pack_dir, manifest, states, fp16=False)


def write_random_segmentation_pack(
    pack_dir: Path, *, encoder: str = "resnet18", size: int = 64, seed: int = 0, postprocessing: dict | None = None
) -> Manifest:
    """Write a segmentation pack with a random smp U-Net (small decoder)."""
    architecture = Architecture("smp", "Unet", encoder, {"decoder_channels": [32, 16, 8, 8, 8]})
    torch.manual_seed(seed)
    manifest = Manifest(
        name=pack_dir.name, version="0.0.0-random", task="segmentation", class_names=("background", "lung"),
        architecture=architecture, preprocessing=Preprocessing(size=size), files={},
        training_data="none (random initialisation)", notice=RANDOM_NOTICE, postprocessing=PostProcessing.from_dict(postprocessing or {}, pack_dir.name),
    )
    return save_pack(pack_dir, manifest, {"model.safetensors": build_network(architecture).state_dict()}, fp16=False)
