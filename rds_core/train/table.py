"""Read training tables: one CSV, a row per film, paths relative to the CSV's folder.

Column names vary between our ``prepare`` output, the public manifests in
``../shared/data`` and the team's own sheets, so a few aliases are accepted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from rds_core.train.labels import patient_of

__all__ = ["ALIASES", "read_table", "patient_split", "normalise_path"]

ALIASES: dict[str, tuple[str, ...]] = {
    "image": ("image", "file", "filepath", "path"),
    "mask": ("mask",),
    "patient_id": ("patient_id", "patient", "patientid"),
    "source": ("source", "source_dataset"),
    "fold": ("fold",),
}


def read_table(csv_path: Path, *, label_column: str | None = None, root: Path | None = None,
               strip_prefix: str = "") -> pd.DataFrame:
    """Read a CSV, rename aliased columns to canonical names and make paths absolute.

    Args:
        csv_path: the table.
        label_column: column holding the label; copied to ``label`` (as text) when given.
        root: folder the paths are relative to (default: the CSV's folder).
        strip_prefix: removed from the start of every path first (sheets written on Windows);
            backslashes are read as ``/``.
    """
    if not csv_path.is_file():
        raise ValueError(f"The table {csv_path} does not exist.")
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = [str(c).strip() for c in frame.columns]
    base = root or csv_path.parent
    for canonical, names in ALIASES.items():
        for name in names:
            if name in frame.columns and canonical not in frame.columns:
                frame = frame.rename(columns={name: canonical})
                break
    if "image" not in frame.columns:
        raise ValueError(f"{csv_path.name} has no image column (one of {', '.join(ALIASES['image'])}).")
    frame["image"] = [str((base / normalise_path(p, strip_prefix)).resolve()) for p in frame["image"]]
    if "mask" in frame.columns:
        frame["mask"] = [str((base / normalise_path(p, strip_prefix)).resolve()) if p.strip() else "" for p in frame["mask"]]
    # The patient: the column, else the DICOM header, else the file name (see rds_core.train.labels).
    column = frame["patient_id"] if "patient_id" in frame.columns else [""] * len(frame)
    found = [patient_of(value, Path(image), image) for value, image in zip(column, frame["image"])]
    frame["patient_id"] = [patient for patient, _ in found]
    frame["patient_source"] = [where for _, where in found]
    if "source" not in frame.columns:
        frame["source"] = "all"
    if label_column is not None:
        if label_column not in frame.columns:
            raise ValueError(f"{csv_path.name} has no label column '{label_column}'.")
        frame["label"] = frame[label_column]
    return frame


def normalise_path(raw: str, strip_prefix: str = "") -> str:
    """Forward slashes (the team's sheets come from Windows), ``strip_prefix`` removed, trimmed."""
    path = raw.strip().replace("\\", "/")
    prefix = strip_prefix.replace("\\", "/")
    return path[len(prefix):].lstrip("/") if prefix and path.startswith(prefix) else path


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
