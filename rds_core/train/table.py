"""Read training tables: one CSV, a row per film, paths relative to the CSV's folder.

Column names vary between our ``prepare`` output, the public manifests in
``../shared/data`` and the team's own sheets, so a few aliases are accepted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["ALIASES", "read_table", "patient_split"]

ALIASES: dict[str, tuple[str, ...]] = {
    "image": ("image", "file", "filepath", "path"),
    "mask": ("mask",),
    "patient_id": ("patient_id", "patient", "patientid"),
    "source": ("source", "source_dataset"),
    "fold": ("fold",),
}


def read_table(csv_path: Path, *, label_column: str | None = None, root: Path | None = None) -> pd.DataFrame:
    """Read a CSV, rename aliased columns to canonical names and make paths absolute.

    Args:
        csv_path: the table.
        label_column: column holding the label; copied to ``label`` when given.
        root: folder the paths are relative to (default: the CSV's folder).
    """
    frame = pd.read_csv(csv_path)
    base = root or csv_path.parent
    for canonical, names in ALIASES.items():
        for name in names:
            if name in frame.columns and canonical not in frame.columns:
                frame = frame.rename(columns={name: canonical})
                break
    if "image" not in frame.columns:
        raise ValueError(f"{csv_path.name} has no image column (one of {', '.join(ALIASES['image'])}).")
    frame["image"] = [str((base / p).resolve()) for p in frame["image"]]
    if "mask" in frame.columns:
        frame["mask"] = [str((base / p).resolve()) if isinstance(p, str) and p else "" for p in frame["mask"]]
    if "patient_id" not in frame.columns:
        frame["patient_id"] = [Path(p).stem for p in frame["image"]]
    frame["patient_id"] = frame["patient_id"].astype(str)
    if "source" not in frame.columns:
        frame["source"] = "all"
    if label_column is not None:
        if label_column not in frame.columns:
            raise ValueError(f"{csv_path.name} has no label column '{label_column}'.")
        frame["label"] = frame[label_column]
    return frame


def _unit(seed: int, key: str) -> float:
    """A stable pseudo-random number in [0, 1) for a key (independent of row order)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def patient_split(frame: pd.DataFrame, fractions: dict[str, float], seed: int) -> pd.Series:
    """Assign each row a split name by patient, stratified by ``source``.

    Every patient lands in exactly one split; within each source the patients are ordered
    by a seeded hash and cut by the cumulative fractions.
    """
    names = list(fractions)
    bounds = np.cumsum([fractions[n] for n in names])
    assignment: dict[tuple[str, str], str] = {}
    for source, group in frame.groupby("source"):
        patients = sorted(set(group["patient_id"]), key=lambda p: _unit(seed, p))
        for rank, patient in enumerate(patients):
            position = (rank + 0.5) / len(patients)
            assignment[(source, patient)] = names[int(np.searchsorted(bounds, position * bounds[-1]))]
    return pd.Series([assignment[(s, p)] for s, p in zip(frame["source"], frame["patient_id"])], index=frame.index)
