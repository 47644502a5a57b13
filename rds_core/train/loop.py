"""The training loop shared by ``seg`` and ``cls``, and its pieces: seeding, logs, checkpoints, early stopping.

:func:`fit` runs epochs of shuffled mini-batches (AdamW, one-cycle learning rate, mixed
precision on CUDA), scores the model after each epoch with a caller-given function
(higher is better), keeps the best weights, checkpoints every epoch so a cut-off run
resumes, and logs to a CSV (and TensorBoard when installed) beside each other.
With ``torchrun`` each process trains on its share of every epoch (DistributedSampler
semantics) and only rank 0 writes.
"""

from __future__ import annotations

import csv
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

__all__ = ["seed_everything", "CsvLog", "EarlyStopping", "save_checkpoint", "load_checkpoint", "to_device_batches",
           "one_cycle", "FitSettings", "fit", "progress", "Distributed"]


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


def progress(iterable: Any, **kwargs: Any) -> Any:
    """tqdm on stderr, silent when stderr is not a terminal (no bar noise in redirected logs)."""
    return tqdm(iterable, file=sys.stderr, disable=None, leave=False, **kwargs)


def one_cycle(optimizer: torch.optim.Optimizer, lr: float, total_steps: int, pct_start: float) -> torch.optim.lr_scheduler.OneCycleLR:
    """One-cycle schedule that also works for a handful of steps.

    torch divides by ``pct_start * total_steps - 1`` (and by the rest), so a warm-up of one
    step or less raises ZeroDivisionError (seg with epochs x batches = 10); keep both
    phases at least two steps long.
    """
    total_steps = max(int(total_steps), 4)
    pct = min(max(pct_start, 2.0 / total_steps), 1.0 - 2.0 / total_steps)
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps, pct_start=pct)


@dataclass(frozen=True)
class Distributed:
    """This process's place in a ``torchrun`` job (rank 0 of 1 without one)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_environment(cls) -> "Distributed":
        """Read ``RANK`` / ``WORLD_SIZE`` (set by torchrun) and join the process group."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        """This rank's batches: every ``world``-th, equal counts on all ranks (as DistributedSampler pads)."""
        if self.world == 1:
            return batches
        per_rank = -(-len(batches) // self.world)
        padded = (batches * (per_rank * self.world // max(len(batches), 1) + 1))[: per_rank * self.world]
        return padded[self.rank :: self.world]


@dataclass
class FitSettings:
    """Optimisation settings of one :func:`fit` call."""

    epochs: int
    batch: int
    lr: float
    patience: int
    pct_start: float = 0.15
    weight_decay: float = 1e-4
    label: str = ""  # printed and logged, e.g. "fold 2"
    log_fields: dict[str, Any] = field(default_factory=dict)  # constant columns of the CSV log, e.g. {"fold": 2}


def fit(
    network: nn.Module,
    n_train: int,
    batch_of: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    loss_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    score: Callable[[nn.Module], float],
    settings: FitSettings,
    *,
    device: torch.device,
    generator: torch.Generator,
    checkpoint: Path,
    log: CsvLog,
    resume: bool = False,
    distributed: Distributed = Distributed(),
    tensorboard: Any = None,
) -> tuple[dict[str, torch.Tensor], EarlyStopping]:
    """Train ``network`` in place; return its best state (on CPU) and the early-stopping record.

    Args:
        network: the model, already on ``device`` (wrapped in DistributedDataParallel by the caller under torchrun).
        n_train: number of training items; batches are index tensors into them.
        batch_of: index tensor -> (inputs, targets) on ``device``, augmented.
        loss_of: (network output, targets) -> scalar loss; a tensor output arrives as float32,
            any other (e.g. a (logits, cam) tuple) as the network returned it.
        score: the model -> validation metric, higher is better (early stopping, best weights).
        settings: epochs, batch size, learning rate, patience...
        device: where training runs; CUDA enables autocast mixed precision.
        generator: seeded CPU generator for shuffling (same on every rank).
        checkpoint: resumable state file, rewritten each epoch (by rank 0).
        log: the CSV log (rank 0 writes).
        resume: continue from ``checkpoint`` when it exists.
        distributed: this process's rank and world size.
        tensorboard: a ``SummaryWriter`` or None.
    """
    from rds_core.train.starts import autocast_factory

    optimizer = torch.optim.AdamW(network.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    per_epoch = -(-n_train // settings.batch)
    per_rank = -(-per_epoch // distributed.world)
    scheduler = one_cycle(optimizer, settings.lr, settings.epochs * per_rank, settings.pct_start)
    autocast, scaler = autocast_factory(device)
    stopper, best_state, start_epoch = EarlyStopping(settings.patience), None, 0
    if resume and (state := load_checkpoint(checkpoint)) is not None:
        _unwrap(network).load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        stopper, best_state, start_epoch = state["stopper"], state["best_state"], state["epoch"] + 1
        print(f"{settings.label or 'training'}: resumed at epoch {start_epoch + 1}", flush=True)
    for epoch in range(start_epoch, settings.epochs):
        if stopper.should_stop:
            break
        network.train()
        tick, losses = time.time(), []
        batches = distributed.shard(to_device_batches(n_train, settings.batch, generator))
        for index in progress(batches, desc=f"{settings.label} epoch {epoch + 1}/{settings.epochs}".strip()):
            inputs, targets = batch_of(index)
            with autocast():
                outputs = network(inputs)
                loss = loss_of(outputs.float() if torch.is_tensor(outputs) else outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        value = float(score(_unwrap(network)))
        improved = stopper.update(value)
        if improved:
            best_state = {k: v.detach().cpu().clone() for k, v in _unwrap(network).state_dict().items()}
        if not distributed.is_main:
            continue
        row = {**settings.log_fields, "epoch": epoch + 1, "train_loss": float(np.mean(losses)), "val_score": value,
               "lr": float(scheduler.get_last_lr()[0]), "seconds": time.time() - tick, "best": improved}
        log.write(row)
        if tensorboard is not None:
            prefix = f"{settings.label.replace(' ', '')}/" if settings.label else ""
            for key in ("train_loss", "val_score", "lr"):
                tensorboard.add_scalar(prefix + key, row[key], epoch + 1)
            tensorboard.flush()
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        save_checkpoint(checkpoint, model=_unwrap(network).state_dict(), optimizer=optimizer.state_dict(),
                        scheduler=scheduler.state_dict(), generator=generator.get_state(), stopper=stopper,
                        best_state=best_state, epoch=epoch)
    if best_state is None:
        raise RuntimeError(f"{settings.label or 'training'}: no epoch finished (--epochs {settings.epochs}).")
    return best_state, stopper


def _unwrap(network: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return network.module if hasattr(network, "module") else network


def tensorboard_writer(folder: Path, enabled: bool = True) -> Any:
    """A TensorBoard ``SummaryWriter`` on ``folder`` (beside the CSV log), or None if tensorboard is absent."""
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(folder))
