"""Automation-bias cases analysed apart from the rest.

Automation-bias cases are cases flagged in the case set (e.g. the AI hint is wrong on purpose,
or the AI is known to fail there). Pooling them with the other cases would hide the question
they answer: do readers follow a wrong hint? So every number here is given twice, once for the
flagged cases and once for the others.

Input: the tidy table of `study.analysis.table` with reader, arm, case, truth, call and
flagged (0/1 per case); ai_call adds the agreement with the AI.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from study.analysis.auc import auc_from_scores
from study.analysis.errors import ReadTableError
from study.analysis.intervals import wilson_interval
from study.analysis.switching import count_switches, paired_reads
from study.analysis.table import binary_column, check_truth, require_columns, sorted_labels
from study.design import UNAIDED_ARM

__all__ = ["automation_bias_summary", "ai_right_wrong_auc", "readers_harmed"]


def automation_bias_summary(
    reads: pd.DataFrame,
    *,
    unaided: Hashable = UNAIDED_ARM,
    aided: Sequence[Hashable] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Accuracy, agreement with the AI and switching, for flagged and other cases per arm.

    The proportions pool the reads of all readers (descriptive; reads of one case are not
    independent).

    Args:
        reads: table with reader, arm, case, truth, call, flagged; optional ai_call.
        unaided: label of the unaided arm (for the switching columns).
        aided: aided arms; default every arm other than ``unaided``.
        alpha: 1 - confidence level of the Wilson intervals.

    Returns:
        One row per (subset = ``"flagged"`` / ``"other"``, arm): ``n_readers, n_cases,
        n_reads, accuracy, accuracy_low, accuracy_high``; with ai_call ``agreement_with_ai``;
        for aided arms ``n_pairs, correct_to_wrong, wrong_to_correct`` (NaN elsewhere).
    """
    require_columns(reads, ["reader", "arm", "case", "truth", "call", "flagged"],
                    "The automation-bias analysis")
    check_truth(reads)
    table = reads.assign(
        truth=binary_column(reads, "truth"),
        call=binary_column(reads, "call"),
        flagged=binary_column(reads, "flagged"),
    )
    if "ai_call" in table.columns:
        table["ai_call"] = binary_column(reads, "ai_call")
    has_unaided = unaided in set(table["arm"])
    rows = []
    for subset, part in (("flagged", table[table["flagged"]]), ("other", table[~table["flagged"]])):
        if part.empty:
            continue
        switches = None
        if has_unaided and part["arm"].nunique() > 1:
            pairs = paired_reads(part, unaided=unaided, aided=aided)
            switches = count_switches(pairs, ["arm"]).set_index("arm")
        for arm in sorted_labels(part["arm"]):
            in_arm = part[part["arm"] == arm]
            correct = int((in_arm["call"] == in_arm["truth"]).sum())
            low, high = wilson_interval(correct, len(in_arm), alpha=alpha)
            row = {
                "subset": subset,
                "arm": arm,
                "n_readers": in_arm["reader"].nunique(),
                "n_cases": in_arm["case"].nunique(),
                "n_reads": len(in_arm),
                "accuracy": correct / len(in_arm),
                "accuracy_low": low,
                "accuracy_high": high,
            }
            if "ai_call" in in_arm.columns:
                row["agreement_with_ai"] = float((in_arm["call"] == in_arm["ai_call"]).mean())
            for column in ("n_pairs", "correct_to_wrong", "wrong_to_correct"):
                has_row = switches is not None and arm in switches.index
                row[column] = switches.at[arm, column] if has_row else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def _ai_wrong(table: pd.DataFrame) -> pd.Series:
    """Per read: was the AI call shown for this case wrong?

    From ``ai_call`` (the call shown, flipped on deliberately wrong cases) where given, else
    from ``flagged`` (deliberately wrong by design).
    """
    if "ai_call" in table.columns and table["ai_call"].notna().all():
        return binary_column(table, "ai_call") != binary_column(table, "truth")
    require_columns(table, ["flagged"], "Splitting cases by whether the AI was right")
    return binary_column(table, "flagged")


def ai_right_wrong_auc(reads: pd.DataFrame) -> pd.DataFrame:
    """Mean reader AUC per arm on the cases where the AI was right and where it was wrong.

    An arm whose AUC drops on the AI-wrong cases (compared with the unaided arm on the same
    cases) shows readers following a wrong hint.

    Args:
        reads: tidy table with reader, arm, case, truth, rating and ai_call (or flagged).

    Returns:
        One row per (``subset`` = ``"AI right"`` / ``"AI wrong"``, ``arm``): ``n_cases``,
        ``n_diseased``, ``n_readers``, ``auc`` (mean of the readers' empirical AUCs; NaN when
        the subset lacks a class).
    """
    require_columns(reads, ["reader", "arm", "case", "truth", "rating"],
                    "The AUC on AI-right and AI-wrong cases")
    check_truth(reads)
    table = reads.assign(truth=binary_column(reads, "truth"), ai_wrong=_ai_wrong(reads))
    rows = []
    for subset, part in (("AI right", table[~table["ai_wrong"]]), ("AI wrong", table[table["ai_wrong"]])):
        for arm in sorted_labels(part["arm"]) if not part.empty else []:
            in_arm = part[part["arm"] == arm]
            aucs = [auc_from_scores(g["truth"].to_numpy(), g["rating"].to_numpy())
                    for _, g in in_arm.groupby("reader")]
            finite = [a for a in aucs if np.isfinite(a)]
            rows.append({
                "subset": subset, "arm": arm, "n_cases": in_arm["case"].nunique(),
                "n_diseased": in_arm.loc[in_arm["truth"], "case"].nunique(),
                "n_readers": in_arm["reader"].nunique(),
                "auc": float(np.mean(finite)) if finite else float("nan"),
            })
    return pd.DataFrame(rows)


def readers_harmed(reads: pd.DataFrame, *, unaided: Hashable = UNAIDED_ARM) -> pd.DataFrame:
    """Each reader's accuracy on the AI-wrong cases without and with the AI.

    A reader is *harmed* in an aided arm when their accuracy on the cases where the AI was
    wrong is lower with the hint than without it (they followed it into errors).

    Args:
        reads: tidy table with reader, arm, case, truth, call and ai_call (or flagged).
        unaided: label of the arm without AI.

    Returns:
        One row per (reader, aided arm): ``reader``, ``arm``, ``n_cases``,
        ``accuracy_unaided``, ``accuracy_aided``, ``change``, ``harmed``.
    """
    require_columns(reads, ["reader", "arm", "case", "truth", "call"],
                    "The per-reader automation-bias check")
    check_truth(reads)
    table = reads.assign(truth=binary_column(reads, "truth"), call=binary_column(reads, "call"),
                         ai_wrong=_ai_wrong(reads))
    wrong = table[table["ai_wrong"]]
    if unaided not in set(wrong["arm"]):
        raise ReadTableError(f"No reads of AI-wrong cases in the unaided arm ({unaided}) yet.")
    correct = (wrong["call"] == wrong["truth"]).groupby([wrong["reader"], wrong["arm"]]).mean()
    counts = wrong.groupby(["reader", "arm"])["case"].nunique()
    rows = []
    for (reader, arm), accuracy in correct.items():
        if arm == unaided or (reader, unaided) not in correct.index:
            continue
        before = float(correct[(reader, unaided)])
        rows.append({"reader": reader, "arm": arm, "n_cases": int(counts[(reader, arm)]),
                     "accuracy_unaided": before, "accuracy_aided": float(accuracy),
                     "change": float(accuracy) - before, "harmed": float(accuracy) < before})
    if not rows:
        raise ReadTableError("No reader has read AI-wrong cases both without and with the AI yet.")
    return pd.DataFrame(rows)
