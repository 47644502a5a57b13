"""The run folder of a training command: what it was started with, and whether a resume may use it.

``run.json`` stores the arguments that shape the result and a hash of the data. ``--resume``
reuses cached examples and checkpoints only when both match; anything else (another
``--size``, other folds, an edited table or film) is refused with the differing keys, so a
resumed run can never mix two experiments. Also here: strict JSON (no NaN) and file modes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["RunMismatch", "IGNORED_ARGUMENTS", "run_arguments", "data_hash", "prepare_run_folder", "strict_json", "write_json", "publish", "git_commit"]

#: Options that change speed, output place or wording, never the trained weights.
IGNORED_ARGUMENTS = frozenset({"resume", "threads", "device", "run_dir", "out", "name", "version", "training_data",
                               "finalize", "workers", "command", "tensorboard"})


class RunMismatch(ValueError):
    """``--resume`` was asked for a run folder made with other arguments or other data."""


def run_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments that shape the result, JSON-ready (paths as strings)."""
    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return {k: plain(v) for k, v in sorted(vars(args).items()) if k not in IGNORED_ARGUMENTS and not callable(v)}


def data_hash(frame: pd.DataFrame, columns: Iterable[str], file_columns: Iterable[str] = ("image", "mask")) -> str:
    """sha256 of the table's ``columns`` plus the size and modification time of every file it names.

    File contents are not read (a team's set is gigabytes); size + mtime catch a replaced film.
    """
    digest = hashlib.sha256()
    present = [c for c in columns if c in frame.columns]
    digest.update(frame[present].astype(str).to_csv(index=False).encode())
    for column in file_columns:
        if column not in frame.columns:
            continue
        for value in frame[column].tolist():
            # pandas 3 keeps a missing cell as NaN even after astype(str): no path, no stat
            path = value if isinstance(value, str) else ""
            try:
                stat = os.stat(path) if path else None
            except OSError:
                stat = None
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode() if stat else f"{path}:-\n".encode())
    return digest.hexdigest()[:16]


def prepare_run_folder(run_dir: Path, arguments: dict[str, Any], digest: str, *, resume: bool, stale: Iterable[str]) -> None:
    """Check (``resume``) or start (no ``resume``) a run folder.

    Args:
        run_dir: the folder (created).
        arguments: :func:`run_arguments` of this run.
        digest: :func:`data_hash` of this run's data.
        resume: continue an earlier run; it must have the same arguments and data.
        stale: glob patterns of files an earlier run left (checkpoints, caches, logs),
            deleted when starting afresh so nothing of another run is picked up.

    Raises:
        RunMismatch: ``resume`` and the folder was made by another run (the sentence names the keys).
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    record_path = run_dir / "run.json"
    record = {"arguments": arguments, "data_hash": digest}
    if resume:
        if not record_path.exists():
            raise RunMismatch(f"{run_dir} has no run.json, so it cannot be checked against this run; start without --resume.")
        old = json.loads(record_path.read_text(encoding="utf-8"))
        changed = sorted(k for k in set(old.get("arguments", {})) | set(arguments)
                         if old.get("arguments", {}).get(k) != arguments.get(k))
        if old.get("data_hash") != digest:
            changed.append("data (the table or its files changed)")
        if changed:
            raise RunMismatch(f"--resume refused: {run_dir} was made with other settings ({', '.join(changed)}); "
                              "rerun without --resume or with the original settings.")
        return
    for pattern in stale:
        for path in run_dir.glob(pattern):
            path.unlink()
    write_json(record_path, record)


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None, numpy scalars made plain (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, value: Any) -> None:
    """Write strict JSON (``allow_nan=False`` after :func:`strict_json`), mode 0644."""
    path.write_text(json.dumps(strict_json(value), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    path.chmod(0o644)


def publish(folder: Path) -> None:
    """Make ``folder`` and its sub-folders 0755 and every file in it 0644: packs are shared, umask 077 must not hide them."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)


def git_commit() -> str:
    """The project's git commit (``+dirty`` with local changes), or ``""`` outside a checkout."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{commit}+dirty" if commit and dirty else commit
