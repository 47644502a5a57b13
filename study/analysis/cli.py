"""The ``mrmc`` command of ``python -m study``: an MRMC analysis of a CSV of reads.

Its arguments are declared in `study.__main__` (which must stay light to import); this module
does the work.

The CSV needs the columns reader, arm (or ``modality``, as the reference programs call it), case,
truth, rating (one row per read; see
`study.analysis.table`). Ratings must lie on the scale (default 0-100; ``--scale MIN MAX``
changes it, ``--no-scale`` accepts any finite number). The difference is arm 1 minus
arm 2 in sorted order (numbers sort numerically, text alphabetically: ``aided`` before
``unaided``), unless ``--arms A B`` picks the two and their order.

Exit status: 0 on success, 2 when the input cannot be analysed; then one line on stderr says why.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from study.analysis.errors import AnalysisError
from study.analysis.mrmc import mrmc
from study.analysis.report import format_mrmc
from study.analysis.table import DEFAULT_SCALE, label_values

__all__ = ["load_reads", "run_mrmc"]

EXIT_INPUT_ERROR = 2


def _match_labels(reads: pd.DataFrame, wanted: list[str]) -> list[object]:
    # The CSV's labels may have been parsed as numbers; match what the user typed as text.
    if "arm" not in reads:
        return list(wanted)
    by_text = {str(label): label for label in reads["arm"].dropna().unique()}
    return [by_text.get(text, text) for text in wanted]


_LABELS = ("reader", "arm", "case")
# Column names a file may use for each label, ours first: the reference programs and our
# long-format export call the arm "modality" (and its integer ID "modalityID").
_FILE_NAMES = {"reader": ("reader", "readerID"), "arm": ("arm", "modality", "modalityID"), "case": ("case", "caseID")}


def load_reads(path: Path) -> pd.DataFrame:
    """Read a CSV of reads: ours, or our long-format export (``score``, ``readerID``, ...).

    Reader, arm and case IDs are read as text (see `label_values`), so ``007`` and ``7``
    or ``1.1`` and ``1.10`` stay different cases; ``-inf`` ratings are kept.

    Args:
        path: the CSV file.

    Returns:
        The tidy table of reads (columns as in the file, ``score`` renamed ``rating``).
    """
    try:
        header = pd.read_csv(path, nrows=0, skipinitialspace=True).columns
        text_columns = {c: str for c in header
                        if str(c).strip() in {name for names in _FILE_NAMES.values() for name in names}}
        reads = pd.read_csv(path, skipinitialspace=True, dtype=text_columns)
    except FileNotFoundError:
        raise AnalysisError(f"There is no file {path}.") from None
    except IsADirectoryError:
        raise AnalysisError(f"{path} is a folder, not a CSV file.") from None
    except pd.errors.EmptyDataError:
        raise AnalysisError(f"{path} is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise AnalysisError(f"{path} is not a readable CSV file ({err}).") from None
    reads.columns = [str(c).strip() for c in reads.columns]
    for label, names in _FILE_NAMES.items():
        # The long-format export has integer IDs and, after them, the original labels.
        found = next((name for name in names if name in reads), None)
        if found is not None and found != label:
            reads[label] = reads[found]
    if "rating" not in reads and "score" in reads:
        reads = reads.rename(columns={"score": "rating"})
    for label in _LABELS:
        if label in reads and not reads[label].isna().any():
            reads[label] = label_values(reads[label])
    return reads


def run_mrmc(args: argparse.Namespace) -> int:
    """Run the ``mrmc`` command.

    Args:
        args: parsed arguments (file, json, scale, no_scale, arms, alpha).

    Returns:
        The exit status: 0, or 2 for input that cannot be analysed.
    """
    try:
        low, high = DEFAULT_SCALE if args.scale is None else args.scale
        if math.isnan(low) or math.isnan(high) or low >= high:
            raise AnalysisError(f"--scale needs MIN < MAX, got {low:g} {high:g}.")
        if not 0 < args.alpha < 1:
            raise AnalysisError(f"--alpha must lie between 0 and 1, got {args.alpha:g}.")
        reads = load_reads(args.file)
        arms = _match_labels(reads, args.arms) if args.arms else None
        try:
            scale = None if args.no_scale else (low, high)
            result = mrmc(reads, arms=arms, scale=scale, alpha=args.alpha,
                          endpoint=getattr(args, "endpoint", "auc"))
        except AnalysisError as err:
            if "outside the scale" in str(err):
                raise AnalysisError(
                    f"{err} Use --scale MIN MAX for another rating scale, or --no-scale."
                ) from None
            raise
    except AnalysisError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_mrmc(result), end="")
    return 0


def run_plan(args: argparse.Namespace) -> int:
    """Run the ``plan`` command: power (``--cases``) or cases needed (``--power``) from a pilot.

    Args:
        args: parsed arguments (file, effect, readers, cases, power, alpha, json, scale,
            no_scale, arms).

    Returns:
        The exit status: 0, or 2 for input that cannot be analysed.
    """
    from study.analysis.power import (
        ANALYSES,
        cases_for_power,
        components_from_pilot,
        plan_dict,
        power_given_jk,
    )

    try:
        if not 0 < args.alpha < 1:
            raise AnalysisError(f"--alpha must lie between 0 and 1, got {args.alpha:g}.")
        reads = load_reads(args.file)
        arms = _match_labels(reads, args.arms) if args.arms else None
        scale = None if args.no_scale else (tuple(args.scale) if args.scale else DEFAULT_SCALE)
        pilot = mrmc(reads, arms=arms, scale=scale, alpha=args.alpha)
        components = components_from_pilot(pilot)
        results = {}
        for analysis in ANALYSES:
            common = {"effect": args.effect, "readers": args.readers, "alpha": args.alpha,
                      "analysis": analysis}
            if args.cases is not None:
                results[analysis] = power_given_jk(components, cases=args.cases, **common)
            else:
                results[analysis] = cases_for_power(components, power=args.power, **common)
    except ValueError as err:  # AnalysisError is a ValueError too
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    if args.json:
        print(json.dumps(plan_dict(results), indent=2))
        return 0
    goal = (f"{args.cases} cases" if args.cases is not None else f"target power {args.power:g}")
    print(f"Study plan (Hillis, Obuchowski & Berbaum 2011) from {components.source}: effect "
          f"{args.effect:+g} AUC, {args.readers} readers, {goal}, alpha {args.alpha:g}")
    for analysis, r in results.items():
        cases = "not reached within 2000 cases" if r.cases is None else f"{r.cases} cases"
        ddf = "inf" if not math.isfinite(r.ddf) else f"{r.ddf:.2f}"
        print(f"  {analysis}  power {r.power:.4f}  {cases}  ncp {r.ncp:.3f}  ddf {ddf}")
    return 0
