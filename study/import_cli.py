"""``python -m study import FOLDER --truth CSV --study NAME --pack P``: a case set and a study from the shell.

For the research team's own films: the truth CSV may use the study's columns
(``file, truth``) or the training table's (``filepath, rds``); DICOM is de-identified and
AI hints are computed with the named packs on import (:mod:`study.cases`, :mod:`study.hints`),
exactly as the admin page does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rds_core.errors import RdsError
from study import StudyError
from study.config import DEFAULT_WASHOUT_DAYS

__all__ = ["add_arguments", "run_import"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m study import``."""
    parser.add_argument("folder", type=Path, help="folder of films (PNG, JPEG, DICOM)")
    parser.add_argument("--truth", type=Path, default=None,
                        help="truth CSV with file,truth or filepath,rds columns (default FOLDER/truth.csv)")
    parser.add_argument("--study", default=None, help="also create a study of this name over the imported set")
    parser.add_argument("--name", default=None, help="case set name (default: the folder name)")
    parser.add_argument("--pack", default=None, help="RDS classification pack for the AI hints ($RDS_DEFAULT_PACK or rds-demo)")
    parser.add_argument("--seg-pack", default=None, help="lung segmentation pack ($RDS_SEG_PACK or lung-seg)")
    parser.add_argument("--no-hints", action="store_true", help="store no AI hints (unaided arms only)")
    parser.add_argument("--design", default="sequential", help="study design (sequential or crossover)")
    parser.add_argument("--arms", default="none,score,score_heatmap", help="comma list of arms")
    parser.add_argument("--washout-days", type=float, default=DEFAULT_WASHOUT_DAYS, help="crossover washout")
    parser.add_argument("--accept-burned-in", action="store_true",
                        help="import films marked with burned-in annotation (only after checking the pixels)")
    parser.add_argument("--device", default="auto", help="where the hint models run")


def run_import(args: argparse.Namespace) -> int:
    """Import, optionally create the study, print one line per outcome; exit 2 on failure."""
    from study.admin import create_study
    from study.cases import import_case_set
    from study.config import db_path
    from study.db import connect

    hint_fn = None
    try:
        if not args.no_hints:
            from study.hints import make_hint_fn

            hint_fn = make_hint_fn(args.pack, args.seg_pack, args.device)
        db = connect(db_path())  # $RDS_STUDY_DB or data/study.sqlite
        truth = args.truth or args.folder / "truth.csv"
        report = import_case_set(db, args.folder, truth, name=args.name, hint_fn=hint_fn,
                                 accept_burned_in=args.accept_burned_in)
        print(f"imported {len(report.imported)} films into case set {report.name!r}; skipped {len(report.skipped)}")
        for file, reason in report.skipped:
            print(f"  skipped {file}: {reason}")
        if args.study:
            study = create_study(db, name=args.study, case_set_id=report.case_set_id, design=args.design,
                                 arms=[a.strip() for a in args.arms.split(",") if a.strip()],
                                 washout_days=args.washout_days)
            print(f"created study {study.name!r} with {study.n_cases} cases")
    except (RdsError, StudyError, OSError) as err:
        print(f"error: {err}")
        return 2
    return 0
