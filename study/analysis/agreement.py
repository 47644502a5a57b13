"""Agreement: readers with the AI, and readers with each other (Cohen's and Fleiss' kappa).

Input: the tidy table of `study.analysis.table` with columns reader, arm, case and call
(the reader's binary diagnosis); ``ai_agreement`` also needs ai_call (the AI's binary call
for the case) and uses truth when present.

References:
    Cohen J (1960). A coefficient of agreement for nominal scales. Educ Psychol Meas 20:37-46.
    Fleiss JL (1971). Measuring nominal scale agreement among many raters. Psychol Bull
    76:378-382.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from study.analysis.errors import ReadTableError
from study.analysis.intervals import wilson_interval
from study.analysis.table import binary_column, require_columns, sorted_labels

__all__ = [
    "cohen_kappa",
    "fleiss_kappa",
    "ai_agreement",
    "pairwise_kappa",
    "fleiss_kappa_by_arm",
]


def cohen_kappa(first: np.ndarray, second: np.ndarray) -> float:
    """Cohen's kappa of two raters on the same items (any categories).

    Args:
        first: one rater's category per item.
        second: the other rater's category per item, same length.

    Returns:
        ``(p_o - p_e) / (1 - p_e)``; NaN when chance agreement is 1 (both raters gave one and
        the same category to every item) or there are no items.

    Example:
        >>> cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0])
        0.5
    """
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape:
        raise ValueError("Both raters need a rating for the same items.")
    if first.size == 0:
        return float("nan")
    observed = float(np.mean(first == second))
    categories = np.union1d(first, second)
    expected = float(sum(np.mean(first == c) * np.mean(second == c) for c in categories))
    if np.isclose(expected, 1.0):
        return float("nan")
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa from a subjects x categories table of counts.

    Args:
        counts: ``counts[i, j]`` = number of raters who put subject ``i`` in category ``j``;
            every row must sum to the same number of raters (at least 2).

    Returns:
        Fleiss' kappa; NaN when expected agreement is 1 (one category used throughout).
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[0] == 0:
        raise ValueError("Fleiss' kappa needs a non-empty subjects x categories table.")
    raters = counts.sum(axis=1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("Every subject needs the same number (at least 2) of ratings.")
    n = raters[0]
    per_subject = ((counts**2).sum(axis=1) - n) / (n * (n - 1))
    p_category = counts.sum(axis=0) / counts.sum()
    observed, expected = per_subject.mean(), float((p_category**2).sum())
    if np.isclose(expected, 1.0):
        return float("nan")
    return float((observed - expected) / (1.0 - expected))


def ai_agreement(reads: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """How often each reader's call agrees with the AI's call, per reader and arm.

    Args:
        reads: table with reader, arm, case, call, ai_call (0/1); truth optional.
        alpha: 1 - confidence level of the Wilson interval.

    Returns:
        One row per (reader, arm): ``n_reads``, ``n_agree``, ``agreement`` with
        ``agreement_low``/``agreement_high``, ``kappa_with_ai``; with truth also ``n_ai_wrong``
        and ``followed_ai_when_wrong`` (share of the reads where the AI was wrong in which the
        reader gave the AI's wrong call).
    """
    require_columns(reads, ["reader", "arm", "case", "call", "ai_call"], "Agreement with the AI")
    table = pd.DataFrame(
        {
            "reader": reads["reader"],
            "arm": reads["arm"],
            "call": binary_column(reads, "call"),
            "ai_call": binary_column(reads, "ai_call"),
        }
    )
    has_truth = "truth" in reads.columns
    if has_truth:
        table["truth"] = binary_column(reads, "truth")
    rows = []
    for (reader, arm), group in table.groupby(["reader", "arm"], sort=True):
        call, ai = group["call"].to_numpy(), group["ai_call"].to_numpy()
        agree = int((call == ai).sum())
        low, high = wilson_interval(agree, len(group), alpha=alpha)
        row = {
            "reader": reader,
            "arm": arm,
            "n_reads": len(group),
            "n_agree": agree,
            "agreement": agree / len(group),
            "agreement_low": low,
            "agreement_high": high,
            "kappa_with_ai": cohen_kappa(call, ai),
        }
        if has_truth:
            ai_wrong = ai != group["truth"].to_numpy()
            row["n_ai_wrong"] = int(ai_wrong.sum())
            row["followed_ai_when_wrong"] = (
                float((call[ai_wrong] == ai[ai_wrong]).mean()) if ai_wrong.any() else float("nan")
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _calls_by_case(reads: pd.DataFrame, column: str) -> pd.DataFrame:
    require_columns(reads, ["reader", "arm", "case", column], "Agreement between readers")
    table = reads.assign(**{column: binary_column(reads, column).astype(int)})
    if table.duplicated(["reader", "arm", "case"]).any():
        raise ReadTableError("A reader read the same case twice in one arm; kappa needs one read.")
    return table


def pairwise_kappa(reads: pd.DataFrame, *, column: str = "call") -> pd.DataFrame:
    """Cohen's kappa for every pair of readers within each arm, on the cases both read.

    Args:
        reads: table with reader, arm, case and the binary ``column``.
        column: the binary column compared (default the reader's call).

    Returns:
        One row per (arm, reader_a, reader_b): ``n_cases`` and ``kappa``.
    """
    table = _calls_by_case(reads, column)
    rows = []
    for arm in sorted_labels(table["arm"]):
        wide = table[table["arm"] == arm].pivot(index="case", columns="reader",
                                                         values=column)
        for a, b in itertools.combinations(sorted_labels(wide.columns), 2):
            both = wide[[a, b]].dropna()
            rows.append({"arm": arm, "reader_a": a, "reader_b": b,
                         "n_cases": len(both), "kappa": cohen_kappa(both[a], both[b])})
    return pd.DataFrame(rows, columns=["arm", "reader_a", "reader_b", "n_cases", "kappa"])


def fleiss_kappa_by_arm(reads: pd.DataFrame, *, column: str = "call") -> pd.DataFrame:
    """Fleiss' kappa among all readers of each arm, on the cases every one of them read.

    Args:
        reads: table with reader, arm, case and the binary ``column``.
        column: the binary column compared (default the reader's call).

    Returns:
        One row per arm: ``n_readers``, ``n_cases`` (read by all), ``kappa`` (NaN with
        fewer than two readers or no common case).
    """
    table = _calls_by_case(reads, column)
    rows = []
    for arm in sorted_labels(table["arm"]):
        wide = table[table["arm"] == arm].pivot(index="case", columns="reader",
                                                         values=column).dropna()
        n_readers = wide.shape[1]
        kappa = float("nan")
        if n_readers >= 2 and len(wide):
            positives = wide.sum(axis=1).to_numpy()
            kappa = fleiss_kappa(np.column_stack([n_readers - positives, positives]))
        rows.append({"arm": arm, "n_readers": n_readers, "n_cases": len(wide),
                     "kappa": kappa})
    return pd.DataFrame(rows, columns=["arm", "n_readers", "n_cases", "kappa"])
