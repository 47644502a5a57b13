"""The ``mrmc`` command of ``python -m study``: an MRMC analysis of a CSV of reads.

Its arguments are declared in `study.__main__` (which must stay light to import); this module
does the work.

The CSV needs the columns reader, modality, case, truth, rating (one row per read; see
`study.analysis.table`). Ratings must lie on the scale (default 0-100; ``--scale MIN MAX``
changes it, ``--no-scale`` accepts any finite number). The difference is modality 1 minus
modality 2 in sorted order (numbers sort numerically, text alphabetically: ``aided`` before
``unaided``), unless ``--modalities A B`` picks the two and their order.

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
from study.analysis.table import DEFAULT_SCALE

__all__ = ["run_mrmc"]

EXIT_INPUT_ERROR = 2


def _match_labels(reads: pd.DataFrame, wanted: list[str]) -> list[object]:
    # The CSV's labels may have been parsed as numbers; match what the user typed as text.
    if "modality" not in reads:
        return list(wanted)
    by_text = {str(label): label for label in reads["modality"].dropna().unique()}
    return [by_text.get(text, text) for text in wanted]


def _load(path: Path) -> pd.DataFrame:
    try:
        reads = pd.read_csv(path, skipinitialspace=True)
    except FileNotFoundError:
        raise AnalysisError(f"There is no file {path}.") from None
    except IsADirectoryError:
        raise AnalysisError(f"{path} is a folder, not a CSV file.") from None
    except pd.errors.EmptyDataError:
        raise AnalysisError(f"{path} is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise AnalysisError(f"{path} is not a readable CSV file ({err}).") from None
    reads.columns = [str(c).strip() for c in reads.columns]
    return reads


def run_mrmc(args: argparse.Namespace) -> int:
    """Run the ``mrmc`` command.

    Args:
        args: parsed arguments (file, json, scale, no_scale, modalities, alpha).

    Returns:
        The exit status: 0, or 2 for input that cannot be analysed.
    """
    try:
        low, high = DEFAULT_SCALE if args.scale is None else args.scale
        if math.isnan(low) or math.isnan(high) or low >= high:
            raise AnalysisError(f"--scale needs MIN < MAX, got {low:g} {high:g}.")
        if not 0 < args.alpha < 1:
            raise AnalysisError(f"--alpha must lie between 0 and 1, got {args.alpha:g}.")
        reads = _load(args.file)
        modalities = _match_labels(reads, args.modalities) if args.modalities else None
        try:
            scale = None if args.no_scale else (low, high)
            result = mrmc(reads, modalities=modalities, scale=scale, alpha=args.alpha)
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
