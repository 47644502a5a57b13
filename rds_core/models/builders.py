"""Build networks from a pack's :class:`Architecture`, and load / save pack weights."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from rds_core.errors import WeightPackError
from rds_core.models.packs import Architecture, Manifest, sha256_file, write_manifest

__all__ = ["build_network", "load_state", "save_pack"]


def build_network(arch: Architecture) -> nn.Module:
    """Build an untrained network for one grey channel, without any hub download.

    Classifiers (timm) have a single output logit for the positive class; U-Nets (smp)
    have a single output channel (lung).
    """
    if arch.library == "timm":
        import timm

        network = timm.create_model(arch.name, pretrained=False, in_chans=1, num_classes=1, **arch.kwargs)
        # timm's default head init scales with 1/sqrt(num_classes): with one output it draws
        # weights in [-1, 1], so a fresh network starts with logits of +-10 and training from
        # scratch first spends epochs undoing that. Start the head near zero instead.
        head = network.get_classifier()
        if isinstance(head, nn.Linear):
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)
        return network
    if arch.library == "smp":
        import segmentation_models_pytorch as smp

        builder = getattr(smp, arch.name, None)
        if builder is None or arch.encoder is None:
            raise WeightPackError(f"Unknown segmentation architecture '{arch.name}' / encoder '{arch.encoder}'.")
        return builder(encoder_name=arch.encoder, encoder_weights=None, in_channels=1, classes=1, **arch.kwargs)
    raise WeightPackError(f"Unknown model library '{arch.library}'; expected 'timm' or 'smp'.")


def load_state(network: nn.Module, path: Path, pack_name: str) -> nn.Module:
    """Load a safetensors state dict into ``network`` (fp16 files are cast up to fp32)."""
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise WeightPackError(f"Tensor file '{path.name}' of pack '{pack_name}' cannot be read ({exc}).") from exc
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise WeightPackError(
            f"Tensor file '{path.name}' does not fit the architecture of pack '{pack_name}' "
            f"({len(missing)} missing, {len(unexpected)} unexpected tensors, e.g. {(missing or unexpected)[:2]})."
        )
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise WeightPackError(
                f"Tensor '{key}' in '{path.name}' of pack '{pack_name}' has shape {tuple(tensor.shape)}, "
                f"the architecture expects {tuple(expected[key].shape)}."
            )
    network.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    return network.eval()


def save_pack(pack_dir: Path, manifest: Manifest, states: dict[str, dict[str, torch.Tensor]], *, fp16: bool = True) -> Manifest:
    """Write tensor files and a manifest whose ``files`` hold their sha256.

    Args:
        pack_dir: destination folder (created).
        manifest: the manifest to write; its ``files`` field is replaced.
        states: tensor file name -> state dict.
        fp16: store floating tensors as float16 (halves the size; integer buffers kept).
    """
    pack_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for name, state in states.items():
        tensors = {
            key: (value.detach().to("cpu").half() if fp16 and value.is_floating_point() else value.detach().to("cpu")).contiguous()
            for key, value in state.items()
        }
        path = pack_dir / name
        save_file(tensors, str(path))
        files[name] = sha256_file(path)
    final = dataclasses.replace(manifest, files=files)
    write_manifest(pack_dir, final)
    return final
