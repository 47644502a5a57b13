"""Per-reader, per-arm diagnostic performance, and the same summarised per reader role.

Input: the tidy table of `study.analysis.table` with columns reader, arm, case, truth,
rating and call (the reader's binary diagnosis, 1 = RDS); ``role_summary`` also needs
reader_role. When there is no call column, pass ``threshold`` and ``rating >= threshold``
counts as a positive call.

Intervals: Wilson for accuracy, sensitivity and specificity; DeLong standard error with a
Wald interval (clipped to [0, 1]) for the AUC (`study.analysis.intervals`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from study.analysis.errors import ReadTableError
from study.analysis.intervals import auc_with_ci, wilson_interval
from study.analysis.table import binary_column, check_truth, numeric_column, require_columns

__all__ = ["reader_calls", "reader_metrics", "role_summary"]


def reader_calls(reads: pd.DataFrame, *, threshold: float | None = None) -> pd.Series:
    """The reader's binary calls as bool: the call column, or ``rating >= threshold``.

    Args:
        reads: table of reads.
        threshold: rating at or above which a read counts as positive; used only when the
            table has no call column.

    Returns:
        A bool Series with the table's index.
    """
    if "call" in reads.columns:
        return binary_column(reads, "call")
    if threshold is None:
        raise ReadTableError(
            "The table has no call column (the reader's yes/no diagnosis); add it or give a "
            "rating threshold."
        )
    return numeric_column(reads, "rating") >= threshold


def reader_metrics(
    reads: pd.DataFrame,
    *,
    by: Sequence[str] = ("reader", "arm"),
    threshold: float | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Accuracy, sensitivity, specificity (at the binary call) and AUC per group, with CIs.

    Args:
        reads: table with reader, arm, case, truth, rating and call (or ``threshold``).
        by: grouping columns; the default gives one row per reader and arm.
        threshold: see `reader_calls`.
        alpha: 1 - confidence level.

    Returns:
        One row per group: the ``by`` columns, ``n_reads, n_diseased, n_nondiseased, tp, fn,
        tn, fp``, ``accuracy``, ``sensitivity``, ``specificity``, ``auc`` each with ``_low``
        and ``_high`` bounds, and ``auc_se``. A metric whose denominator is empty is NaN.
    """
    by = list(by)
    require_columns(reads, ["case", "truth", "rating", *by], "Reader metrics")
    check_truth(reads)
    table = pd.DataFrame(
        {
            **{column: reads[column] for column in by},
            "truth": binary_column(reads, "truth"),
            "rating": numeric_column(reads, "rating"),
            "call": reader_calls(reads, threshold=threshold),
        }
    )
    rows = []
    for key, group in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        truth, call = group["truth"].to_numpy(), group["call"].to_numpy()
        tp, fn = int((truth & call).sum()), int((truth & ~call).sum())
        tn, fp = int((~truth & ~call).sum()), int((~truth & call).sum())
        row = dict(zip(by, key))
        row.update(n_reads=len(group), n_diseased=tp + fn, n_nondiseased=tn + fp,
                   tp=tp, fn=fn, tn=tn, fp=fp)
        for name, hits, total in (
            ("accuracy", tp + tn, len(group)),
            ("sensitivity", tp, tp + fn),
            ("specificity", tn, tn + fp),
        ):
            row[name] = hits / total if total else float("nan")
            row[f"{name}_low"], row[f"{name}_high"] = wilson_interval(hits, total, alpha=alpha)
        auc, se, low, high = auc_with_ci(truth, group["rating"].to_numpy(), alpha=alpha)
        row.update(auc=auc, auc_se=se, auc_low=low, auc_high=high)
        rows.append(row)
    return pd.DataFrame(rows)


def role_summary(
    reads: pd.DataFrame, *, threshold: float | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Per reader role and arm: how many readers, and the mean and range of their metrics.

    Readers are the unit: each reader's metrics come from `reader_metrics`, then they are
    averaged within the role, so a reader with more reads does not weigh more.

    Args:
        reads: as for `reader_metrics`, plus a reader_role column (one role per reader).
        threshold: see `reader_calls`.
        alpha: 1 - confidence level of the per-reader metrics.

    Returns:
        One row per (reader_role, arm): ``n_readers``, and for accuracy, sensitivity,
        specificity and auc the ``_mean``, ``_min`` and ``_max`` over readers.
    """
    require_columns(reads, ["reader", "reader_role"], "A summary per reader role")
    roles = reads.groupby("reader")["reader_role"].nunique()
    if (roles > 1).any():
        reader = roles.index[roles > 1][0]
        raise ReadTableError(f"Reader {reader} has more than one reader_role; give one per reader.")
    per_reader = reader_metrics(reads, threshold=threshold, alpha=alpha)
    role_of = reads.drop_duplicates("reader").set_index("reader")["reader_role"]
    per_reader["reader_role"] = per_reader["reader"].map(role_of)
    metrics = ["accuracy", "sensitivity", "specificity", "auc"]
    grouped = per_reader.groupby(["reader_role", "arm"], sort=True)
    summary = grouped[metrics].agg(["mean", "min", "max"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    summary.insert(0, "n_readers", grouped["reader"].nunique())
    return summary.reset_index()
