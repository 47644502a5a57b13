"""Reading protocol: access codes, the state machine, locking, resume, order, designs."""

from __future__ import annotations

import dataclasses
import sqlite3
import typing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from study.admin import (
    StudyConfigError,
    create_readers,
    create_study,
    reader_progress,
)
from study.answers import export_answers, rds_rating
from study.db import connect
from study.protocol import (
    AnswerConflictError,
    InvalidAnswerError,
    OutOfOrderError,
    WashoutError,
    mark_viewed,
    next_task,
    submit_answer,
)
from study.records import READER_FACING_TYPES, AnswerKey, ReadTelemetry, StudyComplete, Task, WashoutPending
from study.security import (
    InvalidAccessCodeError,
    InvalidProfileError,
    UnknownReaderError,
    authenticate,
    set_profile,
)
from tests.study_helpers import make_study

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
# Names that must never appear in anything a reader's page receives.
FORBIDDEN = ("truth", "severity", "notes", "flag", "flip", "gestational", "source", "sha256", "correct")


@pytest.fixture
def db(tmp_path: Path):
    return connect(tmp_path / "study.sqlite")


def _read_all(db, study_id: int, reader_id: int, answer=lambda task: (True, 60), now=T0) -> list[Task]:
    """Answer every open read; returns the tasks in the order they were served."""
    served = []
    while isinstance(task := next_task(db, study_id, reader_id, now=now), Task):
        served.append(task)
        mark_viewed(db, task.key, now=now)
        diagnosis, confidence = answer(task)
        submit_answer(db, task.key, diagnosis=diagnosis, confidence=confidence, now=now)
    return served


# --- access codes and profiles -----------------------------------------------------------


def test_access_codes_are_shown_once_and_stored_hashed(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=2)
    [reader] = create_readers(db, study.study_id, 1)

    typed = "  " + reader.code.lower().replace("-", " ") + " "
    assert authenticate(db, typed).reader_id == reader.reader_id

    secret = reader.code.replace("-", "")[4:]
    dump = "\n".join(db.conn.iterdump())
    assert secret not in dump and reader.code not in dump
    stored = db.conn.execute("SELECT code_hash FROM readers").fetchone()[0]
    assert stored.startswith("scrypt$16384$8$1$")


@pytest.mark.parametrize("mutate", [
    lambda code: code[:-1] + ("A" if code[-1] != "A" else "B"),   # wrong secret
    lambda code: ("B" if code[0] != "B" else "C") + code[1:],     # unknown handle
    lambda code: code[:-2],                                       # too short
    lambda code: "",                                              # nothing
    lambda code: code[:-1] + "0",                                 # outside the alphabet
])
def test_a_wrong_code_is_refused_and_logged(db, tmp_path: Path, mutate) -> None:
    study = make_study(db, tmp_path, n=2)
    [reader] = create_readers(db, study.study_id, 1)
    with pytest.raises(InvalidAccessCodeError, match="access code is not valid"):
        authenticate(db, mutate(reader.code))
    kinds = [row[0] for row in db.conn.execute("SELECT kind FROM events")]
    assert kinds == ["login_failed"]


def test_profile_is_validated(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=2)
    [reader] = create_readers(db, study.study_id, 1)
    assert not authenticate(db, reader.code).profile_complete
    with pytest.raises(InvalidProfileError, match="Role must be one of"):
        set_profile(db, reader.reader_id, role="surgeon", years_experience=3)
    with pytest.raises(InvalidProfileError, match="Years of experience"):
        set_profile(db, reader.reader_id, role="resident", years_experience=-1)
    identity = set_profile(db, reader.reader_id, role="neonatologist", years_experience=12)
    assert (identity.role, identity.years_experience, identity.profile_complete) == ("neonatologist", 12.0, True)


# --- nothing a reader receives can carry the truth ----------------------------------------


def _field_names(cls: type, seen: set[type]) -> list[str]:
    if cls in seen or not dataclasses.is_dataclass(cls):
        return []
    seen.add(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    names += [name for name, value in vars(cls).items() if isinstance(value, property)]
    for hint in typing.get_type_hints(cls).values():
        for arg in (hint, *typing.get_args(hint), *[a for t in typing.get_args(hint) for a in typing.get_args(t)]):
            if isinstance(arg, type):
                names += _field_names(arg, seen)
    return names


def test_reader_facing_types_have_no_truth_fields() -> None:
    names = [name.lower() for cls in READER_FACING_TYPES for name in _field_names(cls, set())]
    assert "case_id" in names and "probability" in names  # the walk does reach nested types
    leaks = [name for name in names if any(word in name for word in FORBIDDEN)]
    assert leaks == []


def _keys(value) -> list[str]:
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return [str(k) for k in value] + [k for v in value.values() for k in _keys(v)]
    if isinstance(value, (list, tuple)):
        return [k for v in value for k in _keys(v)]
    return []


def test_served_tasks_carry_no_truth_and_no_source_names(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=6, arms=("none", "score", "score_heatmap"), flagged_fraction=0.5)
    [reader] = create_readers(db, study.study_id, 1)
    served = _read_all(db, study.study_id, reader.reader_id)
    final = next_task(db, study.study_id, reader.reader_id)
    assert len(served) == 18 and isinstance(final, StudyComplete)
    for item in (*served, final):
        keys = [k.lower() for k in _keys(item)]
        assert not [k for k in keys if any(word in k for word in FORBIDDEN)]
    for task in served:
        assert "case_" not in task.case.image_path.name  # generated name, not the CSV's


# --- double submit, conflicts, immutability ----------------------------------------------


def test_double_submit_stores_one_answer_and_a_change_is_refused(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=2)
    [reader] = create_readers(db, study.study_id, 1)
    task = next_task(db, study.study_id, reader.reader_id)

    first = submit_answer(db, task.key, diagnosis=True, confidence=70, time_on_case_ms=4000, now=T0)
    again = submit_answer(db, task.key, diagnosis=True, confidence=70, time_on_case_ms=4100,
                          now=T0 + timedelta(seconds=1))
    assert again == first  # the first submit's metadata stays
    assert db["answers"].count == 1
    events_before = db["events"].count

    with pytest.raises(AnswerConflictError, match="already answered .* locked"):
        submit_answer(db, task.key, diagnosis=False, confidence=70)
    with pytest.raises(AnswerConflictError, match="confidence 70"):
        submit_answer(db, task.key, diagnosis=True, confidence=71)
    assert db["answers"].count == 1
    row = db.conn.execute("SELECT diagnosis, confidence, time_on_case_ms FROM answers").fetchone()
    assert row == (1, 70, 4000)
    assert db["events"].count == events_before + 2  # each conflict is logged

    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        db.conn.execute("UPDATE answers SET confidence = 10")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        db.conn.execute("DELETE FROM answers")


@pytest.mark.parametrize(("diagnosis", "confidence", "time_ms", "message"), [
    ("yes", 50, None, "diagnosis must be yes"),
    (True, 101, None, "Confidence must be a whole number from 0 to 100"),
    (True, -1, None, "Confidence must be"),
    (True, 50.5, None, "Confidence must be"),
    (True, True, None, "Confidence must be"),
    (True, 50, -5, "Time on case must be"),
])
def test_invalid_answers_are_refused(db, tmp_path: Path, diagnosis, confidence, time_ms, message) -> None:
    study = make_study(db, tmp_path, n=2)
    [reader] = create_readers(db, study.study_id, 1)
    task = next_task(db, study.study_id, reader.reader_id)
    with pytest.raises(InvalidAnswerError, match=message):
        submit_answer(db, task.key, diagnosis=diagnosis, confidence=confidence, time_on_case_ms=time_ms)
    assert db["answers"].count == 0


# --- telemetry and the case number ----------------------------------------------------------


def test_telemetry_is_stored_in_the_answer_row(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=2)
    [reader] = create_readers(db, study.study_id, 1)
    first = next_task(db, study.study_id, reader.reader_id)
    telemetry = ReadTelemetry(first_answer_ms=1200, window_level_changes=3, zoom_changes=2, pan_changes=1,
                              heatmap_toggles=0, heatmap_visible_ms=None, confidence_set=True,
                              viewer_state={"level": 0.4, "width": 0.6, "zoom": 2.0, "invert": False})
    submit_answer(db, first.key, diagnosis=True, confidence=70, telemetry=telemetry)
    second = next_task(db, study.study_id, reader.reader_id)
    submit_answer(db, second.key, diagnosis=False, confidence=20)  # a script's answer: no telemetry
    rows = db.conn.execute(
        "SELECT first_answer_ms, window_level_changes, zoom_changes, pan_changes, heatmap_toggles, "
        "heatmap_visible_ms, confidence_set, viewer_state FROM answers ORDER BY id").fetchall()
    assert rows[0] == (1200, 3, 2, 1, 0, None, 1, '{"invert": false, "level": 0.4, "width": 0.6, "zoom": 2.0}')
    assert rows[1] == (None,) * 8


@pytest.mark.parametrize(("telemetry", "message"), [
    (ReadTelemetry(zoom_changes=-1), "zoom_changes must be a non-negative whole number"),
    (ReadTelemetry(first_answer_ms=1.5), "first_answer_ms must be"),
    (ReadTelemetry(heatmap_toggles=True), "heatmap_toggles must be"),
    (ReadTelemetry(confidence_set="yes"), "confidence_set must be true or false"),
    (ReadTelemetry(viewer_state={"level": float("nan")}), "viewer state must be plain numbers"),
    (ReadTelemetry(viewer_state={"x": "y" * 3000}), "viewer state is too large"),
    ({"zoom_changes": 1}, "Telemetry must be a ReadTelemetry record"),
])
def test_invalid_telemetry_is_refused(db, tmp_path: Path, telemetry, message) -> None:
    study = make_study(db, tmp_path, n=2)
    [reader] = create_readers(db, study.study_id, 1)
    task = next_task(db, study.study_id, reader.reader_id)
    with pytest.raises(InvalidAnswerError, match=message):
        submit_answer(db, task.key, diagnosis=True, confidence=50, telemetry=telemetry)
    assert db["answers"].count == 0


def test_the_case_number_follows_the_readers_own_order(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=4, arms=("none", "score_heatmap"))
    readers = create_readers(db, study.study_id, 2)
    numbers = []
    for reader in readers:
        served = _read_all(db, study.study_id, reader.reader_id)
        numbers.append([(t.case_number, t.case_total) for t in served])
        by_case = {}
        for task in served:
            by_case.setdefault(task.key.case_id, set()).add(task.case_number)
        assert all(len(n) == 1 for n in by_case.values()), "both arms of a case show the same number"
    assert numbers[0] == numbers[1] == [(1, 4), (1, 4), (2, 4), (2, 4), (3, 4), (3, 4), (4, 4), (4, 4)]


# --- resume -------------------------------------------------------------------------------


def test_a_reader_killed_mid_case_resumes_on_the_same_case(tmp_path: Path) -> None:
    db = connect(tmp_path / "study.sqlite")
    study = make_study(db, tmp_path, n=4)
    [reader] = create_readers(db, study.study_id, 1)
    _done = submit_answer(db, next_task(db, study.study_id, reader.reader_id).key,
                          diagnosis=False, confidence=40, now=T0)
    before = next_task(db, study.study_id, reader.reader_id)
    mark_viewed(db, before.key, now=T0 + timedelta(seconds=5))
    db.conn.close()  # the browser tab dies

    db = connect(tmp_path / "study.sqlite")
    after = next_task(db, study.study_id, reader.reader_id)
    assert after.key == before.key and after.progress.done == 1
    assert after.first_viewed_at == T0 + timedelta(seconds=5)
    assert mark_viewed(db, after.key, now=T0 + timedelta(minutes=9)) == T0 + timedelta(seconds=5)
    answer = submit_answer(db, after.key, diagnosis=True, confidence=90, time_on_case_ms=3000,
                           now=T0 + timedelta(seconds=47))
    assert answer.server_time_on_case_ms == 42_000 and answer.time_on_case_ms == 3000


# --- sequential design ---------------------------------------------------------------------


def test_sequential_locks_the_unaided_answer_before_the_hint(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=3, arms=("none", "score", "score_heatmap"))
    [reader] = create_readers(db, study.study_id, 1)

    unaided = next_task(db, study.study_id, reader.reader_id)
    assert unaided.arm == "none" and unaided.hint is None and unaided.earlier_answers == ()
    aided_key = dataclasses.replace(unaided.key, arm="score")
    with pytest.raises(OutOfOrderError, match="unaided read of the same case"):
        submit_answer(db, aided_key, diagnosis=True, confidence=50)
    with pytest.raises(OutOfOrderError, match="not in this reader's reading list"):
        submit_answer(db, dataclasses.replace(unaided.key, case_id=10_000), diagnosis=True, confidence=5)

    submit_answer(db, unaided.key, diagnosis=False, confidence=30)
    score = next_task(db, study.study_id, reader.reader_id)
    assert score.key == aided_key
    assert score.hint is not None and score.hint.heatmap_png is None
    assert [a.confidence for a in score.earlier_answers] == [30]
    submit_answer(db, score.key, diagnosis=True, confidence=55)
    heatmap = next_task(db, study.study_id, reader.reader_id)
    assert heatmap.arm == "score_heatmap" and heatmap.case == unaided.case
    assert heatmap.hint.heatmap_png.startswith(b"\x89PNG")
    assert heatmap.hint.probability == score.hint.probability
    assert heatmap.progress.done == 2 and heatmap.progress.total == 9
    with pytest.raises(AnswerConflictError):
        submit_answer(db, unaided.key, diagnosis=True, confidence=30)  # no going back after the hint


def test_order_is_served_as_planned_and_differs_between_readers(tmp_path: Path) -> None:
    orders = []
    for run in ("a", "b"):
        db = connect(tmp_path / f"{run}.sqlite")
        study = make_study(db, tmp_path / run, n=8, seed="fixed")
        readers = create_readers(db, study.study_id, 3)
        # Case ids are random: compare orders by each case's place in the case set.
        place = dict(db.conn.execute("SELECT id, position FROM cases").fetchall())
        orders.append([
            [place[row[0]] for row in db.conn.execute(
                "SELECT case_id FROM plan WHERE reader_id = ? AND arm = 'none' ORDER BY position",
                (r.reader_id,))]
            for r in readers
        ])
        served = [place[t.key.case_id] for t in _read_all(db, study.study_id, readers[0].reader_id)
                  if t.arm == "none"]
        assert served == orders[-1][0]
    # (Across two databases the orders differ now: the shuffle starts from the sorted random
    # case ids. Within one database the order is fixed in the plan and served as planned.)
    assert len({tuple(order) for order in orders[0]}) == 3
    assert all(sorted(order) == sorted(orders[0][0]) for order in orders[0])


# --- crossover design ----------------------------------------------------------------------


def test_crossover_is_counterbalanced_and_enforces_the_washout(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=8, design="crossover", arms=("none", "score_heatmap"))
    r0, r1 = create_readers(db, study.study_id, 2)

    def arms(reader_id: int, session: int) -> dict[int, str]:
        return dict(db.conn.execute("SELECT case_id, arm FROM plan WHERE reader_id = ? AND session = ?",
                                    (reader_id, session)).fetchall())

    s1, s2 = arms(r0.reader_id, 1), arms(r0.reader_id, 2)
    assert set(s1) == set(s2) and len(s1) == 8
    assert all(s1[c] != s2[c] for c in s1)  # every case once in each arm
    assert sorted(s1.values()).count("none") == 4
    assert arms(r1.reader_id, 1) == s2  # the other group starts the other way round
    truth_by_arm = db.conn.execute(
        "SELECT p.arm, SUM(c.truth) FROM plan p JOIN cases c ON c.id = p.case_id "
        "WHERE p.reader_id = ? AND p.session = 1 GROUP BY p.arm", (r0.reader_id,)).fetchall()
    assert dict(truth_by_arm) == {"none": 2, "score_heatmap": 2}  # halves stratified by truth

    _read_all(db, study.study_id, r0.reader_id, now=T0)
    early = T0 + timedelta(days=27, hours=23)
    pending = next_task(db, study.study_id, r0.reader_id, now=early)
    assert isinstance(pending, WashoutPending)
    assert pending.opens_at == T0 + timedelta(days=28)
    assert "opens on 2025-03-31 at 09:00 UTC" in pending.message
    assert (pending.progress.done, pending.progress.total) == (8, 16)
    case_id, arm = db.conn.execute("SELECT case_id, arm FROM plan WHERE reader_id = ? AND position = 8",
                                   (r0.reader_id,)).fetchone()
    session2_key = AnswerKey(study_id=study.study_id, reader_id=r0.reader_id, case_id=case_id, arm=arm)
    with pytest.raises(WashoutError, match="second reading session opens on 2025-03-31") as caught:
        submit_answer(db, session2_key, diagnosis=True, confidence=50, now=early)
    assert caught.value.opens_at == T0 + timedelta(days=28)
    with pytest.raises(WashoutError):
        mark_viewed(db, session2_key, now=early)
    [progress, _] = reader_progress(db, study.study_id, now=early)
    assert progress.state == "washout"

    later = T0 + timedelta(days=28, seconds=1)
    task = next_task(db, study.study_id, r0.reader_id, now=later)
    assert isinstance(task, Task) and task.session == 2 and task.key == session2_key
    assert task.earlier_answers == ()  # session 1 answers are not shown again
    assert (task.progress.session_done, task.progress.session_total) == (0, 8)
    _read_all(db, study.study_id, r0.reader_id, now=later)
    assert reader_progress(db, study.study_id, now=later)[0].state == "complete"


# --- automation-bias probe --------------------------------------------------------------------


def test_flagged_cases_show_a_mirrored_ai_output_and_are_recorded(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=8, flagged_fraction=0.25, arms=("none", "score"))
    clean = make_study(db, tmp_path, n=8, name="clean", arms=("none", "score"))
    flagged = {row[0] for row in db.conn.execute(
        "SELECT case_id FROM study_cases WHERE study_id = ? AND flagged = 1", (study.study_id,))}
    assert len(flagged) == 2
    [reader] = create_readers(db, study.study_id, 1)
    hints = {t.key.case_id: t.hint for t in _read_all(db, study.study_id, reader.reader_id) if t.hint}
    truth_hint = dict(db.conn.execute("SELECT case_id, probability FROM ai_hints").fetchall())
    for case_id, hint in hints.items():
        original = truth_hint[case_id]
        if case_id in flagged:
            assert hint.probability == pytest.approx(1 - original, abs=1e-3)
            assert hint.positive == (original < 0.5)
        else:
            assert hint.probability == pytest.approx(original)
    frame = export_answers(db, study.study_id)
    aided = frame[frame["arm"] == "score"]
    assert set(aided.loc[aided["ai_hint_flipped"] == 1, "case"]) == flagged
    assert frame.loc[frame["arm"] == "none", "ai_hint_flipped"].sum() == 0
    assert db.conn.execute("SELECT SUM(flagged) FROM study_cases WHERE study_id = ?",
                           (clean.study_id,)).fetchone()[0] == 0  # off by default


# --- admin ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"design": "parallel"}, "Design must be one of"),
    ({"arms": ("score", "none")}, "starts with the unaided arm"),
    ({"arms": ("none",)}, "at least one aided arm"),
    ({"arms": ("none", "ai")}, "Unknown arm"),
    ({"arms": ("none", "score", "score")}, "only once"),
    ({"design": "crossover", "arms": ("none", "score", "score_heatmap")}, "exactly two arms"),
    ({"flagged_fraction": 0.8}, "must be 0 to 0.5"),
    ({"design": "crossover", "washout_days": -1}, "cannot be negative"),
    ({"name": " "}, "needs a name"),
    ({"name": "taken"}, "already exists"),
    ({"case_set_id": 999}, "no case set with id 999"),
])
def test_invalid_study_settings_are_refused(db, tmp_path: Path, kwargs, message) -> None:
    existing = make_study(db, tmp_path, n=2, name="taken")
    settings = {"name": "new", "case_set_id": existing.case_set_id, "design": "sequential",
                "arms": ("none", "score")} | kwargs
    with pytest.raises(StudyConfigError, match=message):
        create_study(db, **settings)


def test_aided_arms_need_precomputed_hints(db, tmp_path: Path) -> None:
    from study.cases import import_case_set
    from tests.study_helpers import write_films

    csv = write_films(tmp_path / "plain", 3)
    report = import_case_set(db, csv.parent, csv, storage_dir=tmp_path / "store")  # no hint_fn
    with pytest.raises(StudyConfigError, match="3 case.*no precomputed AI hint"):
        create_study(db, name="s", case_set_id=report.case_set_id, design="sequential",
                     arms=("none", "score"))


def test_reader_of_another_study_is_refused(db, tmp_path: Path) -> None:
    first = make_study(db, tmp_path, n=2, name="one")
    second = make_study(db, tmp_path, n=2, name="two")
    [reader] = create_readers(db, first.study_id, 1)
    with pytest.raises(UnknownReaderError, match="does not take part in study"):
        next_task(db, second.study_id, reader.reader_id)


def test_export_joins_truth_and_rates_on_one_rds_scale(db, tmp_path: Path) -> None:
    study = make_study(db, tmp_path, n=4, flagged_fraction=0.5)
    r0, r1 = create_readers(db, study.study_id, ["Reader A", "Reader B"])
    set_profile(db, r0.reader_id, role="radiologist", years_experience=7)
    _read_all(db, study.study_id, r0.reader_id, answer=lambda t: (t.key.case_id % 2 == 0, 80))
    progress = {p.label: p for p in reader_progress(db, study.study_id)}
    assert (progress["Reader A"].state, progress["Reader A"].done) == ("complete", 8)
    assert (progress["Reader B"].state, progress["Reader B"].done) == ("not started", 0)

    frame = export_answers(db, study.study_id)

    assert len(frame) == 8 and set(frame["reader"]) == {"Reader A"}
    assert set(frame["arm"]) == {"none", "score_heatmap"}
    assert (frame["reader_role"] == "radiologist").all()
    truth = dict(db.conn.execute("SELECT id, truth FROM cases").fetchall())
    assert list(frame["truth"]) == [truth[c] for c in frame["case"]]
    assert list(frame["rating"]) == [90.0 if d else 10.0 for d in frame["call"]]
    assert list(frame["correct"]) == [int(d == t) for d, t in zip(frame["call"], frame["truth"])]
    assert frame["ai_probability"].isna().tolist() == list(frame["arm"] == "none")
    # ai_call is the call shown in the aided arm, given on the unaided row of the case too.
    aided = frame[frame["arm"] == "score_heatmap"].set_index("case")
    unaided = frame[frame["arm"] == "none"].set_index("case")
    assert list(aided["ai_call"]) == [int(p >= 0.5) for p in aided["ai_probability"]]
    assert unaided["ai_call"].to_dict() == aided["ai_call"].to_dict()
    assert unaided["flagged"].to_dict() == aided["flagged"].to_dict() == aided["ai_hint_flipped"].to_dict()
    assert unaided["flagged"].sum() == 2 and unaided["ai_hint_flipped"].sum() == 0
    assert (frame["time_s"] == frame["server_time_on_case_ms"] / 1000).all()  # no client time sent
    from study.analysis.table import require_columns

    require_columns(frame, ["reader", "arm", "case", "truth", "rating", "call", "ai_call",
                            "flagged", "time_s", "reader_role"], "The export")


@pytest.mark.parametrize(("diagnosis", "confidence", "rating"), [
    (True, 100, 100.0), (True, 0, 50.0), (False, 0, 50.0), (False, 100, 0.0), (True, 40, 70.0),
])
def test_rating_scale(diagnosis: bool, confidence: int, rating: float) -> None:
    assert rds_rating(diagnosis, confidence) == rating


# --- reader-session tokens ------------------------------------------------------------------


def test_session_tokens_are_signed_expire_and_die_with_a_new_code(db, tmp_path: Path, monkeypatch) -> None:
    from study import reader_session as rs

    monkeypatch.delenv(rs.SECRET_ENV, raising=False)
    study = make_study(db, tmp_path, n=2)
    reader, other = create_readers(db, study.study_id, 2)
    now = 1_800_000_000.0
    token = rs.issue_token(db, reader.reader_id, now=now)
    assert rs.verify_token(db, token, now=now + 60).reader_id == reader.reader_id
    key_file = tmp_path / "reader_session.key"
    assert key_file.stat().st_mode & 0o777 == 0o600 and len(key_file.read_bytes()) == 32
    assert not rs.needs_renewal(token, now=now + 60) and rs.needs_renewal(token, now=now + rs.TOKEN_TTL_S * 0.6)
    with pytest.raises(rs.InvalidSessionTokenError, match="expired"):
        rs.verify_token(db, token, now=now + rs.TOKEN_TTL_S)
    # Another reader's id in the payload, the signature kept: refused.
    head, mac = token.split(".")
    payload = rs._unb64(head).decode().replace(f".{reader.reader_id}.", f".{other.reader_id}.", 1)
    with pytest.raises(rs.InvalidSessionTokenError, match="not valid"):
        rs.verify_token(db, f"{rs._b64(payload.encode())}.{mac}", now=now)
    for junk in ("", "x", "a.b.c", "%%%.%%%", "A" * 300):
        with pytest.raises(rs.InvalidSessionTokenError):
            rs.verify_token(db, junk, now=now)
    # A new access code for the reader (a new hash) ends every token issued before.
    db.conn.execute("UPDATE readers SET code_hash = 'scrypt$1$1$1$00' WHERE id = ?", (reader.reader_id,))
    db.conn.commit()
    with pytest.raises(rs.InvalidSessionTokenError, match="not valid"):
        rs.verify_token(db, token, now=now)
    # A key from the environment replaces the file's: old tokens stop working.
    fresh = rs.issue_token(db, other.reader_id, now=now)
    monkeypatch.setenv(rs.SECRET_ENV, "a long deployment secret from the environment")
    with pytest.raises(rs.InvalidSessionTokenError):
        rs.verify_token(db, fresh, now=now)
