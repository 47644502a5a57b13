"""Switching: how the diagnosis of the same case changed from the unaided to the aided read.

Input: the tidy table of `study.analysis.table` with columns reader, arm, case, truth and
call (the reader's binary diagnosis, 1 = RDS). A *pair* is the unaided read and an aided read
of the same case by the same reader (sequential design: the same sitting; crossover design:
the two sessions). Reads without a partner are left out.

A read is correct when ``call == truth``. Four outcomes per pair: correct -> correct,
correct -> wrong (the hint hurt), wrong -> correct (the hint helped), wrong -> wrong.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pandas as pd
from scipy import stats

from study.analysis.errors import ReadTableError
from study.analysis.table import binary_column, check_truth, require_columns, sorted_labels
from study.design import UNAIDED_ARM

__all__ = ["SWITCH_COUNTS", "paired_reads", "count_switches", "switching", "switching_by_arm"]

#: Count columns of the switching tables.
SWITCH_COUNTS: tuple[str, ...] = (
    "correct_to_correct",
    "correct_to_wrong",
    "wrong_to_correct",
    "wrong_to_wrong",
)


def paired_reads(
    reads: pd.DataFrame,
    *,
    unaided: Hashable = UNAIDED_ARM,
    aided: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Join each aided read to the unaided read of the same reader and case.

    Args:
        reads: table with reader, arm, case, truth, call (extra columns are kept with
            suffixes ``_unaided`` / ``_aided``).
        unaided: label of the unaided arm.
        aided: labels of the aided arms; default every other arm.

    Returns:
        One row per pair: reader, case, truth, ``arm`` (the aided arm), ``correct_unaided``,
        ``correct_aided`` and the other columns suffixed.
    """
    require_columns(reads, ["reader", "arm", "case", "truth", "call"], "Switching")
    check_truth(reads)
    arms = sorted_labels(reads["arm"])
    if unaided not in arms:
        raise ReadTableError(
            f"The unaided arm {unaided!r} is not in the table (arms: {', '.join(map(str, arms))})."
        )
    aided_arms = [a for a in arms if a != unaided] if aided is None else list(aided)
    missing = [a for a in aided_arms if a not in arms]
    if missing or not aided_arms:
        raise ReadTableError(
            f"No aided arm {', '.join(map(str, missing)) or ''} to pair with the unaided reads "
            f"(arms: {', '.join(map(str, arms))})."
        )
    table = reads.assign(truth=binary_column(reads, "truth"), call=binary_column(reads, "call"))
    key = ["reader", "arm", "case"]
    if table.duplicated(key).any():
        raise ReadTableError("A reader read the same case twice in one arm; switching needs one read.")
    before = table[table["arm"] == unaided].drop(columns="arm")
    after = table[table["arm"].isin(aided_arms)]
    pairs = after.merge(before, on=["reader", "case"], suffixes=("_aided", "_unaided"))
    pairs = pairs.rename(columns={"truth_aided": "truth"}).drop(columns="truth_unaided")
    pairs["correct_unaided"] = pairs["call_unaided"] == pairs["truth"]
    pairs["correct_aided"] = pairs["call_aided"] == pairs["truth"]
    return pairs


def count_switches(pairs: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Count the four switching outcomes per group of pairs.

    Args:
        pairs: output of `paired_reads`.
        by: grouping columns of ``pairs`` (e.g. ``["reader", "arm"]``).

    Returns:
        One row per group: the ``by`` columns, ``n_pairs`` and the four `SWITCH_COUNTS`.
    """
    before, after = pairs["correct_unaided"], pairs["correct_aided"]
    flags = pd.DataFrame(
        {
            "correct_to_correct": before & after,
            "correct_to_wrong": before & ~after,
            "wrong_to_correct": ~before & after,
            "wrong_to_wrong": ~before & ~after,
        }
    ).astype(int)
    counts = flags.groupby([pairs[c] for c in by], sort=True).sum()
    counts.insert(0, "n_pairs", counts.sum(axis=1))
    return counts.reset_index()


def _add_rates(counts: pd.DataFrame) -> pd.DataFrame:
    n = counts["n_pairs"]
    counts["accuracy_unaided"] = (counts["correct_to_correct"] + counts["correct_to_wrong"]) / n
    counts["accuracy_aided"] = (counts["correct_to_correct"] + counts["wrong_to_correct"]) / n
    counts["net_change"] = (counts["wrong_to_correct"] - counts["correct_to_wrong"]) / n
    return counts


def switching(
    reads: pd.DataFrame,
    *,
    unaided: Hashable = UNAIDED_ARM,
    aided: Sequence[Hashable] | None = None,
) -> pd.DataFrame:
    """Switching counts per reader and aided arm.

    Args:
        reads: table with reader, arm, case, truth, call.
        unaided: label of the unaided arm.
        aided: labels of the aided arms; default every other arm.

    Returns:
        One row per (reader, arm = aided arm): ``n_pairs``, the four `SWITCH_COUNTS`,
        ``accuracy_unaided``, ``accuracy_aided`` (on the paired cases) and ``net_change`` =
        (wrong -> correct - correct -> wrong) / n_pairs.
    """
    pairs = paired_reads(reads, unaided=unaided, aided=aided)
    if pairs.empty:
        raise ReadTableError("No case was read both unaided and aided by the same reader.")
    return _add_rates(count_switches(pairs, ["reader", "arm"]))


def switching_by_arm(per_reader: pd.DataFrame) -> pd.DataFrame:
    """Sum a `switching` table over readers, with McNemar's exact test per arm.

    McNemar's test (exact binomial on the discordant pairs) treats pairs as independent; with
    several readers on the same cases it is descriptive, the MRMC analysis is the inference.

    Args:
        per_reader: output of `switching`.

    Returns:
        One row per aided arm: ``n_readers``, ``n_pairs``, the four counts, the rates of
        `switching` and ``p_mcnemar``.
    """
    grouped = per_reader.groupby("arm", sort=True)
    totals = grouped[["n_pairs", *SWITCH_COUNTS]].sum()
    totals.insert(0, "n_readers", grouped["reader"].nunique())
    totals = _add_rates(totals.reset_index())
    discordant = totals["correct_to_wrong"] + totals["wrong_to_correct"]
    totals["p_mcnemar"] = [
        stats.binomtest(int(k), int(n), 0.5).pvalue if n else float("nan")
        for k, n in zip(totals["wrong_to_correct"], discordant)
    ]
    return totals
