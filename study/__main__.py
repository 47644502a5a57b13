"""Command line of the reader-study package: ``python -m study <command> ...``.

Commands:
    mrmc FILE.csv [--json]   Obuchowski-Rockette MRMC analysis (`study.analysis.cli`).

Each command's implementation is imported only when it runs, so that a command does not pay
for the imports of the others (pandas and scipy take seconds).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]


def _run_mrmc(args: argparse.Namespace) -> int:
    from study.analysis.cli import run_mrmc

    return run_mrmc(args)


def _add_mrmc(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mrmc",
        help="Obuchowski-Rockette MRMC analysis of a CSV of reads",
        description="Obuchowski-Rockette MRMC analysis (empirical AUC, jackknife covariance, "
        "Hillis ddf) of FILE with columns reader, modality, case, truth, rating. The "
        "difference is modality 1 - modality 2 in sorted order unless --modalities is given. "
        "Exit status 2 when the file cannot be analysed.",
    )
    parser.add_argument("file", type=Path,
                        help="CSV with columns reader, modality, case, truth, rating")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--scale", nargs=2, type=float, metavar=("MIN", "MAX"),
                       help="inclusive rating scale (default 0 100)")
    scale.add_argument("--no-scale", action="store_true",
                       help="accept any finite rating (e.g. model scores or log-odds)")
    parser.add_argument("--modalities", nargs=2, metavar=("A", "B"),
                        help="the two modalities to compare, difference A - B")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="significance level (default 0.05)")
    parser.set_defaults(handler=_run_mrmc)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m study`` argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m study", description="Reader-study tools.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_mrmc(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command.

    Args:
        argv: arguments without the program name; default ``sys.argv[1:]``.

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
