"""The answers of a study as the tidy read table :mod:`study.analysis` takes (admin only: it holds truth).

The columns are those of :mod:`study.analysis.table` (plus the study's own facts), so the
frame goes straight into the MRMC, switching, agreement and automation-bias functions;
this is the one place where the database meets the analysis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils import Database

from study.admin import get_study

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RATING_SCALE_TEXT", "export_answers", "rds_rating"]

RATING_SCALE_TEXT = (
    "Rating scale: each read's rating is 50 + confidence / 2 for an RDS answer and 50 - confidence / 2 "
    "otherwise (0 = certainly no RDS, 100 = certainly RDS, 50 = a guess either way); readers had to set "
    "or confirm their confidence (no default), so untouched answers cannot pile up as ties at 50."
)


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
    ``arm`` (the arm), ``session``, ``position``, ``truth`` (1 = RDS), ``severity``,
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
        "CASE WHEN h.positive IS NULL THEN NULL ELSE h.positive <> sc.flagged END, "
        "a.ai_probability, a.ai_heatmap_shown, sc.flagged, a.ai_hint_flipped, "
        "a.time_on_case_ms, a.server_time_on_case_ms, a.submitted_at, a.study_id "
        "FROM answers a JOIN readers r ON r.id = a.reader_id JOIN cases c ON c.id = a.case_id "
        "JOIN study_cases sc ON sc.study_id = a.study_id AND sc.case_id = a.case_id "
        "LEFT JOIN ai_hints h ON h.case_id = a.case_id "
        "WHERE a.study_id = ? ORDER BY r.idx, a.case_id, a.position",
        (study_id,),
    ).fetchall()
    columns = ["reader", "reader_id", "reader_role", "years_experience", "case", "arm",
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
