"""Automation-bias cases analysed apart from the rest.

Automation-bias cases are cases flagged in the case set (e.g. the AI hint is wrong on purpose,
or the AI is known to fail there). Pooling them with the other cases would hide the question
they answer: do readers follow a wrong hint? So every number here is given twice, once for the
flagged cases and once for the others.

Input: the tidy table of `study.analysis.table` with reader, modality, case, truth, call and
flagged (0/1 per case); ai_call adds the agreement with the AI.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import pandas as pd

from study.analysis.intervals import wilson_interval
from study.analysis.switching import count_switches, paired_reads
from study.analysis.table import binary_column, check_truth, require_columns, sorted_labels

__all__ = ["automation_bias_summary"]


def automation_bias_summary(
    reads: pd.DataFrame,
    *,
    unaided: Hashable = "unaided",
    aided: Sequence[Hashable] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Accuracy, agreement with the AI and switching, for flagged and other cases per arm.

    The proportions pool the reads of all readers (descriptive; reads of one case are not
    independent).

    Args:
        reads: table with reader, modality, case, truth, call, flagged; optional ai_call.
        unaided: label of the unaided arm (for the switching columns).
        aided: aided arms; default every arm other than ``unaided``.
        alpha: 1 - confidence level of the Wilson intervals.

    Returns:
        One row per (subset = ``"flagged"`` / ``"other"``, modality): ``n_readers, n_cases,
        n_reads, accuracy, accuracy_low, accuracy_high``; with ai_call ``agreement_with_ai``;
        for aided arms ``n_pairs, correct_to_wrong, wrong_to_correct`` (NaN elsewhere).
    """
    require_columns(reads, ["reader", "modality", "case", "truth", "call", "flagged"],
                    "The automation-bias analysis")
    check_truth(reads)
    table = reads.assign(
        truth=binary_column(reads, "truth"),
        call=binary_column(reads, "call"),
        flagged=binary_column(reads, "flagged"),
    )
    if "ai_call" in table.columns:
        table["ai_call"] = binary_column(reads, "ai_call")
    has_unaided = unaided in set(table["modality"])
    rows = []
    for subset, part in (("flagged", table[table["flagged"]]), ("other", table[~table["flagged"]])):
        if part.empty:
            continue
        switches = None
        if has_unaided and part["modality"].nunique() > 1:
            pairs = paired_reads(part, unaided=unaided, aided=aided)
            switches = count_switches(pairs, ["modality"]).set_index("modality")
        for modality in sorted_labels(part["modality"]):
            arm = part[part["modality"] == modality]
            correct = int((arm["call"] == arm["truth"]).sum())
            low, high = wilson_interval(correct, len(arm), alpha=alpha)
            row = {
                "subset": subset,
                "modality": modality,
                "n_readers": arm["reader"].nunique(),
                "n_cases": arm["case"].nunique(),
                "n_reads": len(arm),
                "accuracy": correct / len(arm),
                "accuracy_low": low,
                "accuracy_high": high,
            }
            if "ai_call" in arm.columns:
                row["agreement_with_ai"] = float((arm["call"] == arm["ai_call"]).mean())
            for column in ("n_pairs", "correct_to_wrong", "wrong_to_correct"):
                has_row = switches is not None and modality in switches.index
                row[column] = switches.at[modality, column] if has_row else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)
