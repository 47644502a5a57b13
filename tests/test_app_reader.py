"""The reader page headless (AppTest): access codes, profile, a read from film to saved answer,
the hint only after the unaided answer is locked, double submits, resume after a closed tab,
the crossover washout, and no truth anywhere on the page; plus its string table."""

from __future__ import annotations

import json
import re
import string
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from pages._i18n_study import STRINGS, t
from pages._study_db import DB_KEY
from study.admin import create_readers, create_study
from study.cases import import_case_set
from study.db import connect, utc_now
from study.protocol import next_task
from study.records import Task
from tests.study_helpers import fake_hint, film

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "pages" / "reader.py")
TOKEN_PARAM = "rs"  # the page's query parameter for the signed session token
ARMS = ("none", "score", "score_heatmap")
# Truth-side data of the case set: none of it may ever reach the reader's page.
SEVERITY = "SEVERITY-MARKER-GRADE-IV"
NOTES = "NOTES-MARKER-surfactant-given"
TRUTH_FILES = ("rds_positive_case_a", "rds_negative_case_b", "rds_positive_case_c")


def en(key: str, **values: object) -> str:
    return t(key, "en", **values)


@pytest.fixture
def study_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A database with three films whose names and CSV columns give the truth away."""
    monkeypatch.setenv("RDS_STUDY_DB", str(tmp_path / "study.sqlite"))
    monkeypatch.setenv("RDS_LANG", "en")
    folder = tmp_path / "films"
    folder.mkdir()
    rows = ["file,truth,severity,gestational_age,notes"]
    for i, stem in enumerate(TRUTH_FILES):
        Image.fromarray(film(i)).save(folder / f"{stem}.png")
        rows.append(f"{stem}.png,{int('positive' in stem)},{SEVERITY},31.5,{NOTES}")
    (folder / "truth.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    db = connect(tmp_path / "study.sqlite")
    report = import_case_set(db, folder, folder / "truth.csv", name="set", storage_dir=tmp_path / "store",
                             hint_fn=fake_hint)
    assert len(report.imported) == 3
    return db, report.case_set_id


def _study(db, case_set_id: int, *, design: str = "sequential", arms=ARMS, **kwargs) -> tuple[int, list[str]]:
    study = create_study(db, name=f"{design}-{'-'.join(arms)}", case_set_id=case_set_id, design=design,
                         arms=arms, seed="s", **kwargs)
    readers = create_readers(db, study.study_id, 2)
    return study.study_id, [r.code for r in readers]


def _app() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def _sign_in(app: AppTest, code: str, *, profile: bool = True) -> AppTest:
    app.text_input(key="rs-code").input(code)
    app.form_submit_button[0].click().run()
    if profile and app.get("radio") and app.radio(key="rs-role"):
        app.radio(key="rs-role").set_value("radiologist")
        app.number_input(key="rs-years").set_value(7)
        app.form_submit_button[0].click().run()
    assert not app.exception
    return app


def _page_text(app: AppTest) -> str:
    """Every field of every element and block on the page, as protobuf text (images as URLs)."""
    return "\n".join(str(getattr(node, "proto", "")) for root in (app.main, app.sidebar) for node in root)


def _token(app: AppTest) -> str:
    """The suffix of the widget keys of the read on the page (a nonce and the read's number)."""
    submit = next(b.key for b in app.button if (b.key or "").startswith("rs-submit-"))
    return submit.removeprefix("rs-submit-")


def _shown(app: AppTest) -> tuple[str, str]:
    """The case heading ("Case 2 of 3") and the arm line of the read on the page."""
    heading = next(m.value for m in app.markdown if m.value.startswith("**Case "))
    match = re.match(r"\*\*(Case \d+ of \d+)\*\* · (.+)", heading)
    assert match, heading
    return match.group(1), match.group(2)


def _current(db, idx: int = 0) -> Task:
    """The read the server holds as current for reader ``idx`` (of the only study)."""
    reader_id, study_id = db.conn.execute("SELECT id, study_id FROM readers WHERE idx = ?", (idx,)).fetchone()
    task = next_task(db, study_id, reader_id)
    assert isinstance(task, Task)
    return task


def _viewer(app: AppTest) -> dict:
    """The arguments the page handed to the film viewer component."""
    [viewer] = [node for node in app.main.get("component_instance")]
    return json.loads(viewer.proto.json_args)


def _prepare(app: AppTest, diagnosis: bool, confidence: int | None) -> str:
    """Fill in the answer without submitting it (``confidence=None``: keep the slider's value
    with the confirm button); returns the read's token."""
    token = _token(app)
    app.segmented_control(key=f"rs-dx-{token}").set_value(diagnosis).run()
    if confidence is None:
        app.checkbox(key=f"rs-keep-{token}").check().run()
    else:
        app.slider(key=f"rs-conf-{token}").set_value(confidence).run()
    return token


def _submit(app: AppTest, token: str) -> AppTest:
    app.button(key=f"rs-submit-{token}").click().run()
    assert not app.exception
    return app


def _answer(app: AppTest, diagnosis: bool, confidence: int | None) -> AppTest:
    return _submit(app, _prepare(app, diagnosis, confidence))


def _views(db) -> int:
    return db.conn.execute("SELECT COUNT(*) FROM case_views").fetchone()[0]


def _answers(db) -> list[tuple]:
    return db.conn.execute("SELECT case_id, arm, diagnosis, confidence FROM answers ORDER BY id").fetchall()


def test_a_wrong_code_gets_a_message_and_no_case(study_db) -> None:
    db, case_set = study_db
    _study(db, case_set)
    app = _app()
    assert app.title[0].value == en("rs.title")
    app.text_input(key="rs-code").input("AAAA-BBBB-CCCC-DDDD")
    app.form_submit_button[0].click().run()
    assert [e.value for e in app.error] == [en("rs.wrong_code")]
    assert not app.get("image") and not any((b.key or "").startswith("rs-submit") for b in app.button)
    assert db.conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'login_failed'").fetchone()[0] == 1


def test_the_right_code_leads_through_the_profile_to_an_unaided_case(study_db) -> None:
    db, case_set = study_db
    study_id, codes = _study(db, case_set)
    app = _sign_in(_app(), codes[0], profile=False)
    assert app.subheader[0].value == en("rs.profile_title")
    app.form_submit_button[0].click().run()  # nothing filled in
    assert en("rs.profile_incomplete") in [w.value for w in app.warning]
    app.radio(key="rs-role").set_value("neonatologist")
    app.number_input(key="rs-years").set_value(4)
    app.form_submit_button[0].click().run()

    reader = db.conn.execute("SELECT id, role, years_experience FROM readers WHERE idx = 0").fetchone()
    assert reader[1:] == ("neonatologist", 4.0)
    task = next_task(db, study_id, reader[0])
    assert isinstance(task, Task) and task.arm == "none"
    assert _shown(app) == ("Case 1 of 3", en("rs.arm_none"))
    viewer = _viewer(app)
    assert viewer["film"] and viewer["heatmap"] is None, "the film, and no heatmap"
    assert [p["name"] for p in viewer["presets"]] == ["full", "lung", "mediastinum"]
    assert not [b for b in app.main if getattr(b, "key", None) == "rs-hint"], "no hint in the unaided arm"
    assert en("rs.hint_title") not in _page_text(app)
    assert app.get("progress")[0].proto.text == en("rs.progress", done=0, total=9)
    viewed = db.conn.execute("SELECT COUNT(*) FROM case_views WHERE reader_id = ?", (reader[0],)).fetchone()[0]
    assert viewed == 1, "the first view is recorded on the server"


def test_submit_saves_then_shows_the_hint_after_the_locked_unaided_answer(study_db) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set)
    app = _sign_in(_app(), codes[0])
    case_id = _current(db).case.case_id
    assert _shown(app) == ("Case 1 of 3", en("rs.arm_none"))
    assert app.button(key=f"rs-submit-{_token(app)}").disabled, "no submit before a diagnosis"

    _answer(app, diagnosis=True, confidence=70)
    assert _answers(db) == [(case_id, "none", 1, 70)]
    assert [toast.value for toast in app.toast] == [en("rs.saved")]
    assert _shown(app) == ("Case 1 of 3", en("rs.arm_aided")), "the same case again, now aided"
    assert _current(db).case.case_id == case_id and _current(db).arm == "score"
    assert en("rs.locked", diagnosis=en("rs.yes"), confidence=70) in app.info[0].value
    hint_text = _page_text(app)
    assert en("rs.hint_title") in hint_text and "AI probability of RDS" in hint_text
    assert _viewer(app)["heatmap"] is None, "the score arm shows no heatmap"

    _answer(app, diagnosis=False, confidence=55)
    assert _current(db).arm == "score_heatmap"
    assert _viewer(app)["heatmap"], "the heatmap lies over the film"
    edits = db.conn.execute("SELECT edit_durations, time_on_case_ms FROM answers WHERE arm = 'score'").fetchone()
    assert '"field": "confidence"' in edits[0] and '"field": "diagnosis"' in edits[0] and edits[1] >= 0


def test_confidence_has_no_default_it_must_be_set_or_confirmed(study_db) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set)
    app = _sign_in(_app(), codes[0])
    token = _token(app)
    app.segmented_control(key=f"rs-dx-{token}").set_value(True).run()
    assert app.button(key=f"rs-submit-{token}").disabled, "a diagnosis alone is not an answer"
    assert en("rs.confidence_first") in [c.value for c in app.caption]
    app.checkbox(key=f"rs-keep-{token}").check().run()  # the reader confirms the value as it stands
    assert not app.button(key=f"rs-submit-{token}").disabled
    _submit(app, token)
    _answer(app, False, 80)  # the next read: the slider moved
    rows = db.conn.execute("SELECT confidence, confidence_set, first_answer_ms FROM answers ORDER BY id").fetchall()
    assert [row[:2] for row in rows] == [(50, 1), (80, 1)]
    assert all(row[2] is not None and row[2] >= 0 for row in rows), "time to first answer is stored"


def test_viewer_telemetry_is_stored_with_the_answer(study_db) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set, arms=("none", "score_heatmap"))
    app = _sign_in(_app(), codes[0])
    _answer(app, True, 60)  # unaided: the viewer was never touched
    token = _token(app)
    assert _current(db).arm == "score_heatmap"
    # What the browser component reports after a drag, a wheel burst and two heatmap toggles.
    app.session_state[f"rs-viewer-{token}"] = {
        "window_level_changes": 2, "zoom_changes": 1, "pan_changes": 3, "heatmap_toggles": 2,
        "heatmap_visible_ms": 1500, "heatmap_on": False,
        "state": {"level": 0.4, "width": 0.3, "zoom": 2.5, "invert": True, "preset": "custom", "opacity": 0.7},
    }
    app.run()
    _answer(app, True, 75)
    rows = db.conn.execute(
        "SELECT arm, window_level_changes, zoom_changes, pan_changes, heatmap_toggles, heatmap_visible_ms, "
        "viewer_state FROM answers ORDER BY id").fetchall()
    assert rows[0][:6] == ("none", 0, 0, 0, None, None)
    assert rows[1][:6] == ("score_heatmap", 2, 1, 3, 2, 1500)
    assert json.loads(rows[1][6]) == {"level": 0.4, "width": 0.3, "zoom": 2.5, "invert": True,
                                      "preset": "custom", "opacity": 0.7}


def test_a_double_submit_from_two_tabs_stores_one_answer(study_db) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set)
    first, second = _sign_in(_app(), codes[0]), _sign_in(_app(), codes[0])
    assert _shown(first) == _shown(second)
    read = _current(db)
    tokens = _prepare(first, True, 80), _prepare(second, True, 80)

    _submit(first, tokens[0])
    _submit(second, tokens[1])  # the same answer again: accepted, nothing new written
    assert _answers(db) == [(read.case.case_id, read.arm, 1, 80)]
    assert not second.error and _shown(second) == _shown(first) == ("Case 1 of 3", en("rs.arm_aided"))

    third, stale = _sign_in(_app(), codes[0]), _sign_in(_app(), codes[0])
    tokens = _prepare(third, False, 30), _prepare(stale, True, 90)
    _submit(third, tokens[0])
    _submit(stale, tokens[1])  # a different answer for a read that is already saved
    assert [e.value for e in stale.error][0].startswith(f"**{en('rs.conflict')}**")
    assert len(_answers(db)) == 2 and _answers(db)[-1][2:] == (0, 30), "the first answer stands"


def test_a_closed_tab_resumes_on_the_same_case(study_db) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set)
    app = _sign_in(_app(), codes[0])
    _answer(app, True, 60)
    where = _current(db).key
    latest_view = "SELECT first_viewed_at FROM case_views ORDER BY first_viewed_at DESC"
    first_view = db.conn.execute(latest_view).fetchone()
    del app  # the tab is closed mid-case

    again = _sign_in(_app(), codes[0])
    assert _current(db).key == where and _shown(again) == ("Case 1 of 3", en("rs.arm_aided"))
    assert _views(db) == 2, "the resumed read keeps its first view time"
    assert db.conn.execute(latest_view).fetchone() == first_view
    assert again.get("progress")[0].proto.text == en("rs.progress", done=1, total=9)


def test_a_lost_session_comes_back_from_the_signed_token_in_the_url(study_db) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set)
    app = _sign_in(_app(), codes[0])
    _answer(app, True, 60)
    token = app.query_params[TOKEN_PARAM]
    shown = _shown(app)

    fresh = AppTest.from_file(PAGE, default_timeout=60)  # a new session: no reader, same URL
    fresh.query_params[TOKEN_PARAM] = token
    fresh.run()
    assert not fresh.get("text_input"), "no access code asked"
    assert _shown(fresh) == shown and fresh.get("progress")[0].proto.text == en("rs.progress", done=1, total=9)

    korean = AppTest.from_file(PAGE, default_timeout=60)  # recreated with the language in the URL too
    korean.query_params[TOKEN_PARAM] = token
    korean.query_params["lang"] = "ko"
    korean.run()
    assert not korean.get("text_input") and korean.title[0].value == t("rs.title", "ko")

    for bad in (token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"), "not-a-token", ""):
        forged = AppTest.from_file(PAGE, default_timeout=60)
        forged.query_params[TOKEN_PARAM] = bad
        forged.run()
        assert forged.text_input(key="rs-code"), f"{bad!r} must lead to the sign-in"
        assert not any((b.key or "").startswith("rs-submit-") for b in forged.button)


def test_the_page_shows_no_database_id(study_db) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set)
    app = _sign_in(_app(), codes[0])
    ids = [str(row[0]) for row in db.conn.execute("SELECT id FROM cases")]
    while any((b.key or "").startswith("rs-submit-") for b in app.button):
        text = _page_text(app)
        keys = " ".join(str(key) for key in app.session_state if key != DB_KEY)
        for case_id in ids:
            assert case_id not in text and case_id not in keys, f"case id {case_id} reaches the page"
        _answer(app, True, None)


def test_crossover_shows_the_washout_between_sessions(study_db) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set, design="crossover", arms=("none", "score_heatmap"), washout_days=28)
    app = _sign_in(_app(), codes[0])
    arms_seen = set()
    while any((b.key or "").startswith("rs-submit-") for b in app.button):
        arm = _current(db).arm
        arms_seen.add(arm)
        if arm == "none":
            assert en("rs.hint_title") not in _page_text(app), "no hint in the unaided arm"
        _answer(app, True, None)
    assert arms_seen == {"none", "score_heatmap"} and len(_answers(db)) == 3
    opens = (utc_now() + timedelta(days=28)).strftime("%Y-%m-%d")
    assert en("rs.washout_title") in app.info[0].value and opens in app.info[0].value


def test_the_korean_page_renders(study_db, monkeypatch: pytest.MonkeyPatch) -> None:
    db, case_set = study_db
    _, codes = _study(db, case_set)
    monkeypatch.setenv("RDS_LANG", "ko")
    app = _sign_in(_app(), codes[0])
    assert app.title[0].value == t("rs.title", "ko")
    assert t("rs.question", "ko") in _page_text(app)


def test_every_string_has_both_languages_and_the_same_placeholders() -> None:
    fields = lambda text: sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)  # noqa: E731
    for key, entry in STRINGS.items():
        assert set(entry) == {"en", "ko"}, key
        assert fields(entry["en"]) == fields(entry["ko"]), key
    with pytest.raises(KeyError):
        t("rs.no-such-key", "en")
