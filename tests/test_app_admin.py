"""The admin page headless (AppTest): the secret gate, importing a case folder with its report of
skipped files, creating a study and readers (codes shown once), progress and the CSV export."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pages._admin_gate import NO_SECRET_MESSAGE, SECRET_ENV
from pages._i18n_study import t
from pages._plain import escape_markdown
from study.admin import create_readers, create_study, list_studies
from study.cases import import_case_set
from study.db import connect
from study.protocol import mark_viewed, next_task, submit_answer
from study.security import authenticate
from tests.study_helpers import fake_hint, write_films

REPO = Path(__file__).resolve().parents[1]
PAGE = str(REPO / "pages" / "admin.py")
SECRET = "correct-horse-battery-staple-42"


def en(key: str, **values: object) -> str:
    return t(key, "en", **values)


@pytest.fixture
def admin_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty study database and the admin secret in the environment."""
    monkeypatch.setenv("RDS_STUDY_DB", str(tmp_path / "study.sqlite"))
    monkeypatch.setenv("RDS_STUDY_CASES", str(tmp_path / "cases"))
    monkeypatch.setenv("RDS_LANG", "en")
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return connect(tmp_path / "study.sqlite")


def _open(secret: str = SECRET) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    app.text_input(key="rds_admin_secret_input").input(secret)
    app.form_submit_button[0].click().run()
    assert not app.exception
    return app


def _press(app: AppTest, label: str) -> AppTest:
    next(b for b in app.form_submit_button if b.label == label).click().run()
    assert not app.exception
    return app


def _frame(app: AppTest, key: str) -> pd.DataFrame:
    """The table inside the container ``key``."""
    block = next(node for node in app.main if getattr(node, "key", None) == key)
    return block.dataframe[0].value


def _hinted_case_set(db, tmp_path: Path, n: int = 6) -> int:
    csv = write_films(tmp_path / "hinted", n)
    return import_case_set(db, csv.parent, csv, name="hinted", hint_fn=fake_hint).case_set_id


def test_the_gate_stays_shut_without_the_secret(admin_env, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = _open("not-the-secret")
    assert not wrong.tabs and any("Wrong secret" in e.value for e in wrong.error)

    right = _open()
    assert [tab.label for tab in right.tabs] == [en("adm.tab_studies"), en("adm.tab_new_study"), en("adm.tab_import")]

    monkeypatch.delenv(SECRET_ENV)
    closed = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not closed.tabs and NO_SECRET_MESSAGE in [e.value for e in closed.error]


def test_import_reports_skipped_files(admin_env, tmp_path: Path) -> None:
    folder = tmp_path / "films"
    csv = write_films(folder, 4, extra_rows=["broken.png,1", "../outside.png,0"])
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    app = _open()
    app.text_input(key="adm-folder").input(str(folder))
    app.text_input(key="adm-csv").input(str(csv))
    app.checkbox(key="adm-hints").uncheck()
    _press(app, en("adm.import"))

    assert escape_markdown(en("adm.imported", name="films", n=4, skipped=2)) in [s.value for s in app.success]
    skipped = _frame(app, "adm-skipped")
    assert list(skipped.iloc[:, 0]) == ["broken.png", "../outside.png"]
    assert "'..' is not allowed" in skipped.iloc[1, 1]
    assert admin_env["cases"].count == 4


def test_create_a_study_then_readers_whose_codes_are_shown_once(admin_env, tmp_path: Path) -> None:
    case_set = _hinted_case_set(admin_env, tmp_path)
    app = _open()
    app.text_input(key="adm-study-name").input("pilot")
    app.selectbox(key="adm-case-set").set_value(case_set)
    app.multiselect(key="adm-arms").set_value(["score_heatmap", "none"])
    _press(app, en("adm.create_study"))
    assert "sequential study starts with the unaided arm" in app.error[0].value
    assert list_studies(admin_env) == []

    app.multiselect(key="adm-arms").set_value(["none", "score", "score_heatmap"])
    app.slider(key="adm-flagged").set_value(0.2)
    _press(app, en("adm.create_study"))
    [study] = list_studies(admin_env)
    assert (study.name, study.design, study.arms, study.flagged_fraction) == (
        "pilot", "sequential", ("none", "score", "score_heatmap"), 0.2)
    assert app.selectbox(key="adm-study").value == study.study_id

    app.number_input(key="adm-n-readers").set_value(2)
    _press(app, en("adm.create_readers"))
    shown = app.code[0].value.splitlines()
    assert [line.split("\t")[0] for line in shown] == ["R01", "R02"]
    for line in shown:
        assert authenticate(admin_env, line.split("\t")[1]).study_id == study.study_id
    progress = _frame(app, "adm-progress")
    assert list(progress[en("adm.col_reader")]) == ["R01", "R02"]
    assert set(progress[en("adm.col_state")]) == {en("state.not started")}

    app.button(key="adm-hide-codes").click().run()
    assert not app.code, "codes disappear once copied"
    assert not _open().code, "and never show in another session"


def test_progress_and_export_after_answers(admin_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case_set = _hinted_case_set(admin_env, tmp_path, n=4)
    study = create_study(admin_env, name="s", case_set_id=case_set, design="sequential",
                         arms=("none", "score_heatmap"), seed="x")
    reader = create_readers(admin_env, study.study_id, 1)[0]
    calls = []
    for diagnosis in (True, False, True):
        task = next_task(admin_env, study.study_id, reader.reader_id)
        mark_viewed(admin_env, task.key)
        submit_answer(admin_env, task.key, diagnosis=diagnosis, confidence=60)
        calls.append(int(diagnosis))
    downloads: list[tuple[bytes, str | None]] = []
    real_store = MemoryMediaFileStorage.load_and_get_id

    def keep(self, data, mimetype, kind, filename=None):  # the bytes behind each download button
        if mimetype == "text/csv":
            downloads.append((data, filename))
        return real_store(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)

    app = _open()
    progress = _frame(app, "adm-progress")
    assert progress[en("adm.col_done")].tolist() == [3] and progress[en("adm.col_total")].tolist() == [8]
    assert progress[en("adm.col_state")].tolist() == [en("state.in progress")]
    assert app.get("download_button")[0].label == en("adm.export")
    data, filename = downloads[-1]
    frame = pd.read_csv(io.BytesIO(data))
    assert filename == "s_answers.csv"
    assert len(frame) == 3 and {"reader", "case", "arm", "truth", "call", "rating"} <= set(frame.columns)
    assert sorted(frame["call"]) == sorted(calls) and set(frame["reader"]) == {"R01"}


# --- issue 14: a weak secret, a lockout shared by sessions, the audit, plain text -------------


def test_a_weak_secret_keeps_the_gate_shut_without_saying_why(admin_env, monkeypatch, caplog) -> None:
    from pages._admin_gate import MIN_SECRET_LENGTH, WEAK_SECRET_MESSAGE

    monkeypatch.setenv(SECRET_ENV, "abc")
    with caplog.at_level("ERROR", logger="rds.admin_gate"):
        app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not app.tabs and not app.text_input  # no form: a short secret cannot be guessed here
    assert [e.value for e in app.error] == [WEAK_SECRET_MESSAGE]
    page = " ".join(str(e.value) for kind in ("error", "warning", "info") for e in app.get(kind))
    assert "short" not in page.lower() and str(MIN_SECRET_LENGTH) not in page
    assert f"shorter than {MIN_SECRET_LENGTH} characters" in caplog.text  # the server log says why


def test_the_lockout_holds_across_new_sessions_and_is_audited(admin_env) -> None:
    from pages._admin_gate import MAX_TRIES
    from study.throttle import login_audit

    for _ in range(MAX_TRIES):  # a fresh browser session for every guess
        assert not _open("not-the-secret").tabs
    fresh = AppTest.from_file(PAGE, default_timeout=60).run()
    assert fresh.form_submit_button[0].disabled
    assert any("Too many wrong tries" in e.value for e in fresh.error)
    assert not fresh.tabs  # begin_attempt() refuses on the server too (tests/test_security_throttle.py)
    audit = login_audit(admin_env)
    assert [a.ok for a in audit] == [False] * MAX_TRIES and {a.client for a in audit} == {"unknown"}


def test_a_successful_login_is_audited(admin_env) -> None:
    from study.throttle import login_audit

    app = _open()
    assert app.tabs and [a.ok for a in login_audit(admin_env)] == [True]


def test_file_names_are_shown_as_plain_text(admin_env, tmp_path: Path) -> None:
    folder = tmp_path / "films"
    csv = write_films(folder, 2, extra_rows=["![pwn](https://evil.example/t.png),1"])
    app = _open()
    app.text_input(key="adm-folder").input(str(folder))
    app.text_input(key="adm-set-name").input("[click](https://evil.example)")
    _press(app, en("adm.import"))
    assert not app.exception
    shown = " ".join(str(e.value) for kind in ("success", "markdown", "error") for e in app.get(kind))
    assert not re.search(r"(?<!\\)\]\(", shown) and "\\[click\\]" in shown  # no link can form
    assert csv.exists() and not app.get("image")


def test_burned_in_films_need_the_admin_to_confirm_the_pixels(admin_env, tmp_path: Path) -> None:
    from pydicom.uid import generate_uid

    from tests.test_study_cases import make_dicom

    folder = tmp_path / "dicom"
    folder.mkdir()
    make_dicom(folder / "text.dcm", study_uid=generate_uid(), burned_in="YES")
    make_dicom(folder / "clean.dcm", study_uid=generate_uid(), seed=1)
    (folder / "truth.csv").write_text("file,truth\ntext.dcm,1\nclean.dcm,0\n")
    app = _open()
    app.text_input(key="adm-folder").input(str(folder))
    app.checkbox(key="adm-hints").uncheck()
    assert app.checkbox(key="adm-burned-in").value is False  # refused unless confirmed
    _press(app, en("adm.import"))
    assert list(_frame(app, "adm-skipped").iloc[:, 0]) == ["text.dcm"]

    app.text_input(key="adm-set-name").input("checked")
    app.checkbox(key="adm-burned-in").check()
    _press(app, en("adm.import"))
    assert list(_frame(app, "adm-warnings").iloc[:, 0]) == ["text.dcm"]
    assert admin_env["cases"].count == 3
