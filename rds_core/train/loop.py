"""Pieces shared by the training commands: seeding, CSV log, checkpoints, early stopping."""

from __future__ import annotations

import csv
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["seed_everything", "CsvLog", "EarlyStopping", "save_checkpoint", "load_checkpoint", "to_device_batches"]


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a CPU generator for augmentation/shuffling."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(False)  # CPU kernels used here are deterministic already
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


class CsvLog:
    """Append one row per epoch to a CSV (header written once; survives resume)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: dict[str, Any]) -> None:
        new = not self.path.exists()
        with open(self.path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


@dataclass
class EarlyStopping:
    """Stop when the monitored metric (higher is better) has not improved for ``patience`` epochs."""

    patience: int
    best: float = -float("inf")
    bad_epochs: int = 0

    def update(self, value: float) -> bool:
        """Record a value; True if it is a new best."""
        if value > self.best + 1e-6:
            self.best, self.bad_epochs = value, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.bad_epochs >= self.patience


def save_checkpoint(path: Path, **state: Any) -> None:
    """Atomically write a checkpoint (a cut-off session never leaves a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """Load a checkpoint written by :func:`save_checkpoint`, or None if there is none."""
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def to_device_batches(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    """Index batches over ``n`` items, shuffled when a generator is given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
