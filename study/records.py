"""The records that flow between the study layer and the pages.

Two kinds, kept apart on purpose: admin-facing records (:class:`StudyInfo`,
:class:`NewReader`, :class:`ReaderProgress`) and reader-facing records, which never
carry truth, severity, notes or the automation-bias flag. :data:`READER_FACING_TYPES`
lists every type a reader's page may receive; a test walks their fields for leaks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from study.db import from_iso
from study.security import ReaderIdentity

__all__ = [
    "StudyInfo",
    "NewReader",
    "ReaderProgress",
    "AnswerKey",
    "ReaderCase",
    "AiHint",
    "Progress",
    "Answer",
    "ReadTelemetry",
    "Task",
    "StudyComplete",
    "WashoutPending",
    "READER_FACING_TYPES",
]



# --- admin-facing records -----------------------------------------------------------


@dataclass(frozen=True)
class StudyInfo:
    """A study's settings (admin-facing).

    Attributes:
        study_id: database id.
        name: unique name.
        case_set_id: the case set it reads.
        design: ``sequential`` or ``crossover``.
        arms: hint arms in reading order.
        flagged_fraction: fraction of cases with deliberately wrong AI output.
        washout_days: days between the end of session 1 and session 2 (crossover).
        seed: study seed for the per-reader orders.
        created_at: creation time (UTC).
        n_cases: number of cases in the study.
    """

    study_id: int
    name: str
    case_set_id: int
    design: str
    arms: tuple[str, ...]
    flagged_fraction: float
    washout_days: float
    seed: str
    created_at: datetime
    n_cases: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any], n_cases: int) -> "StudyInfo":
        """A study from a ``studies`` row read by name (:func:`study.db.named_rows`)."""
        return cls(
            study_id=row["id"], name=row["name"], case_set_id=row["case_set_id"], design=row["design"],
            arms=tuple(json.loads(row["arms"])), flagged_fraction=row["flagged_fraction"],
            washout_days=row["washout_days"], seed=row["seed"], created_at=from_iso(row["created_at"]),
            n_cases=n_cases,
        )


@dataclass(frozen=True)
class NewReader:
    """A freshly created reader; ``code`` is shown once and never stored in clear.

    Attributes:
        reader_id: database id.
        label: pseudonym (``R01``...).
        code: the access code to hand to the reader.
    """

    reader_id: int
    label: str
    code: str


@dataclass(frozen=True)
class ReaderProgress:
    """One reader's progress (admin-facing).

    Attributes:
        reader_id: database id.
        label: pseudonym.
        role: profile role or None.
        years_experience: profile years or None.
        done: answers submitted.
        total: reads planned.
        state: ``not started``, ``in progress``, ``washout`` or ``complete``.
        opens_at: when session 2 opens, for a reader in washout.
        last_activity_at: time of the last answer, or None.
    """

    reader_id: int
    label: str
    role: str | None
    years_experience: float | None
    done: int
    total: int
    state: str
    opens_at: datetime | None
    last_activity_at: datetime | None


# --- reader-facing records (never any truth, severity, notes or flag) ---------------


@dataclass(frozen=True)
class AnswerKey:
    """Identifies one read: the UNIQUE key of an answer.

    Attributes:
        study_id: the study.
        reader_id: the reader.
        case_id: the case.
        arm: ``none``, ``score`` or ``score_heatmap``.
    """

    study_id: int
    reader_id: int
    case_id: int
    arm: str


@dataclass(frozen=True)
class ReaderCase:
    """A case as a reader may see it: the film and its size, nothing else.

    The stored file has a generated name, so not even the original file name (which
    may encode the diagnosis or the patient) reaches the reader.

    Attributes:
        case_id: database id.
        image_path: the de-identified stored file; open it with
            ``rds_core.imaging.load_radiograph``.
        file_format: ``dicom`` or ``png``.
        width: pixels.
        height: pixels.
    """

    case_id: int
    image_path: Path
    file_format: str
    width: int
    height: int


@dataclass(frozen=True)
class AiHint:
    """The AI output for one case: precomputed at import, shown in aided arms.

    Attributes:
        probability: ensemble probability of RDS, 0-1.
        fold_probabilities: per-fold probabilities.
        spread: disagreement between folds (e.g. their standard deviation), >= 0.
        threshold: decision threshold of the pack, 0-1.
        positive: the AI's call: True = RDS (probability at or above the threshold).
        heatmap_png: fused Grad-CAM overlay as PNG bytes, or None (always None when
            shown in the ``score`` arm).
        pack_name: weight pack that produced it.
        pack_version: its version.
    """

    probability: float
    fold_probabilities: tuple[float, ...]
    spread: float
    threshold: float
    positive: bool
    heatmap_png: bytes | None
    pack_name: str
    pack_version: str


@dataclass(frozen=True)
class Progress:
    """How far a reader is.

    Attributes:
        done: reads answered.
        total: reads planned.
        session: the current session (1 or 2).
        session_done: reads answered in the current session.
        session_total: reads planned in the current session.
    """

    done: int
    total: int
    session: int
    session_done: int
    session_total: int

    @property
    def fraction(self) -> float:
        """Done over total, for a progress bar."""
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class Answer:
    """A submitted answer as the reader may see it (their own answers only).

    Attributes:
        answer_id: database id.
        key: study, reader, case, arm.
        session: 1 or 2.
        diagnosis: True for RDS.
        confidence: 0-100, certainty in the stated diagnosis.
        time_on_case_ms: reading time measured by the client, if sent.
        server_time_on_case_ms: first view to submit, measured by the server.
        submitted_at: server time of the submit (UTC).
    """

    answer_id: int
    key: AnswerKey
    session: int
    diagnosis: bool
    confidence: int
    time_on_case_ms: int | None
    server_time_on_case_ms: int | None
    submitted_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Answer":
        """An answer from an ``answers`` row read by name (:func:`study.db.named_rows`)."""
        return cls(
            answer_id=row["id"], key=AnswerKey(row["study_id"], row["reader_id"], row["case_id"], row["arm"]),
            session=row["session"], diagnosis=bool(row["diagnosis"]), confidence=row["confidence"],
            time_on_case_ms=row["time_on_case_ms"], server_time_on_case_ms=row["server_time_on_case_ms"],
            submitted_at=from_iso(row["submitted_at"]),
        )


@dataclass(frozen=True)
class ReadTelemetry:
    """How a reader worked on one read, measured by the page and its viewer; stored with the answer.

    Counts are of finished gestures (one drag, one burst of wheel steps, one preset click),
    not of mouse events. All fields are optional: None means "not measured" (e.g. an answer
    sent by a script, or the heatmap fields in an arm without a heatmap).

    Attributes:
        first_answer_ms: first view to the first RDS / no-RDS choice (ms).
        window_level_changes: window/level gestures (drags, presets, invert, reset).
        zoom_changes: zoom gestures (wheel bursts, reset).
        pan_changes: pan drags.
        heatmap_toggles: times the heatmap overlay was switched on or off.
        heatmap_visible_ms: time the heatmap overlay was on screen (heatmap arm only).
        confidence_set: True when the reader moved or confirmed the confidence.
        viewer_state: the last view (window, level, zoom, invert, opacity...) as plain values.
    """

    first_answer_ms: int | None = None
    window_level_changes: int | None = None
    zoom_changes: int | None = None
    pan_changes: int | None = None
    heatmap_toggles: int | None = None
    heatmap_visible_ms: int | None = None
    confidence_set: bool | None = None
    viewer_state: dict[str, float | int | bool | str] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """The read a reader has to do now.

    Attributes:
        key: what to pass to :func:`mark_viewed` and :func:`submit_answer`.
        case: the film.
        hint: the AI output to show, or None in the unaided arm.
        session: 1 or 2.
        progress: done / total.
        earlier_answers: the reader's own locked answers to this case in earlier
            arms (sequential design), oldest first.
        first_viewed_at: when the reader first saw this read, if ever (resume).
        case_number: this case's place in the reader's own order (1 = first case they
            see); shown instead of any database id, which could correlate with truth.
        case_total: how many distinct cases the reader reads.
    """

    key: AnswerKey
    case: ReaderCase
    hint: AiHint | None
    session: int
    progress: Progress
    earlier_answers: tuple[Answer, ...] = field(default_factory=tuple)
    first_viewed_at: datetime | None = None
    case_number: int = 0
    case_total: int = 0

    @property
    def arm(self) -> str:
        """``none``, ``score`` or ``score_heatmap``."""
        return self.key.arm


@dataclass(frozen=True)
class StudyComplete:
    """Every planned read is answered.

    Attributes:
        study_id: the study.
        reader_id: the reader.
        progress: done == total.
    """

    study_id: int
    reader_id: int
    progress: Progress


@dataclass(frozen=True)
class WashoutPending:
    """Session 1 is finished; session 2 opens later.

    Attributes:
        study_id: the study.
        reader_id: the reader.
        opens_at: when session 2 opens (UTC).
        progress: progress so far.
        message: a sentence for the reader saying when to come back.
    """

    study_id: int
    reader_id: int
    opens_at: datetime
    progress: Progress
    message: str


# Everything a reader's page may receive; tests introspect these for truth leaks.
READER_FACING_TYPES: tuple[type, ...] = (
    ReaderIdentity, AnswerKey, ReaderCase, AiHint, Progress, Answer, Task,
    StudyComplete, WashoutPending,
)
