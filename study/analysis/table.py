"""The tidy table of reads, its checks, and the fully crossed rating array MRMC needs.

Every function of `study.analysis` takes a pandas DataFrame with one row per read
(one reader reading one case in one arm/arm). Columns:

=============  ===========  ===============================================================
column         type         meaning
=============  ===========  ===============================================================
reader         any label    reader ID
arm            any label    study arm (e.g. ``"none"``, ``"score"``); files say ``modality``
case           any label    case ID
truth          0/1          reference standard, 1 = diseased (RDS); constant within a case
rating         number       confidence that disease is present, higher = more likely; on the
                            rating scale (`DEFAULT_SCALE` = 0..100 unless told otherwise)
call           0/1          optional: the reader's binary diagnosis (1 = RDS)
ai_call        0/1          optional: the AI's binary call for the case (agreement, bias)
time_s         number       optional: seconds the reader spent on the case
reader_role    label        optional: e.g. ``"neonatologist"``, ``"radiologist"``
flagged        0/1          optional: the case is an automation-bias case (e.g. the AI hint
                            is wrong by design); analysed separately
=============  ===========  ===============================================================

Labels are sorted (numerically when they are numbers) wherever an order is needed.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from study.analysis.errors import ReadTableError

__all__ = [
    "MRMC_COLUMNS",
    "DEFAULT_SCALE",
    "MrmcData",
    "sorted_labels",
    "label_values",
    "require_columns",
    "binary_column",
    "numeric_column",
    "check_truth",
    "mrmc_data",
]

#: Columns an MRMC analysis needs (also the CSV columns of ``python -m study mrmc``).
MRMC_COLUMNS: tuple[str, ...] = ("reader", "arm", "case", "truth", "rating")

#: Rating scale of the reader study: confidence 0-100. A 5-point scale (1-5) or a
#: probability (0-1) lies inside it too.
DEFAULT_SCALE: tuple[float, float] = (0.0, 100.0)


@dataclass(frozen=True)
class MrmcData:
    """Ratings of a fully crossed study as arrays (every reader read every case in every arm).

    Attributes:
        ratings: float array ``(n_arms, n_readers, n_cases)``.
        truth: bool array ``(n_cases,)``, True = diseased.
        arms: arm labels in array order.
        readers: reader labels in array order.
        cases: case labels in array order.
    """

    ratings: np.ndarray
    truth: np.ndarray
    arms: tuple[Hashable, ...]
    readers: tuple[Hashable, ...]
    cases: tuple[Hashable, ...]

    @property
    def negatives(self) -> np.ndarray:
        """Ratings of the non-diseased cases, ``(arm, reader, m)``."""
        return self.ratings[..., ~self.truth]

    @property
    def positives(self) -> np.ndarray:
        """Ratings of the diseased cases, ``(arm, reader, n)``."""
        return self.ratings[..., self.truth]


def sorted_labels(values: Iterable[Hashable]) -> list[Hashable]:
    """Unique labels in a stable order: natural order, or by their text when types are mixed.

    Args:
        values: labels (numpy scalars are converted to Python values).

    Returns:
        The sorted unique labels.
    """
    series = pd.Series(values if hasattr(values, "dtype") else list(values))
    # tolist() turns numpy scalars into Python values (clean labels, JSON-ready).
    unique = series.drop_duplicates().tolist()
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def label_values(values: pd.Series) -> pd.Series:
    """IDs read as text, as integers only when every one is written as a plain integer.

    ``7`` and ``12`` become numbers (so they sort 7 before 12), but ``007`` next to ``7``, or
    ``1.1`` next to ``1.10``, stay text: read as numbers they would be one case.

    Args:
        values: the column as read from a file (text, or numbers already).

    Returns:
        The labels, as Python ints or as the original text.
    """
    text = values.astype(str)
    stripped = text.str.strip()
    if stripped.str.fullmatch(r"-?(0|[1-9][0-9]*)").all():
        return stripped.astype(int)
    return text


def require_columns(reads: pd.DataFrame, columns: Sequence[str], purpose: str) -> None:
    """Raise `ReadTableError` unless ``reads`` has every column in ``columns``.

    Args:
        reads: the table of reads.
        columns: required column names.
        purpose: what the columns are for, used in the message (e.g. "an MRMC analysis").
    """
    if not isinstance(reads, pd.DataFrame):
        raise ReadTableError(f"{purpose} needs a table of reads (a pandas DataFrame).")
    missing = [c for c in columns if c not in reads.columns]
    if missing:
        raise ReadTableError(
            f"{purpose} needs the column(s) {', '.join(missing)}; the table has "
            f"{', '.join(map(str, reads.columns)) or 'no columns'}."
        )
    if reads.empty:
        raise ReadTableError(f"{purpose} got a table without any reads.")
    for column in columns:
        if reads[column].isna().any():
            row = reads.index[reads[column].isna()][0]
            raise ReadTableError(f"Column {column} is empty in row {row}; every read needs it.")


def _show(value: object) -> str:
    """A cell value as a person would write it: text quoted, numbers plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _describe_row(reads: pd.DataFrame, row: Hashable) -> str:
    parts = [f"{c} {reads.at[row, c]}" for c in ("reader", "arm", "case") if c in reads]
    return ", ".join(parts) if parts else f"row {row}"


def numeric_column(
    reads: pd.DataFrame,
    column: str,
    *,
    scale: tuple[float, float] | None = None,
    allow_minus_inf: bool = False,
) -> pd.Series:
    """The column as finite floats, optionally within ``scale``; else a `ReadTableError`.

    Args:
        reads: the table of reads.
        column: column name.
        scale: inclusive ``(low, high)`` bounds, or None for any finite number.
        allow_minus_inf: accept ``-inf`` too (below every other value, whatever the scale),
            as RJafroc writes for a case the reader did not mark.

    Returns:
        The values as a float Series with the table's index.
    """
    values = pd.to_numeric(reads[column], errors="coerce").astype(float)
    minus_inf = np.isneginf(values.to_numpy()) if allow_minus_inf else np.zeros(len(values), bool)
    bad = ~np.isfinite(values.to_numpy()) & ~minus_inf
    if bad.any():
        row = reads.index[bad][0]
        raise ReadTableError(
            f"The {column} {_show(reads.at[row, column])} ({_describe_row(reads, row)}) is not a "
            "finite number."
        )
    if scale is not None:
        low, high = scale
        outside = ((values < low) | (values > high)).to_numpy() & ~minus_inf
        if outside.any():
            row = reads.index[outside][0]
            raise ReadTableError(
                f"The {column} {values.at[row]:g} ({_describe_row(reads, row)}) is outside the "
                f"scale {low:g} to {high:g}."
            )
    return values


def binary_column(reads: pd.DataFrame, column: str) -> pd.Series:
    """The column as bool, accepting 0/1, True/False; anything else is a `ReadTableError`.

    Args:
        reads: the table of reads.
        column: column name.

    Returns:
        A bool Series with the table's index.
    """
    raw = reads[column]
    values = raw.astype(int) if raw.dtype == bool else pd.to_numeric(raw, errors="coerce")
    bad = ~values.isin([0, 1]).to_numpy()
    if bad.any():
        row = reads.index[bad][0]
        raise ReadTableError(
            f"The {column} {_show(reads.at[row, column])} ({_describe_row(reads, row)}) is not 0 or 1."
        )
    return values.astype(int).astype(bool)


def check_truth(reads: pd.DataFrame) -> pd.Series:
    """Truth per case as bool, after checking it is 0/1 and the same in every read of a case.

    Args:
        reads: the table of reads with columns ``case`` and ``truth``.

    Returns:
        A bool Series indexed by case label.
    """
    truth = binary_column(reads, "truth")
    per_case = truth.groupby(reads["case"], sort=False)
    varying = per_case.nunique()
    if (varying > 1).any():
        case = varying.index[varying > 1][0]
        raise ReadTableError(
            f"Case {case} has truth 0 in some reads and 1 in others; truth must be the same for "
            "every read of a case."
        )
    return per_case.first()


def _select_arms(
    reads: pd.DataFrame, arms: Sequence[Hashable] | None
) -> tuple[pd.DataFrame, tuple[Hashable, ...]]:
    present = sorted_labels(reads["arm"])
    if arms is None:
        if len(present) == 1:
            raise ReadTableError(
                f"The table has only one arm ({present[0]}); an MRMC analysis compares two "
                "or more."
            )
        return reads, tuple(present)
    chosen = tuple(arms)
    if len(chosen) < 2 or len(set(chosen)) != len(chosen):
        raise ReadTableError("Choose at least two different arms to compare.")
    for label in chosen:
        if label not in present:
            raise ReadTableError(
                f"Arm {label} is not in the table (it has {', '.join(map(str, present))})."
            )
    return reads[reads["arm"].isin(chosen)], chosen


def mrmc_data(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    scale: tuple[float, float] | None = DEFAULT_SCALE,
) -> MrmcData:
    """Check a table of reads for an MRMC analysis and turn it into arrays.

    Checks, each with its own message: the columns exist and are filled; ratings are numbers
    within ``scale`` (``-inf``, RJafroc's "not marked", counts as the lowest rating); truth is
    0/1 and constant within a case; no read is duplicated; at least two arms; every
    reader read every case in every arm; at least two diseased and two non-diseased cases
    (the jackknife leaves one out). One reader is allowed (fixed-reader analysis only).

    Args:
        reads: tidy table with `MRMC_COLUMNS` (extra columns are ignored).
        arms: the arms to analyse, in the order of the differences
            (earlier minus later); default: all present, in sorted order.
        scale: inclusive rating bounds, or None to accept any finite number.

    Returns:
        The `MrmcData` arrays.
    """
    require_columns(reads, MRMC_COLUMNS, "An MRMC analysis")
    reads, chosen = _select_arms(reads, arms)
    ratings = numeric_column(reads, "rating", scale=scale, allow_minus_inf=True)
    truth = check_truth(reads)

    duplicated = reads.duplicated(["reader", "arm", "case"])
    if duplicated.any():
        row = reads.index[duplicated.to_numpy()][0]
        raise ReadTableError(
            f"Reader {reads.at[row, 'reader']} read case {reads.at[row, 'case']} in arm "
            f"{reads.at[row, 'arm']} more than once; keep one read per reader, arm and case."
        )
    readers = sorted_labels(reads["reader"])
    arms_per_case = reads.groupby("case", sort=False)["arm"].nunique()
    if (arms_per_case < len(chosen)).any():
        case = arms_per_case.index[arms_per_case < len(chosen)][0]
        read_in = sorted_labels(reads.loc[reads["case"] == case, "arm"])
        raise ReadTableError(
            f"Case {case} was read only in arm {', '.join(map(str, read_in))}; every case must "
            "be read in every arm (fully crossed design)."
        )
    cases = sorted_labels(reads["case"])
    t_idx = pd.Categorical(reads["arm"], categories=list(chosen)).codes
    r_idx = pd.Categorical(reads["reader"], categories=readers).codes
    k_idx = pd.Categorical(reads["case"], categories=cases).codes
    array = np.full((len(chosen), len(readers), len(cases)), np.nan)
    array[t_idx, r_idx, k_idx] = ratings.to_numpy()
    missing = np.argwhere(np.isnan(array))
    if len(missing):
        t, r, k = missing[0]
        raise ReadTableError(
            f"Reader {readers[r]} did not read case {cases[k]} in arm {chosen[t]}; every "
            f"reader must read every case in every arm ({len(missing)} read(s) missing)."
        )
    truth_vector = truth.reindex(cases).to_numpy(dtype=bool)
    for label, count in (("diseased", truth_vector.sum()), ("non-diseased", (~truth_vector).sum())):
        if count < 2:
            raise ReadTableError(
                f"The table has {'no' if count == 0 else 'only one'} {label} case; an MRMC "
                "analysis needs at least two diseased and two non-diseased cases."
            )
    return MrmcData(
        ratings=array,
        truth=truth_vector,
        arms=chosen,
        readers=tuple(readers),
        cases=tuple(cases),
    )
