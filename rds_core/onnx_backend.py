"""ONNX Runtime as a CPU backend for the fold ensemble and the lung U-Net (``--backend onnx``).

On this project's 2-core CPU, ONNX Runtime runs the five EfficientNet-B0 folds about 2.2x and
the U-Net about 1.4x faster than eager PyTorch (``bench/RESULTS.md``). The PyTorch modules stay
the source of truth: each is exported once (``torch.onnx.export``, dynamo, dynamic batch) to
a cache keyed by the pack's own sha256 file hashes and the software versions, and the runtime
session replaces only the forward pass - pre- and post-processing, rotation averaging and
the CAM arithmetic are the same code. A parity test (``tests/test_onnx_backend.py``) checks
that both backends give the same analysis.

Cache: ``$RDS_ONNX_CACHE`` or ``~/.cache/rds_core/onnx``; a file is written to a temporary name
and renamed, so two processes exporting at once cannot leave a half-written model. The first
use of a pack costs its export (10-30 s here); later processes load the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rds_core.models.cam import class_activation_map

__all__ = ["BACKENDS", "BackendError", "cache_dir", "OnnxModule", "FoldsWithCams", "onnx_module"]

BACKENDS = ("torch", "onnx")


class BackendError(RuntimeError):
    """The ONNX backend cannot be used (package missing, export failed)."""


def cache_dir() -> Path:
    """Where exported models are kept (``$RDS_ONNX_CACHE`` or ``~/.cache/rds_core/onnx``)."""
    return Path(os.environ.get("RDS_ONNX_CACHE") or Path.home() / ".cache" / "rds_core" / "onnx")


class FoldsWithCams(nn.Module):
    """Every fold network of a GAP + linear classifier in one graph: ``(logits (N, F), cams (N, F, h, w))``."""

    def __init__(self, networks: Sequence[nn.Module]) -> None:
        super().__init__()
        self.networks = nn.ModuleList(networks)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, cams = [], []
        for network in self.networks:
            features = network.forward_features(images)
            logits.append(network.forward_head(features)[:, 0])
            cams.append(class_activation_map(network, features))
        return torch.stack(logits, dim=1), torch.stack(cams, dim=1)


class OnnxModule:
    """An ONNX Runtime session called like the module it was exported from (torch in, torch out)."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        # Several sessions in one process spin-wait on each other's threads otherwise (3x slower here).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.path = path

    def __call__(self, images: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        array = np.ascontiguousarray(images.detach().float().cpu().numpy())
        outputs = [torch.from_numpy(out) for out in self.session.run(None, {self.input_name: array})]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _key(pack_dir: Path, kind: str, size: int) -> str:
    """Cache key: the pack's file hashes and architecture, the input size and the software versions."""
    import onnxruntime

    manifest = json.loads((pack_dir / "manifest.json").read_text(encoding="utf-8"))
    facts = {"files": manifest.get("files"), "architecture": manifest.get("architecture"), "kind": kind,
             "size": size, "torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "format": 1}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:24]


def onnx_module(module: nn.Module, pack_dir: Path, kind: str, size: int, threads: int) -> OnnxModule:
    """The ONNX Runtime twin of ``module`` (exported on first use, then read from the cache).

    Args:
        module: the PyTorch module (eval mode, on the CPU), taking (N, 1, size, size).
        pack_dir: the pack it comes from (its manifest keys the cache).
        kind: ``segmentation`` or ``classification`` (part of the key).
        size: the input side in pixels.
        threads: intra-op threads of the session.

    Raises:
        BackendError: onnxruntime is not installed or the export failed.
    """
    try:
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise BackendError("--backend onnx needs the onnxruntime package (pip install onnxruntime onnx onnxscript).") from err
    target = cache_dir() / f"{kind}-{_key(pack_dir, kind, size)}.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        example = torch.zeros(2, 1, size, size)
        handle, temporary = tempfile.mkstemp(suffix=".onnx", dir=target.parent)
        os.close(handle)
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                batch = torch.export.Dim("batch", min=1, max=1024)
                torch.onnx.export(module.eval(), (example,), temporary, dynamo=True,
                                  dynamic_shapes=({0: batch},), external_data=False, verbose=False)
            os.replace(temporary, target)
        except Exception as err:  # noqa: BLE001 - one clear line for any exporter failure
            Path(temporary).unlink(missing_ok=True)
            raise BackendError(f"Exporting {pack_dir.name} to ONNX failed ({type(err).__name__}: {err}).") from err
    return OnnxModule(target, threads)
