"""What the study team does: create studies and readers, watch progress, export answers.

Admin-facing only: these functions see the automation-bias flags; no reader page calls
them (the answers joined with truth are exported by :mod:`study.answers`).

A study fixes, when it is created, which cases it reads, the crossover half of each case
(stratified by truth) and the flagged cases; a reader's reading list is materialised in
the ``plan`` table when the reader is created. :mod:`study.design` computes all of them
(pure, seeded); this module stores them, so a later change of that code can never reorder
a running study.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from sqlite_utils import Database

from study import StudyError
from study.config import DEFAULT_WASHOUT_DAYS
from study.db import from_iso, named_row, named_rows, to_iso, utc_now, write_transaction
from study.design import StudyConfigError, flagged_cases, reading_plan, split_halves, validate_design
from study.plan import session_progress, washout_opens_at
from study.records import NewReader, ReaderProgress, StudyInfo
from study.security import AccessCode, hash_secret, new_access_code

__all__ = [
    "StudyConfigError",
    "UnknownStudyError",
    "create_study",
    "get_study",
    "find_study",
    "list_studies",
    "create_readers",
    "reader_progress",
]


class UnknownStudyError(StudyError):
    """No study with this id or name."""


# --- studies ------------------------------------------------------------------------


def create_study(
    db: Database,
    *,
    name: str,
    case_set_id: int,
    design: str,
    arms: Sequence[str],
    flagged_fraction: float = 0.0,
    washout_days: float = DEFAULT_WASHOUT_DAYS,
    seed: str | None = None,
    now: datetime | None = None,
) -> StudyInfo:
    """Create a study over a case set.

    Args:
        db: the study database.
        name: unique, human-readable name.
        case_set_id: an imported case set (status ``ready``).
        design: ``sequential`` or ``crossover``.
        arms: hint arms; sequential: ``none`` first then aided arms in reading order;
            crossover: exactly two.
        flagged_fraction: 0 (default) to 0.5: fraction of cases whose shown AI output
            is deliberately wrong (automation-bias probe).
        washout_days: crossover washout, default 28.
        seed: study seed; a random one is drawn and stored when None.
        now: the current time (tests inject it).

    Returns:
        The new study.

    Raises:
        StudyConfigError: invalid settings, unknown or unfinished case set, missing AI
            hints for an aided arm, or a duplicate name.
    """
    arms = validate_design(design, arms, flagged_fraction, washout_days)
    name = name.strip()
    if not name:
        raise StudyConfigError("A study needs a name.")
    seed = seed if seed is not None else secrets.token_hex(8)
    status = db.conn.execute("SELECT status FROM case_sets WHERE id = ?", (case_set_id,)).fetchone()
    if status is None:
        raise StudyConfigError(f"There is no case set with id {case_set_id}.")
    if status[0] != "ready":
        raise StudyConfigError(f"Case set {case_set_id} has not finished importing.")
    cases = db.conn.execute(
        "SELECT c.id, c.truth, h.case_id IS NOT NULL FROM cases c "
        "LEFT JOIN ai_hints h ON h.case_id = c.id WHERE c.case_set_id = ? ORDER BY c.id",
        (case_set_id,),
    ).fetchall()
    if len(cases) < 2:
        raise StudyConfigError(f"Case set {case_set_id} has {len(cases)} case(s); a study needs at least 2.")
    missing_hints = sum(1 for _c, _t, has in cases if not has)
    if any(arm != "none" for arm in arms) and missing_hints:
        raise StudyConfigError(
            f"{missing_hints} case(s) of case set {case_set_id} have no precomputed AI hint, "
            "so they cannot be shown in an aided arm. Re-import the case set with a hint function."
        )
    halves = split_halves([(cid, truth) for cid, truth, _ in cases], seed)
    flagged = flagged_cases(list(halves), flagged_fraction, seed)
    created = now or utc_now()
    try:
        with write_transaction(db) as conn:
            cursor = conn.execute(
                "INSERT INTO studies (name, case_set_id, design, arms, flagged_fraction, "
                "washout_days, seed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, case_set_id, design, json.dumps(list(arms)), float(flagged_fraction),
                 float(washout_days), seed, to_iso(created)),
            )
            study_id = cursor.lastrowid
            conn.executemany(
                "INSERT INTO study_cases (study_id, case_id, half, flagged) VALUES (?, ?, ?, ?)",
                [(study_id, cid, half, int(cid in flagged)) for cid, half in sorted(halves.items())],
            )
    except sqlite3.IntegrityError as err:
        if "studies.name" in str(err):
            raise StudyConfigError(f"A study named {name!r} already exists.") from err
        raise
    return get_study(db, study_id)


def _study_from_row(db: Database, row: sqlite3.Row) -> StudyInfo:
    n_cases = db.conn.execute("SELECT COUNT(*) FROM study_cases WHERE study_id = ?", (row["id"],)).fetchone()[0]
    return StudyInfo.from_row(row, n_cases)


_STUDY_COLUMNS = "id, name, case_set_id, design, arms, flagged_fraction, washout_days, seed, created_at"


def get_study(db: Database, study_id: int) -> StudyInfo:
    """Load a study by id.

    Args:
        db: the study database.
        study_id: database id.

    Raises:
        UnknownStudyError: no such study.
    """
    row = named_row(db.conn, f"SELECT {_STUDY_COLUMNS} FROM studies WHERE id = ?", (study_id,))
    if row is None:
        raise UnknownStudyError(f"There is no study with id {study_id}.")
    return _study_from_row(db, row)


def find_study(db: Database, name: str) -> StudyInfo | None:
    """Load a study by name, or None.

    Args:
        db: the study database.
        name: the study's unique name.
    """
    row = named_row(db.conn, f"SELECT {_STUDY_COLUMNS} FROM studies WHERE name = ?", (name,))
    return None if row is None else _study_from_row(db, row)


def list_studies(db: Database) -> list[StudyInfo]:
    """All studies, oldest first.

    Args:
        db: the study database.
    """
    rows = named_rows(db.conn, f"SELECT {_STUDY_COLUMNS} FROM studies ORDER BY id")
    return [_study_from_row(db, row) for row in rows]


# --- readers and their reading lists -------------------------------------------------


def create_readers(
    db: Database,
    study_id: int,
    readers: int | Sequence[str],
    *,
    now: datetime | None = None,
) -> list[NewReader]:
    """Create readers with fresh access codes and their reading lists.

    Args:
        db: the study database.
        study_id: the study they read.
        readers: how many (labelled ``R01``, ``R02``... after the existing ones), or
            explicit pseudonym labels. Never use real names: labels appear in exports.
        now: the current time (tests inject it).

    Returns:
        The new readers with their codes; the codes cannot be shown again.

    Raises:
        UnknownStudyError: no such study.
        StudyConfigError: a label is empty or already used in this study.
    """
    study = get_study(db, study_id)
    created = to_iso(now or utc_now())
    count = readers if isinstance(readers, int) else len(readers)
    # scrypt is slow on purpose: hash before taking the write lock.
    codes = [new_access_code() for _ in range(count)]
    hashed = [hash_secret(code.secret) for code in codes]
    halves = dict(db.conn.execute(
        "SELECT case_id, half FROM study_cases WHERE study_id = ?", (study_id,)
    ).fetchall())
    result: list[NewReader] = []
    try:
        with write_transaction(db) as conn:
            next_idx = conn.execute(
                "SELECT COALESCE(MAX(idx) + 1, 0) FROM readers WHERE study_id = ?", (study_id,)
            ).fetchone()[0]
            for offset, (code, (salt, digest)) in enumerate(zip(codes, hashed)):
                idx = next_idx + offset
                label = f"R{idx + 1:02d}" if isinstance(readers, int) else str(readers[offset]).strip()
                if not label:
                    raise StudyConfigError("Reader labels cannot be empty.")
                while conn.execute("SELECT 1 FROM readers WHERE code_handle = ?", (code.handle,)).fetchone():
                    code = AccessCode(handle=new_access_code().handle, secret=code.secret)
                reader_id = conn.execute(
                    "INSERT INTO readers (study_id, idx, label, code_handle, code_salt, code_hash, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (study_id, idx, label, code.handle, salt, digest, created),
                ).lastrowid
                plan = reading_plan(study.design, study.arms, study.seed, study.study_id, halves, idx, reader_id)
                sessions = sorted({session for session, _c, _a in plan})
                conn.executemany(
                    "INSERT INTO sessions (reader_id, number) VALUES (?, ?)",
                    [(reader_id, s) for s in sessions],
                )
                conn.executemany(
                    "INSERT INTO plan (study_id, reader_id, position, session, case_id, arm) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(study_id, reader_id, pos, s, cid, arm) for pos, (s, cid, arm) in enumerate(plan)],
                )
                result.append(NewReader(reader_id=reader_id, label=label, code=code.display))
    except sqlite3.IntegrityError as err:
        if "readers.study_id, readers.label" in str(err):
            raise StudyConfigError(f"Reader labels must be unique within the study: {list(readers)}.") from err
        raise
    return result

# --- admin: progress and export ---------------------------------------------------------


def reader_progress(db: Database, study_id: int, *, now: datetime | None = None) -> list[ReaderProgress]:
    """Progress of every reader of a study (admin-facing).

    Args:
        db: the study database.
        study_id: the study.
        now: the current time, for the washout state (tests inject it).

    Raises:
        UnknownStudyError: no such study.
    """
    study = get_study(db, study_id)
    now = now or utc_now()
    conn = db.conn
    result = []
    readers = conn.execute(
        "SELECT id, label, role, years_experience FROM readers WHERE study_id = ? ORDER BY idx",
        (study_id,),
    ).fetchall()
    for reader_id, label, role, years in readers:
        progress = session_progress(conn, reader_id, 1)
        last = conn.execute("SELECT MAX(submitted_at) FROM answers WHERE reader_id = ?", (reader_id,)).fetchone()[0]
        started = conn.execute("SELECT COUNT(*) FROM case_views WHERE reader_id = ?", (reader_id,)).fetchone()[0]
        opens_at = None
        if progress.done == progress.total:
            state = "complete"
        elif progress.done == 0 and not started:
            state = "not started"
        else:
            state = "in progress"
            if study.design == "crossover" and progress.session_done == progress.session_total:
                opens_at = washout_opens_at(conn, reader_id, study.washout_days)
                if opens_at is not None and now < opens_at:
                    state = "washout"
        result.append(ReaderProgress(
            reader_id=reader_id, label=label, role=role, years_experience=years,
            done=progress.done, total=progress.total, state=state, opens_at=opens_at,
            last_activity_at=from_iso(last) if last else None,
        ))
    return result
