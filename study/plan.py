"""Queries over a reader's reading plan: progress and the crossover washout.

Shared by the read state machine (:mod:`study.protocol`) and the admin views
(:mod:`study.admin`). ``PLAN_WITH_ANSWERS`` joins each planned read with its answer, if
any; ``a.id IS NULL`` means the read is still to do.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from study.db import from_iso
from study.records import Progress

__all__ = ["PLAN_WITH_ANSWERS", "session_progress", "washout_opens_at"]

PLAN_WITH_ANSWERS = (
    "FROM plan p LEFT JOIN answers a ON a.study_id = p.study_id AND a.reader_id = p.reader_id "
    "AND a.case_id = p.case_id AND a.arm = p.arm"
)


def session_progress(conn: sqlite3.Connection, reader_id: int, session: int) -> Progress:
    """How far a reader is, overall and in ``session``.

    Args:
        conn: an open connection to the study database.
        reader_id: the reader.
        session: the session to report (1 or 2).
    """
    rows = conn.execute(
        f"SELECT p.session, COUNT(*), COUNT(a.id) {PLAN_WITH_ANSWERS} "
        "WHERE p.reader_id = ? GROUP BY p.session",
        (reader_id,),
    ).fetchall()
    per = {s: (total, done) for s, total, done in rows}
    total, done = per.get(session, (0, 0))
    return Progress(
        done=sum(d for _t, d in per.values()), total=sum(t for t, _d in per.values()),
        session=session, session_done=done, session_total=total,
    )


def washout_opens_at(conn: sqlite3.Connection, reader_id: int, washout_days: float) -> datetime | None:
    """When session 2 opens for a reader: the end of session 1 plus the washout.

    Args:
        conn: an open connection to the study database.
        reader_id: the reader.
        washout_days: the study's washout.

    Returns:
        The opening time (UTC), or None while session 1 is unfinished.
    """
    row = conn.execute(
        "SELECT completed_at FROM sessions WHERE reader_id = ? AND number = 1", (reader_id,)
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return from_iso(row[0]) + timedelta(days=washout_days)
