"""Command line of the reader-study package: ``python -m study <command> ...``.

Commands:
    mrmc FILE.csv [--json]   Obuchowski-Rockette MRMC analysis (`study.analysis.cli`).
    plan PILOT.csv --effect D --readers J (--cases K | --power P)
                             power or cases needed, from a pilot (`study.analysis.power`).
    import FOLDER --truth CSV [--study NAME] [--pack P]
                             import a case set (de-identified, AI hints) and create a study
                             (`study.import_cli`).
    demo-setup               database, demo case set from samples/, demo study and reader
                             (`study.demo`); fast and harmless to run again.

Each command's implementation is imported only when it runs, so that a command does not pay
for the imports of the others (pandas and scipy take seconds).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]


def _add_read_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by the commands that analyse a CSV of reads."""
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--scale", nargs=2, type=float, metavar=("MIN", "MAX"),
                       help="inclusive rating scale (default 0 100)")
    scale.add_argument("--no-scale", action="store_true",
                       help="accept any finite rating (e.g. model scores or log-odds)")
    parser.add_argument("--arms", "--modalities", dest="arms", nargs="+", metavar="ARM",
                        help="the arms to analyse, in order (differences earlier - later); "
                        "default all, sorted")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="significance level (default 0.05)")


def _run_mrmc(args: argparse.Namespace) -> int:
    from study.analysis.cli import run_mrmc

    return run_mrmc(args)


def _add_mrmc(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mrmc",
        help="Obuchowski-Rockette MRMC analysis of a CSV of reads",
        description="Obuchowski-Rockette MRMC analysis (empirical AUC, jackknife covariance, "
        "Hillis ddf) of FILE with columns reader, arm (or modality), case, truth, rating (or score, as "
        "in the long-format export). With more than two arms: global tests and every "
        "pairwise difference with the pooled error term. Differences are earlier - later "
        "arm in sorted order unless --arms is given. "
        "Exit status 2 when the file cannot be analysed.",
    )
    parser.add_argument("file", type=Path,
                        help="CSV with columns reader, arm (or modality), case, truth, rating")
    _add_read_options(parser)
    parser.add_argument("--endpoint", choices=("auc", "sensitivity", "specificity"), default="auc",
                        help="figure of merit (default auc); sensitivity/specificity analyse the "
                        "0/1 column call")
    parser.set_defaults(handler=_run_mrmc)


def _run_plan(args: argparse.Namespace) -> int:
    from study.analysis.cli import run_plan

    return run_plan(args)


def _add_plan(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="power, or the cases needed, for a future study from a pilot CSV",
        description="Sample size / power for an MRMC ROC study (Hillis, Obuchowski & Berbaum "
        "2011, as RJafroc SsPowerGivenJK / SsSampleSizeKGivenJ) from the OR variance components "
        "of PILOT (same CSV as mrmc). Reports RRRC, FRRC and RRFC. Exit status 2 when the pilot "
        "cannot be analysed.",
    )
    parser.add_argument("file", type=Path,
                        help="pilot CSV with columns reader, arm (or modality), case, truth, rating")
    parser.add_argument("--effect", type=float, required=True,
                        help="AUC difference to detect (e.g. 0.05)")
    parser.add_argument("--readers", type=int, required=True, help="number of readers J")
    goal = parser.add_mutually_exclusive_group(required=True)
    goal.add_argument("--cases", type=int, help="number of cases K: report the power")
    goal.add_argument("--power", type=float, help="target power: report the smallest K reaching it")
    _add_read_options(parser)
    parser.set_defaults(handler=_run_plan)


def _run_demo_setup(args: argparse.Namespace) -> int:
    from study.demo import run_demo_setup

    return run_demo_setup(args)


def _add_demo_setup(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo-setup",
        help="create the database and the demo study from samples/ with AI hints",
        description="Create or migrate the study database ($RDS_STUDY_DB or data/study.sqlite), "
        "import the films of samples/ with AI hints from the shipped packs ($RDS_WEIGHTS_DIR or "
        "weights/), create the sequential demo study and one demo reader, and write the reader's "
        "access code to demo_reader_code.txt next to the database. Run again, it only checks "
        "that code. Exit status 2 when the demo cannot be set up.",
    )
    parser.add_argument("--samples", type=Path, default=None,
                        help="folder with the films and samples.csv (default: samples/)")
    parser.add_argument("--pack", default="rds-demo", help="classification pack (default rds-demo)")
    parser.add_argument("--seg-pack", default="lung-seg", help="lung segmentation pack (default lung-seg)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where the models run for the hints (default auto)")
    parser.add_argument("--new-reader", action="store_true",
                        help="create another demo reader with a fresh code (e.g. for the next visitor)")
    parser.set_defaults(handler=_run_demo_setup)


def _run_import(args: argparse.Namespace) -> int:
    from study.import_cli import run_import

    return run_import(args)


def _add_import(subparsers: argparse._SubParsersAction) -> None:
    from study.import_cli import add_arguments

    parser = subparsers.add_parser(
        "import",
        help="import a folder of films with their truth as a case set (and create a study)",
        description="Import FOLDER with its truth CSV (file,truth or the training table's filepath,rds) "
        "into the study database ($RDS_STUDY_DB): DICOM de-identified, AI hints computed with --pack. "
        "With --study, also create a study over the new case set. Exit status 2 on failure.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=_run_import)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m study`` argument parser with all sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m study", description="Reader-study tools.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_mrmc(subparsers)
    _add_plan(subparsers)
    _add_import(subparsers)
    _add_demo_setup(subparsers)
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
