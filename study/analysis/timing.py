"""Reading time per arm (or any grouping).

Input: the tidy table of `study.analysis.table` with a time_s column (seconds the reader spent
on the case, as stored with the answer) and the grouping columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from study.analysis.table import numeric_column, require_columns

__all__ = ["reading_time_summary"]


def reading_time_summary(
    reads: pd.DataFrame, *, by: Sequence[str] = ("arm",)
) -> pd.DataFrame:
    """Distribution of reading times per group.

    Reading times are skewed (a few long pauses), so the median and quartiles are the
    headline; the mean is there for completeness.

    Args:
        reads: table with time_s (seconds, finite, >= 0) and the ``by`` columns.
        by: grouping columns, default the arm; ``("arm", "reader")`` gives per reader.

    Returns:
        One row per group: ``n_reads, median_s, q1_s, q3_s, mean_s, sd_s, min_s, max_s``.
    """
    by = list(by)
    require_columns(reads, ["time_s", *by], "A reading-time summary")
    seconds = numeric_column(reads, "time_s", scale=(0.0, float("inf")))
    grouped = seconds.groupby([reads[c] for c in by], sort=True)
    summary = pd.DataFrame(
        {
            "n_reads": grouped.size(),
            "median_s": grouped.median(),
            "q1_s": grouped.quantile(0.25),
            "q3_s": grouped.quantile(0.75),
            "mean_s": grouped.mean(),
            "sd_s": grouped.std(),
            "min_s": grouped.min(),
            "max_s": grouped.max(),
        }
    )
    return summary.reset_index()
