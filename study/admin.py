"""What the study team does: create studies and readers, watch progress, export answers.

Admin-facing only: these functions see truth (:func:`export_answers`) and the
automation-bias flags; no reader page calls them.

A study fixes, when it is created, which cases it reads, the crossover half of each case
(stratified by truth) and the flagged cases. A reader's reading list is shuffled with a
generator seeded by sha256(study seed, study id, reader id) and materialised in the
``plan`` table when the reader is created, so a later change of the shuffling code can
never reorder a running study.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlite_utils import Database

from study import StudyError
from study.config import DEFAULT_WASHOUT_DAYS
from study.db import from_iso, to_iso, utc_now, write_transaction
from study.plan import session_progress, washout_opens_at
from study.records import ARMS, DESIGNS, NewReader, ReaderProgress, StudyInfo
from study.security import AccessCode, hash_secret, new_access_code

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "StudyConfigError",
    "UnknownStudyError",
    "create_study",
    "get_study",
    "find_study",
    "list_studies",
    "create_readers",
    "reader_progress",
    "export_answers",
    "rds_rating",
]


class StudyConfigError(StudyError):
    """A study cannot be created with these settings."""


class UnknownStudyError(StudyError):
    """No study with this id or name."""


# --- studies ------------------------------------------------------------------------


def _validate_design(design: str, arms: Sequence[str], flagged_fraction: float,
                     washout_days: float) -> tuple[str, ...]:
    if design not in DESIGNS:
        raise StudyConfigError(f"Design must be one of {', '.join(DESIGNS)} (got {design!r}).")
    arms = tuple(arms)
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown:
        raise StudyConfigError(f"Unknown arm(s) {unknown}; arms are {', '.join(ARMS)}.")
    if len(set(arms)) != len(arms):
        raise StudyConfigError(f"Each arm may appear only once (got {list(arms)}).")
    if design == "sequential" and (len(arms) < 2 or arms[0] != "none"):
        raise StudyConfigError(
            "A sequential study starts with the unaided arm 'none' followed by at least "
            f"one aided arm, e.g. ['none', 'score_heatmap'] (got {list(arms)})."
        )
    if design == "crossover" and len(arms) != 2:
        raise StudyConfigError(
            f"A crossover study compares exactly two arms (got {list(arms)})."
        )
    if not 0.0 <= flagged_fraction <= 0.5:
        raise StudyConfigError(
            f"The fraction of deliberately wrong AI outputs must be 0 to 0.5 (got {flagged_fraction})."
        )
    if washout_days < 0:
        raise StudyConfigError(f"The washout cannot be negative (got {washout_days} days).")
    return arms


def _rng(*parts: object) -> random.Random:
    # sha256 rather than hash(): stable across processes and Python versions.
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _split_halves(cases: list[tuple[int, int]], seed: str) -> dict[int, int]:
    """Stratified split: RDS and non-RDS cases dealt alternately into two halves."""
    rng = _rng(seed, "halves")
    dealt: list[int] = []
    for truth in (1, 0):
        stratum = sorted(cid for cid, t in cases if t == truth)
        rng.shuffle(stratum)
        dealt.extend(stratum)
    return {cid: i % 2 for i, cid in enumerate(dealt)}


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
    arms = _validate_design(design, arms, flagged_fraction, washout_days)
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
    halves = _split_halves([(cid, truth) for cid, truth, _ in cases], seed)
    n_flagged = round(flagged_fraction * len(cases))
    flagged = set(_rng(seed, "flagged").sample(sorted(halves), n_flagged))
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


def _study_from_row(db: Database, row: sqlite3.Row | tuple) -> StudyInfo:
    study_id = row[0]
    n_cases = db.conn.execute(
        "SELECT COUNT(*) FROM study_cases WHERE study_id = ?", (study_id,)
    ).fetchone()[0]
    return StudyInfo(
        study_id=study_id, name=row[1], case_set_id=row[2], design=row[3],
        arms=tuple(json.loads(row[4])), flagged_fraction=row[5], washout_days=row[6],
        seed=row[7], created_at=from_iso(row[8]), n_cases=n_cases,
    )


_STUDY_COLUMNS = "id, name, case_set_id, design, arms, flagged_fraction, washout_days, seed, created_at"


def get_study(db: Database, study_id: int) -> StudyInfo:
    """Load a study by id.

    Args:
        db: the study database.
        study_id: database id.

    Raises:
        UnknownStudyError: no such study.
    """
    row = db.conn.execute(f"SELECT {_STUDY_COLUMNS} FROM studies WHERE id = ?", (study_id,)).fetchone()
    if row is None:
        raise UnknownStudyError(f"There is no study with id {study_id}.")
    return _study_from_row(db, row)


def find_study(db: Database, name: str) -> StudyInfo | None:
    """Load a study by name, or None.

    Args:
        db: the study database.
        name: the study's unique name.
    """
    row = db.conn.execute(f"SELECT {_STUDY_COLUMNS} FROM studies WHERE name = ?", (name,)).fetchone()
    return None if row is None else _study_from_row(db, row)


def list_studies(db: Database) -> list[StudyInfo]:
    """All studies, oldest first.

    Args:
        db: the study database.
    """
    rows = db.conn.execute(f"SELECT {_STUDY_COLUMNS} FROM studies ORDER BY id").fetchall()
    return [_study_from_row(db, row) for row in rows]


# --- readers and their reading lists -------------------------------------------------


def _build_plan(study: StudyInfo, halves: dict[int, int], reader_idx: int,
                reader_id: int) -> list[tuple[int, int, str]]:
    """(session, case_id, arm) in reading order for one reader."""
    case_ids = sorted(halves)
    if study.design == "sequential":
        order = case_ids[:]
        _rng(study.seed, study.study_id, reader_id, "order", 1).shuffle(order)
        return [(1, cid, arm) for cid in order for arm in study.arms]
    group = reader_idx % 2
    plan: list[tuple[int, int, str]] = []
    for session in (1, 2):
        order = case_ids[:]
        _rng(study.seed, study.study_id, reader_id, "order", session).shuffle(order)
        shift = group + session - 1
        plan += [(session, cid, study.arms[(halves[cid] + shift) % 2]) for cid in order]
    return plan


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
                plan = _build_plan(study, halves, idx, reader_id)
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


def rds_rating(diagnosis: bool, confidence: float) -> float:
    """Map a binary diagnosis plus confidence to one 0-100 rating of RDS likelihood.

    ``50 + confidence / 2`` for an RDS answer, ``50 - confidence / 2`` otherwise, so a
    certain RDS is 100, a certain non-RDS 0 and a pure guess 50 either way. This is the
    ordinal rating scale ROC/MRMC analysis needs.

    Args:
        diagnosis: True for RDS.
        confidence: 0-100 certainty in that diagnosis.
    """
    return 50.0 + confidence / 2.0 if diagnosis else 50.0 - confidence / 2.0


def export_answers(db: Database, study_id: int) -> pd.DataFrame:
    """All answers of a study joined with truth: one tidy row per read (admin only).

    Column names follow the read table of ``study.analysis.table``, so the frame goes
    straight into the MRMC, switching, agreement and automation-bias functions:

    ``reader`` (label), ``reader_id``, ``reader_role``, ``years_experience``, ``case``,
    ``modality`` (the arm), ``session``, ``position``, ``truth`` (1 = RDS), ``severity``,
    ``call`` (the reader's diagnosis, 1 = RDS), ``confidence`` (0-100), ``rating``
    (:func:`rds_rating`), ``correct``, ``ai_call`` (the AI call shown for this case in
    aided arms, flipped on flagged cases; given on every row so unaided reads can be
    compared with it; NaN without a hint), ``ai_probability`` (shown on this read,
    NaN when unaided), ``ai_heatmap_shown``, ``flagged`` (automation-bias case, per
    case), ``ai_hint_flipped`` (per read: the wrong output was actually shown),
    ``time_s`` (client time when sent, else server time), ``time_on_case_ms``,
    ``server_time_on_case_ms``, ``submitted_at`` (UTC), ``study_id``.

    Args:
        db: the study database.
        study_id: the study.

    Raises:
        UnknownStudyError: no such study.
    """
    import pandas as pd  # only admin/analysis need pandas; readers never import it

    get_study(db, study_id)
    rows = db.conn.execute(
        "SELECT r.label, a.reader_id, r.role, r.years_experience, a.case_id, a.arm, a.session, "
        "a.position, c.truth, c.severity, a.diagnosis, a.confidence, "
        "CASE WHEN h.label IS NULL THEN NULL ELSE (h.label = 'RDS') <> sc.flagged END, "
        "a.ai_probability, a.ai_heatmap_shown, sc.flagged, a.ai_hint_flipped, "
        "a.time_on_case_ms, a.server_time_on_case_ms, a.submitted_at, a.study_id "
        "FROM answers a JOIN readers r ON r.id = a.reader_id JOIN cases c ON c.id = a.case_id "
        "JOIN study_cases sc ON sc.study_id = a.study_id AND sc.case_id = a.case_id "
        "LEFT JOIN ai_hints h ON h.case_id = a.case_id "
        "WHERE a.study_id = ? ORDER BY r.idx, a.case_id, a.position",
        (study_id,),
    ).fetchall()
    columns = ["reader", "reader_id", "reader_role", "years_experience", "case", "modality",
               "session", "position", "truth", "severity", "call", "confidence", "ai_call",
               "ai_probability", "ai_heatmap_shown", "flagged", "ai_hint_flipped",
               "time_on_case_ms", "server_time_on_case_ms", "submitted_at", "study_id"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["rating"] = [rds_rating(bool(d), c) for d, c in zip(frame["call"], frame["confidence"])]
    frame["correct"] = (frame["call"] == frame["truth"]).astype(int)
    frame["time_s"] = frame["time_on_case_ms"].fillna(frame["server_time_on_case_ms"]) / 1000.0
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True, format="ISO8601")
    ordered = columns[:12] + ["rating", "correct"] + columns[12:17] + ["time_s"] + columns[17:]
    return frame[ordered]
