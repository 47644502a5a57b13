"""Where a training run starts from, and on which device it runs.

A network starts from random weights (default), from the hub's ImageNet weights
(``--pretrained``: timm / smp download them; offline that is refused in one sentence),
from a local timm/torchvision checkpoint adapted to one grey channel (``--init-weights
FILE``), or from a weight pack (``--init-from PACK``, e.g. fine-tuning the shipped
lung-seg on neonatal masks). Model names are checked before any data is read.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from rds_core.models.builders import build_network
from rds_core.models.packs import Architecture, open_pack

__all__ = ["StartError", "training_device", "check_architecture", "start_network", "autocast_factory", "adapt_state", "require_hub"]


class StartError(ValueError):
    """The requested start (model name, weights, device) cannot be used; the message says why."""


def training_device(requested: str) -> torch.device:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` -> a device that exists."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as err:
        raise StartError(f"Unknown device '{requested}'; use auto, cpu, cuda or cuda:N.") from err
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0:
            raise StartError(f"--device {requested}: no CUDA device is available; use --device cpu or auto.")
        if device.index is not None and device.index >= count:
            raise StartError(f"--device {requested}: only {count} CUDA device(s) here (cuda:0 .. cuda:{count - 1}).")
    elif device.type != "cpu":
        raise StartError(f"Unknown device '{requested}'; use auto, cpu, cuda or cuda:N.")
    return device


def autocast_factory(device: torch.device) -> tuple[Callable[[], contextlib.AbstractContextManager], torch.amp.GradScaler | None]:
    """Mixed precision on CUDA (bf16 where supported, else fp16 with a gradient scaler); none on CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext, None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


def check_architecture(architecture: Architecture) -> None:
    """Refuse an unknown timm model or smp architecture/encoder before training starts."""
    import timm

    def known_timm(name: str) -> bool:
        return name.startswith("hf-hub:") or timm.is_model(name)

    if architecture.library == "timm":
        if not known_timm(architecture.name):
            close = timm.list_models(f"*{architecture.name.split('_')[0]}*")[:5]
            raise StartError(f"'{architecture.name}' is not a timm model" + (f" (close: {', '.join(close)})." if close else "."))
        return
    import segmentation_models_pytorch as smp

    if getattr(smp, architecture.name, None) is None:
        raise StartError(f"'{architecture.name}' is not a segmentation_models_pytorch architecture (e.g. Unet, UnetPlusPlus, FPN).")
    encoder = architecture.encoder or ""
    if encoder.startswith("tu-"):
        if not known_timm(encoder[3:]):
            raise StartError(f"Encoder '{encoder}': '{encoder[3:]}' is not a timm model.")
    elif encoder not in smp.encoders.get_encoder_names():
        raise StartError(f"'{encoder}' is not an smp encoder (use one of smp's names or tu-<timm model>).")


def start_network(architecture: Architecture, *, pretrained: bool = False, init_weights: Path | None = None,
                  init_from: str | None = None, fold_file: str | None = None) -> tuple[nn.Module, str]:
    """Build the network and load its starting weights; return it and a one-line description.

    Args:
        architecture: what to build (one grey channel in, one logit/channel out).
        pretrained: the hub's ImageNet weights (needs internet).
        init_weights: a local timm / torchvision checkpoint (``.pth``, ``.pt``, ``.bin`` or ``.safetensors``).
        init_from: a weight pack (name or folder) of the same architecture.
        fold_file: which tensor file of ``init_from`` to take (default: the first).

    Raises:
        StartError: offline hub request, unreadable file, or nothing in it fits the network.
    """
    if sum(bool(x) for x in (pretrained, init_weights, init_from)) > 1:
        raise StartError("Choose one of --pretrained, --init-weights and --init-from.")
    if pretrained:
        return _hub_network(architecture), "ImageNet weights from the hub"
    network = build_network(architecture)
    if init_weights:
        loaded = _load_file(Path(init_weights))
        used = adapt_state(network, loaded)
        return network, f"{init_weights} ({used} of {len(network.state_dict())} tensors)"
    if init_from:
        from safetensors.torch import load_file

        pack_dir, manifest = open_pack(init_from, "segmentation" if architecture.library == "smp" else "classification")
        if (manifest.architecture.library, manifest.architecture.name, manifest.architecture.encoder) != (
                architecture.library, architecture.name, architecture.encoder):
            raise StartError(f"--init-from {init_from} is a {manifest.architecture.name} {manifest.architecture.encoder or ''} "
                             f"pack; this run builds {architecture.name} {architecture.encoder or ''}.")
        name = fold_file if fold_file in manifest.files else sorted(manifest.files)[0]
        used = adapt_state(network, load_file(str(pack_dir / name)))
        return network, f"pack {manifest.name} {manifest.version} ({name}, {used} tensors)"
    return network, "random weights"


def require_hub() -> None:
    """Refuse ``--pretrained`` at once when downloads are switched off (before any data is read)."""
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0"):
        raise StartError("--pretrained needs to download weights but HF_HUB_OFFLINE is set; unset it on a machine "
                         "with internet, or download the checkpoint once and pass --init-weights FILE.")


def _hub_network(architecture: Architecture) -> nn.Module:
    require_hub()
    try:
        if architecture.library == "timm":
            import timm

            return timm.create_model(architecture.name, pretrained=True, in_chans=1, num_classes=1, **architecture.kwargs)
        import segmentation_models_pytorch as smp

        return getattr(smp, architecture.name)(encoder_name=architecture.encoder, encoder_weights="imagenet",
                                               in_channels=1, classes=1, **architecture.kwargs)
    except Exception as err:  # noqa: BLE001 - download errors come in many types; one sentence for all
        raise StartError(f"--pretrained: the weights could not be fetched ({type(err).__name__}: {err}); "
                         "without internet use --init-weights FILE.") from err


def _load_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise StartError(f"--init-weights {path}: no such file.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001
        raise StartError(f"--init-weights {path} could not be read ({type(err).__name__}: {err}).") from err
    for key in ("state_dict", "model", "model_state_dict"):  # training checkpoints nest the weights
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise StartError(f"--init-weights {path} holds no state dict.")
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def adapt_state(network: nn.Module, state: dict[str, torch.Tensor]) -> int:
    """Load the tensors of ``state`` that fit ``network``; return how many were loaded.

    RGB stem convolutions (``out, 3, k, k``) are summed over colour to one grey channel,
    as timm does for ``in_chans=1``; heads of another size (1000 ImageNet classes) are
    skipped. Keys may carry an ``encoder.`` / ``model.`` prefix or lack one.
    """
    target = network.state_dict()
    taken: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for candidate in (key, f"encoder.model.{key}", f"encoder.{key}", key.removeprefix("encoder."), key.removeprefix("model.")):
            if candidate not in target or candidate in taken:
                continue
            want = target[candidate]
            if value.ndim == 4 and want.ndim == 4 and value.shape[1] == 3 and want.shape[1] == 1 and value.shape[0] == want.shape[0]:
                value = value.sum(dim=1, keepdim=True)
            if tuple(value.shape) == tuple(want.shape):
                taken[candidate] = value.to(want.dtype)
                break
    if not taken:
        raise StartError("None of the checkpoint's tensors fit this network; is it the same model name?")
    network.load_state_dict(taken, strict=False)
    return len(taken)
