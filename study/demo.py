"""The demo study: the films of ``samples/`` as a sequential study, ready after ``make demo``.

:func:`demo_setup` (``python -m study demo-setup``) creates or migrates the database,
imports ``samples/`` with AI hints from the shipped packs, creates the demo study and one
demo reader, and writes that reader's access code to ``demo_reader_code.txt`` next to the
database (``data/`` by default, git-ignored). Run again, it changes nothing and loads no
model: it only checks that the code in the file still opens the demo study, and creates a
new demo reader if the file is missing or stale (codes are stored hashed, so a lost code
cannot be shown again).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from study import StudyError
from study.admin import create_readers, create_study, find_study
from study.cases import HintFn, ImportReport, import_case_set
from study.config import REPO_ROOT
from study.db import connect, db_file
from study.records import NewReader, StudyInfo
from study.security import InvalidAccessCodeError, parse_access_code, verify_secret

__all__ = [
    "DEMO_NAME",
    "DEMO_ARMS",
    "CODE_FILE_NAME",
    "DemoStudy",
    "DemoSetup",
    "create_demo_study",
    "demo_code_file",
    "demo_setup",
    "run_demo_setup",
]

DEMO_NAME = "demo"
DEMO_ARMS = ("none", "score", "score_heatmap")
CODE_FILE_NAME = "demo_reader_code.txt"


@dataclass(frozen=True)
class DemoStudy:
    """Result of :func:`create_demo_study`.

    Attributes:
        study: the demo study.
        new_readers: readers created by this call with their codes (empty when the
            demo already existed: codes are shown only once).
        report: the import report, or None when the case set already existed.
    """

    study: StudyInfo
    new_readers: tuple[NewReader, ...]
    report: ImportReport | None


@dataclass(frozen=True)
class DemoSetup:
    """What :func:`demo_setup` found or made.

    Attributes:
        database: the database file.
        study: the demo study.
        code: the demo reader's access code (as in the code file).
        code_file: where the code is written.
        report: the import report when the case set was imported by this call.
        new_reader: a demo reader was created by this call.
        seconds: how long the call took.
    """

    database: Path
    study: StudyInfo
    code: str
    code_file: Path
    report: ImportReport | None
    new_reader: bool
    seconds: float


def create_demo_study(
    db: Database,
    samples_dir: str | Path,
    make_hint_fn: Callable[[], HintFn],
    *,
    name: str = DEMO_NAME,
    arms: Sequence[str] = DEMO_ARMS,
    readers: int = 1,
    storage_dir: str | Path | None = None,
    now: datetime | None = None,
) -> DemoStudy:
    """Create (once) a sequential study over ``samples/``; later calls change nothing.

    Args:
        db: the study database.
        samples_dir: folder with the films and ``samples.csv`` (``file, truth, ...``).
        make_hint_fn: builds the hint function; called only when the films must be
            imported, so a repeated call never loads a model.
        name: name of the demo case set and study.
        arms: sequential arms, ``none`` first.
        readers: demo readers to create on the first call.
        storage_dir: where the case copies go (default as for
            :func:`study.cases.import_case_set`).
        now: the current time (tests inject it).

    Returns:
        The study, the readers created by this call (with codes) and the import report.
    """
    existing = find_study(db, name)
    if existing is not None:
        return DemoStudy(study=existing, new_readers=(), report=None)
    samples_dir = Path(samples_dir)
    row = db.conn.execute(
        "SELECT id FROM case_sets WHERE name = ? AND status = 'ready'", (name,)
    ).fetchone()
    report = None
    if row is None:
        report = import_case_set(db, samples_dir, samples_dir / "samples.csv", name=name,
                                 storage_dir=storage_dir, hint_fn=make_hint_fn(), now=now)
        case_set_id = report.case_set_id
    else:
        case_set_id = row[0]
    study = create_study(db, name=name, case_set_id=case_set_id, design="sequential",
                         arms=arms, seed=name, now=now)
    new_readers = create_readers(db, study.study_id, readers, now=now)
    return DemoStudy(study=study, new_readers=tuple(new_readers), report=report)


def demo_code_file(db: Database) -> Path:
    """Where the demo reader's code is written: next to the database file.

    Args:
        db: the study database.
    """
    return db_file(db).resolve().parent / CODE_FILE_NAME


def _opens_study(db: Database, code: str, study_id: int) -> bool:
    """True when ``code`` is a reader's code of ``study_id`` (checked without logging a login)."""
    try:
        parsed = parse_access_code(code)
    except InvalidAccessCodeError:
        return False
    row = db.conn.execute(
        "SELECT code_salt, code_hash FROM readers WHERE code_handle = ? AND study_id = ?",
        (parsed.handle, study_id),
    ).fetchone()
    return row is not None and verify_secret(parsed.secret, row[0], row[1])


def _write_code(path: Path, code: str) -> None:
    partial = path.with_suffix(".part")
    # Readable by the owner only: the code opens the demo study.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(code + "\n")
    os.replace(partial, path)


def _default_hint_factory() -> HintFn:
    from study.hints import make_hint_fn  # imports torch: only when films are imported

    return make_hint_fn()


def demo_setup(
    db: Database,
    *,
    samples_dir: str | Path = REPO_ROOT / "samples",
    make_hint_fn: Callable[[], HintFn] = _default_hint_factory,
    storage_dir: str | Path | None = None,
    new_reader: bool = False,
    now: datetime | None = None,
) -> DemoSetup:
    """Make the demo study usable: films, hints, study, and a working demo reader code.

    Args:
        db: the study database (already migrated by :func:`study.db.connect`).
        samples_dir: folder with the films and ``samples.csv``.
        make_hint_fn: builds the hint function (default: the shipped packs through
            :func:`study.hints.make_hint_fn`); called only when the films are imported.
        storage_dir: where the case copies go (default ``$RDS_STUDY_CASES`` or
            ``data/cases``).
        new_reader: create another demo reader even when the code file still works
            (a fresh start for the next visitor).
        now: the current time (tests inject it).

    Returns:
        What was found or made, including the code written to the code file.

    Raises:
        CaseImportError: the samples cannot be imported.
        WeightPackError: a pack is missing or does not verify (first run only).
    """
    started = time.perf_counter()
    demo = create_demo_study(db, samples_dir, make_hint_fn, storage_dir=storage_dir, now=now)
    code_file = demo_code_file(db)
    code = demo.new_readers[0].code if demo.new_readers else None
    fresh = code is not None
    if code is None and not new_reader and code_file.is_file():
        stored = code_file.read_text(encoding="utf-8").strip()
        code = stored if _opens_study(db, stored, demo.study.study_id) else None
    if code is None:
        code = create_readers(db, demo.study.study_id, 1, now=now)[0].code
        fresh = True
    if fresh:
        _write_code(code_file, code)
    return DemoSetup(database=db_file(db).resolve(), study=demo.study, code=code, code_file=code_file,
                     report=demo.report, new_reader=fresh, seconds=time.perf_counter() - started)


def _shown(path: Path) -> str:
    """A path relative to the working folder when it lies inside it (shorter to read)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def run_demo_setup(args: argparse.Namespace) -> int:
    """``python -m study demo-setup``: set up the demo and print where everything is.

    Args:
        args: parsed options ``samples``, ``pack``, ``seg_pack``, ``device``, ``new_reader``.

    Returns:
        0 on success, 2 when the demo cannot be set up (the reason goes to stderr).
    """
    from rds_core.errors import RdsError

    def make_hint_fn() -> HintFn:
        print("Importing the demo films and computing their AI hints (first run only)...", flush=True)
        from study.hints import make_hint_fn as build  # imports torch: only when films are imported

        return build(args.pack, args.seg_pack, args.device)

    try:
        db = connect()
        result = demo_setup(db, samples_dir=args.samples or REPO_ROOT / "samples",
                            make_hint_fn=make_hint_fn, new_reader=args.new_reader)
    except (StudyError, RdsError, OSError) as err:
        print(f"demo-setup failed: {err}", file=sys.stderr)
        return 2
    study = result.study
    print(f"Database:     {_shown(result.database)}")
    if result.report is not None:
        print(f"Imported:     {len(result.report.imported)} films from the samples "
              f"into {_shown(Path(result.report.imported[0].stored_path).parent)}")
        for file, reason in result.report.skipped:
            print(f"  skipped {file}: {reason}")
        for file, note in result.report.warnings:
            print(f"  warning {file}: {note}")
    print(f"Demo study:   {study.name!r} (id {study.study_id}), {study.design}, arms "
          f"{' -> '.join(study.arms)}, {study.n_cases} cases")
    state = "new demo reader" if result.new_reader else "demo reader"
    print(f"Reader code:  {result.code}   ({state}; saved in {_shown(result.code_file)})")
    print("Reader page:  open the app and choose 'Reader study'; the admin page needs RDS_ADMIN_SECRET.")
    print(f"Done in {result.seconds:.1f} s.")
    return 0
