"""The state machine of a read: the reader's next task, the first view, the answer.

The study's design (sequential / crossover, counterbalancing, washout, arms, the flagged
automation-bias cases) is :mod:`study.design`; this module applies it to one read. On a
flagged case an aided arm shows the AI output mirrored across the threshold; the flag is
stored in ``study_cases`` and with every answer, and never reaches a reader-facing object.

Each reader's order is fixed in the ``plan`` table when the reader is created;
:func:`next_task` is a pure read of the database, so a reader who closes the browser
and comes back gets the same case.

The records it returns live in :mod:`study.records`; studies and readers are created by
:mod:`study.admin`.

The page flow::

    task = next_task(db, study_id, reader_id)          # Task | WashoutPending | StudyComplete
    mark_viewed(db, task.key)                          # first view, server time
    submit_answer(db, task.key, diagnosis=True, confidence=80, time_on_case_ms=...)
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from study import StudyError
from study.admin import get_study
from study.db import from_iso, named_row, named_rows, resolve_storage_ref, to_iso, utc_now, write_transaction
from study.plan import PLAN_WITH_ANSWERS, session_progress, washout_opens_at
from study.records import AiHint, Answer, AnswerKey, ReaderCase, ReadTelemetry, StudyComplete, Task, WashoutPending
from study.security import ReaderIdentity, UnknownReaderError, get_reader

__all__ = [
    "InvalidAnswerError",
    "AnswerConflictError",
    "OutOfOrderError",
    "WashoutError",
    "next_task",
    "mark_viewed",
    "submit_answer",
    "reader_answers",
]

_MAX_CLIENT_TEXT = 64
_MAX_EDIT_JSON = 20_000

# --- errors -------------------------------------------------------------------------


class InvalidAnswerError(StudyError):
    """An answer value is out of range or of the wrong type."""


class AnswerConflictError(StudyError):
    """A different answer already exists for this reader, case and arm; answers are
    locked once submitted and never overwritten."""


class OutOfOrderError(StudyError):
    """The read is not the reader's current one (or not in their reading list)."""


class WashoutError(StudyError):
    """Session 2 of a crossover study is not open yet.

    Attributes:
        opens_at: when the session opens (UTC).
    """

    def __init__(self, message: str, opens_at: datetime) -> None:
        super().__init__(message)
        self.opens_at = opens_at


# --- the state machine of a read ------------------------------------------------------


def _reader_in_study(db: Database, study_id: int, reader_id: int) -> ReaderIdentity:
    reader = get_reader(db, reader_id)
    if reader.study_id != study_id:
        raise UnknownReaderError(f"Reader {reader_id} does not take part in study {study_id}.")
    return reader


def _washout_message(opens_at: datetime, washout_days: float) -> str:
    return (
        f"Your second reading session opens on {opens_at:%Y-%m-%d at %H:%M} UTC, "
        f"{washout_days:g} days after you finished the first one, so that your memory of "
        "the first reading does not influence the second. Please come back then."
    )


def _mirror(p: float, threshold: float) -> float:
    """Reflect a probability across the threshold (0 <-> 1, threshold fixed)."""
    if p >= threshold:
        return threshold - (p - threshold) * threshold / (1 - threshold) if threshold < 1 else 0.0
    return threshold + (threshold - p) * (1 - threshold) / threshold


def _shown_hint(row: sqlite3.Row | None, arm: str, flagged: bool) -> AiHint | None:
    if arm == "none" or row is None:
        return None
    probability, threshold, positive = float(row["probability"]), float(row["threshold"]), bool(row["positive"])
    folds = tuple(float(f) for f in json.loads(row["fold_probabilities"]))
    if flagged:
        # Deliberately wrong output: the call flips; probabilities are mirrored across
        # the threshold (1 - p when it is 0.5) and nudged off it so they agree with the
        # call. The heatmap is left as computed: it shows where the model looked.
        positive = not positive
        probability = _mirror(probability, threshold)
        if (probability >= threshold) != positive:
            probability = min(1.0, threshold + 1e-3) if positive else threshold - 1e-3
        folds = tuple(_mirror(f, threshold) for f in folds)
    heatmap = row["heatmap_png"]
    return AiHint(
        probability=probability, fold_probabilities=folds, spread=float(row["spread"]),
        threshold=threshold, positive=positive,
        heatmap_png=bytes(heatmap) if arm == "score_heatmap" and heatmap is not None else None,
        pack_name=row["pack_name"], pack_version=row["pack_version"],
    )


def _hint_for(conn: sqlite3.Connection, study_id: int, case_id: int, arm: str) -> tuple[AiHint | None, bool]:
    flagged = conn.execute(
        "SELECT flagged FROM study_cases WHERE study_id = ? AND case_id = ?", (study_id, case_id)
    ).fetchone()[0]
    row = named_row(conn, "SELECT probability, fold_probabilities, spread, threshold, positive, heatmap_png, "
                          "pack_name, pack_version FROM ai_hints WHERE case_id = ?", (case_id,))
    hint = _shown_hint(row, arm, bool(flagged))
    return hint, bool(flagged) and hint is not None


_ANSWER_COLUMNS = (
    "id, study_id, reader_id, case_id, arm, session, diagnosis, confidence, "
    "time_on_case_ms, server_time_on_case_ms, submitted_at"
)




def reader_answers(db: Database, study_id: int, reader_id: int) -> list[Answer]:
    """A reader's own answers, in submission order.

    Args:
        db: the study database.
        study_id: the study.
        reader_id: the reader (only their answers are returned).
    """
    rows = named_rows(db.conn, f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE study_id = ? AND reader_id = ? ORDER BY id",
                      (study_id, reader_id))
    return [Answer.from_row(row) for row in rows]


def next_task(
    db: Database, study_id: int, reader_id: int, *, now: datetime | None = None
) -> Task | StudyComplete | WashoutPending:
    """What the reader has to do now. Reads only; call it again after any restart.

    Args:
        db: the study database.
        study_id: the study.
        reader_id: the (authenticated) reader.
        now: the current time, for the washout (tests inject it).

    Returns:
        The next :class:`Task`, :class:`WashoutPending` if session 2 is not open
        yet, or :class:`StudyComplete`.

    Raises:
        UnknownReaderError: the reader does not exist or is in another study.
    """
    _reader_in_study(db, study_id, reader_id)
    study = get_study(db, study_id)
    conn = db.conn
    row = conn.execute(
        f"SELECT p.session, p.case_id, p.arm {PLAN_WITH_ANSWERS} "
        "WHERE p.study_id = ? AND p.reader_id = ? AND a.id IS NULL ORDER BY p.position LIMIT 1",
        (study_id, reader_id),
    ).fetchone()
    if row is None:
        last = conn.execute("SELECT MAX(session) FROM plan WHERE reader_id = ?", (reader_id,)).fetchone()[0]
        return StudyComplete(study_id=study_id, reader_id=reader_id,
                             progress=session_progress(conn, reader_id, last or 1))
    session, case_id, arm = row
    progress = session_progress(conn, reader_id, session)
    if session == 2:
        opens_at = washout_opens_at(conn, reader_id, study.washout_days)
        if opens_at is not None and (now or utc_now()) < opens_at:
            return WashoutPending(study_id=study_id, reader_id=reader_id, opens_at=opens_at,
                                  progress=progress,
                                  message=_washout_message(opens_at, study.washout_days))
    stored_path, file_format, width, height = conn.execute(
        "SELECT stored_path, file_format, width, height FROM cases WHERE id = ?", (case_id,)
    ).fetchone()
    hint, _flipped = _hint_for(conn, study_id, case_id, arm)
    earlier = tuple(
        answer for answer in reader_answers(db, study_id, reader_id)
        if answer.key.case_id == case_id and answer.session == session
    )
    viewed = conn.execute(
        "SELECT first_viewed_at FROM case_views WHERE study_id = ? AND reader_id = ? "
        "AND case_id = ? AND arm = ?",
        (study_id, reader_id, case_id, arm),
    ).fetchone()
    case_number, case_total = _case_number(conn, reader_id, case_id)
    return Task(
        key=AnswerKey(study_id=study_id, reader_id=reader_id, case_id=case_id, arm=arm),
        case=ReaderCase(case_id=case_id, image_path=resolve_storage_ref(db, stored_path),
                        file_format=file_format, width=width, height=height),
        hint=hint, session=session, progress=progress, earlier_answers=earlier,
        first_viewed_at=from_iso(viewed[0]) if viewed else None,
        case_number=case_number, case_total=case_total,
    )


def _case_number(conn: sqlite3.Connection, reader_id: int, case_id: int) -> tuple[int, int]:
    """The case's place in this reader's own order (1-based) and the number of distinct cases.

    Derived from the reader's seeded plan, so it says nothing about import order or truth.
    """
    first_seen = conn.execute(
        "SELECT case_id, MIN(position) AS first FROM plan WHERE reader_id = ? GROUP BY case_id ORDER BY first",
        (reader_id,),
    ).fetchall()
    order = [row[0] for row in first_seen]
    return order.index(case_id) + 1, len(order)


def _plan_row(conn: sqlite3.Connection, key: AnswerKey) -> tuple[int, int]:
    row = conn.execute(
        "SELECT position, session FROM plan WHERE study_id = ? AND reader_id = ? "
        "AND case_id = ? AND arm = ?",
        (key.study_id, key.reader_id, key.case_id, key.arm),
    ).fetchone()
    if row is None:
        raise OutOfOrderError(
            f"Case {key.case_id} in arm {key.arm!r} is not in this reader's reading list."
        )
    return row


def _check_current(conn: sqlite3.Connection, key: AnswerKey, position: int, session: int,
                   now: datetime) -> None:
    """Refuse a read that is not the reader's current one, or in a closed session."""
    pending = conn.execute(
        f"SELECT COUNT(*) {PLAN_WITH_ANSWERS} WHERE p.reader_id = ? AND p.position < ? AND a.id IS NULL",
        (key.reader_id, position),
    ).fetchone()[0]
    if pending:
        raise OutOfOrderError(
            "This is not your current case: earlier reads must be answered first "
            "(an aided read only after the unaided read of the same case)."
        )
    if session != 2:
        return
    washout = conn.execute("SELECT washout_days FROM studies WHERE id = ?", (key.study_id,)).fetchone()[0]
    opens_at = washout_opens_at(conn, key.reader_id, washout)
    if opens_at is None:  # unreachable while reads are in order; kept as a guard
        raise OutOfOrderError("Please finish the first reading session before starting the second.")
    if now < opens_at:
        raise WashoutError(_washout_message(opens_at, washout), opens_at)


def _clean_client_time(value: str | datetime | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_iso(value) if value.tzinfo else value.isoformat()
    text = str(value)
    if len(text) > _MAX_CLIENT_TEXT:
        raise InvalidAnswerError(f"{name} is too long to be a timestamp.")
    return text


def mark_viewed(
    db: Database,
    key: AnswerKey,
    *,
    client_viewed_at: str | datetime | None = None,
    now: datetime | None = None,
) -> datetime:
    """Record the first time the reader sees a read; later calls change nothing.

    The server-side time on case (first view to submit) starts here, so a reload or a
    resumed session does not reset the clock.

    Args:
        db: the study database.
        key: the task's key.
        client_viewed_at: the browser's timestamp, stored as given.
        now: the server time (tests inject it).

    Returns:
        The (first) view time.

    Raises:
        OutOfOrderError: the read is not in the reader's list.
        WashoutError: session 2 is not open yet.
    """
    lookup = (
        "SELECT first_viewed_at FROM case_views WHERE study_id = ? AND reader_id = ? "
        "AND case_id = ? AND arm = ?"
    )
    params = (key.study_id, key.reader_id, key.case_id, key.arm)
    seen = db.conn.execute(lookup, params).fetchone()
    if seen:  # reruns of the page land here without taking the write lock
        return from_iso(seen[0])
    now = now or utc_now()
    client = _clean_client_time(client_viewed_at, "client_viewed_at")
    with write_transaction(db) as conn:
        position, session = _plan_row(conn, key)
        _check_current(conn, key, position, session, now)
        inserted = conn.execute(
            "INSERT OR IGNORE INTO case_views (study_id, reader_id, case_id, arm, "
            "first_viewed_at, client_viewed_at) VALUES (?, ?, ?, ?, ?, ?)",
            (*params, to_iso(now), client),
        ).rowcount
        if inserted:
            conn.execute(
                "UPDATE sessions SET started_at = COALESCE(started_at, ?) "
                "WHERE reader_id = ? AND number = ?",
                (to_iso(now), key.reader_id, session),
            )
            _log(conn, "view", now, key, {})
        seen = conn.execute(lookup, params).fetchone()
    return from_iso(seen[0])


def _log(conn: sqlite3.Connection, kind: str, now: datetime, key: AnswerKey, detail: dict) -> None:
    conn.execute(
        "INSERT INTO events (at, kind, study_id, reader_id, case_id, arm, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (to_iso(now), kind, key.study_id, key.reader_id, key.case_id, key.arm,
         json.dumps(detail, sort_keys=True)),
    )


def _validate_answer(diagnosis: object, confidence: object, time_on_case_ms: object,
                     edit_durations: object) -> str:
    if not isinstance(diagnosis, bool):
        raise InvalidAnswerError(f"The diagnosis must be yes (RDS) or no (got {diagnosis!r}).")
    if isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
        raise InvalidAnswerError(f"Confidence must be a whole number from 0 to 100 (got {confidence!r}).")
    if time_on_case_ms is not None and (
        isinstance(time_on_case_ms, bool) or not isinstance(time_on_case_ms, int) or time_on_case_ms < 0
    ):
        raise InvalidAnswerError(f"Time on case must be a non-negative number of ms (got {time_on_case_ms!r}).")
    if edit_durations is None:
        edit_durations = []
    if isinstance(edit_durations, (str, bytes)) or not isinstance(edit_durations, (Sequence, Mapping)):
        raise InvalidAnswerError("Edit durations must be a list or mapping of durations.")
    try:
        encoded = json.dumps(edit_durations, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidAnswerError(f"Edit durations must be plain numbers and text: {err}.") from err
    if len(encoded) > _MAX_EDIT_JSON:
        raise InvalidAnswerError("Edit durations are too large to store.")
    return encoded


_TELEMETRY_COUNTS = ("first_answer_ms", "window_level_changes", "zoom_changes", "pan_changes",
                     "heatmap_toggles", "heatmap_visible_ms")
_MAX_VIEWER_STATE_JSON = 2_000


def _telemetry_values(telemetry: ReadTelemetry | None) -> tuple:
    """The telemetry as the answer row's column values (all None when none was measured)."""
    if telemetry is None:
        return (None,) * (len(_TELEMETRY_COUNTS) + 2)
    if not isinstance(telemetry, ReadTelemetry):
        raise InvalidAnswerError(f"Telemetry must be a ReadTelemetry record (got {type(telemetry).__name__}).")
    counts = []
    for name in _TELEMETRY_COUNTS:
        value = getattr(telemetry, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidAnswerError(f"Telemetry {name} must be a non-negative whole number (got {value!r}).")
        counts.append(value)
    if telemetry.confidence_set is not None and not isinstance(telemetry.confidence_set, bool):
        raise InvalidAnswerError(f"Telemetry confidence_set must be true or false (got {telemetry.confidence_set!r}).")
    try:
        state = json.dumps(telemetry.viewer_state, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidAnswerError(f"The viewer state must be plain numbers and text: {err}.") from err
    if len(state) > _MAX_VIEWER_STATE_JSON:
        raise InvalidAnswerError("The viewer state is too large to store.")
    confidence_set = None if telemetry.confidence_set is None else int(telemetry.confidence_set)
    return (*counts, confidence_set, state)


def _existing(conn: sqlite3.Connection, key: AnswerKey) -> sqlite3.Row | None:
    return named_row(conn, f"SELECT {_ANSWER_COLUMNS} FROM answers WHERE study_id = ? AND reader_id = ? "
                           "AND case_id = ? AND arm = ?", (key.study_id, key.reader_id, key.case_id, key.arm))


def _conflict_message(stored: Answer) -> str:
    said = "RDS" if stored.diagnosis else "no RDS"
    return (
        f"This case was already answered in the {stored.key.arm!r} arm ({said}, confidence "
        f"{stored.confidence}). Submitted answers are locked and cannot be changed."
    )


def submit_answer(
    db: Database,
    key: AnswerKey,
    *,
    diagnosis: bool,
    confidence: int,
    time_on_case_ms: int | None = None,
    edit_durations: Sequence[Any] | Mapping[str, Any] | None = None,
    client_started_at: str | datetime | None = None,
    client_submitted_at: str | datetime | None = None,
    telemetry: ReadTelemetry | None = None,
    now: datetime | None = None,
) -> Answer:
    """Store a reader's answer, committed before returning.

    Idempotent: the same diagnosis and confidence for an existing key (a double click,
    a resent form) returns the stored answer and writes nothing; the metadata of the
    first submit (times, client timestamps) is what stays. A different diagnosis or
    confidence raises :class:`AnswerConflictError`; an answer is never overwritten
    (the schema refuses UPDATE and DELETE on answers as well).

    The AI output that was shown is recorded from the server's own state (arm, hint,
    automation-bias flag), never from the client.

    Args:
        db: the study database.
        key: the task's key.
        diagnosis: True for RDS.
        confidence: 0-100, the reader's certainty in that diagnosis.
        time_on_case_ms: reading time measured by the page (first render to submit).
        edit_durations: JSON-able list/mapping of form edit timings (ms).
        client_started_at: browser timestamp when the case was shown.
        client_submitted_at: browser timestamp of the submit.
        telemetry: how the reader used the viewer on this read, stored in the same row
            (schema version 3); None stores NULLs.
        now: the server time (tests inject it).

    Returns:
        The stored answer.

    Raises:
        InvalidAnswerError: a value out of range or of the wrong type.
        AnswerConflictError: a different answer exists for this key.
        OutOfOrderError: not the reader's current read (e.g. aided before unaided).
        WashoutError: session 2 is not open yet.
    """
    edits = _validate_answer(diagnosis, confidence, time_on_case_ms, edit_durations)
    measured = _telemetry_values(telemetry)
    started = _clean_client_time(client_started_at, "client_started_at")
    submitted = _clean_client_time(client_submitted_at, "client_submitted_at")
    row = _existing(db.conn, key)
    if row is not None:  # fast path for a double click: no write lock
        stored = Answer.from_row(row)
        if (stored.diagnosis, stored.confidence) == (diagnosis, confidence):
            return stored
    now = now or utc_now()
    conflict: Answer | None = None
    with write_transaction(db) as conn:
        row = _existing(conn, key)  # re-read under the lock: another process may have won
        if row is not None:
            stored = Answer.from_row(row)
            if (stored.diagnosis, stored.confidence) == (diagnosis, confidence):
                return stored  # leaving the block commits an empty transaction
            conflict = stored
            _log(conn, "conflict", now, key, {"diagnosis": diagnosis, "confidence": confidence})
        else:
            position, session = _plan_row(conn, key)
            _check_current(conn, key, position, session, now)
            hint, flipped = _hint_for(conn, key.study_id, key.case_id, key.arm)
            viewed = conn.execute(
                "SELECT first_viewed_at FROM case_views WHERE study_id = ? AND reader_id = ? "
                "AND case_id = ? AND arm = ?",
                (key.study_id, key.reader_id, key.case_id, key.arm),
            ).fetchone()
            server_ms = (
                max(0, round((now - from_iso(viewed[0])).total_seconds() * 1000)) if viewed else None
            )
            conn.execute(
                "INSERT INTO answers (study_id, reader_id, case_id, arm, session, position, "
                "diagnosis, confidence, time_on_case_ms, server_time_on_case_ms, edit_durations, "
                "client_started_at, client_submitted_at, submitted_at, ai_probability, ai_spread, "
                "ai_threshold, ai_positive, ai_heatmap_shown, ai_hint_flipped, "
                f"{', '.join(_TELEMETRY_COUNTS)}, confidence_set, viewer_state) "
                f"VALUES ({', '.join('?' * (20 + len(measured)))})",
                (key.study_id, key.reader_id, key.case_id, key.arm, session, position,
                 int(diagnosis), confidence, time_on_case_ms, server_ms, edits, started, submitted,
                 to_iso(now),
                 hint.probability if hint else None, hint.spread if hint else None,
                 hint.threshold if hint else None, int(hint.positive) if hint else None,
                 int(bool(hint and hint.heatmap_png is not None)), int(flipped), *measured),
            )
            conn.execute(
                "UPDATE sessions SET started_at = COALESCE(started_at, ?) WHERE reader_id = ? AND number = ?",
                (viewed[0] if viewed else to_iso(now), key.reader_id, session),
            )
            left = conn.execute(
                f"SELECT COUNT(*) {PLAN_WITH_ANSWERS} WHERE p.reader_id = ? AND p.session = ? "
                "AND a.id IS NULL",
                (key.reader_id, session),
            ).fetchone()[0]
            if left == 0:
                conn.execute(
                    "UPDATE sessions SET completed_at = ? WHERE reader_id = ? AND number = ?",
                    (to_iso(now), key.reader_id, session),
                )
            _log(conn, "submit", now, key, {})
            row = _existing(conn, key)
    if conflict is not None:
        raise AnswerConflictError(_conflict_message(conflict))
    return Answer.from_row(row)
