"""A reader in a real browser: signs in with the access code, fills in the profile and completes
two cases of a sequential study (four reads: each case unaided, then with the AI hint), using the
keyboard shortcuts, the mouse and a double click; every answer lands in the database once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from study.admin import create_readers, create_study
from study.cases import import_case_set
from study.db import connect
from tests.study_helpers import fake_hint, write_films

FILM_LOADED = """() => { const i = document.querySelector('.st-key-rs-film img');
                         return i !== null && i.complete && i.naturalWidth > 0; }"""
SUBMIT = '[class*="st-key-rs-submit-"] button'
SUBMIT_READY = f"""() => {{ const b = document.querySelector('{SUBMIT}'); return b !== null && !b.disabled; }}"""
CHOICE = {True: '[class*="st-key-rs-yes-"] button', False: '[class*="st-key-rs-no-"] button'}


@pytest.fixture
def reader_study(tmp_path: Path) -> tuple[dict[str, str], str]:
    """A two-case sequential study (no AI, then AI score + heatmap) and one reader's code."""
    db_file = tmp_path / "study.sqlite"
    db = connect(db_file)
    csv = write_films(tmp_path / "films", 2, truths=[1, 0])
    case_set = import_case_set(db, csv.parent, csv, name="two", storage_dir=tmp_path / "cases", hint_fn=fake_hint)
    study = create_study(db, name="two", case_set_id=case_set.case_set_id, design="sequential",
                         arms=("none", "score_heatmap"), seed="browser")
    code = create_readers(db, study.study_id, 1)[0].code
    (tmp_path / "weights").mkdir()
    env = {"RDS_STUDY_DB": str(db_file), "RDS_STUDY_CASES": str(tmp_path / "cases"), "RDS_LANG": "en",
           "RDS_WEIGHTS_DIR": str(tmp_path / "weights")}  # the reader page needs no model
    return env, code


def _wait_for_read(page: Any, done: int) -> None:
    page.get_by_text(f"{done} of 4 reads done").wait_for()
    page.wait_for_function(FILM_LOADED)


def test_a_reader_completes_two_cases(page: Any, streamlit_app: Callable[..., str], reader_study,
                                      artifacts_dir: Path) -> None:
    env, code = reader_study
    url = streamlit_app(env)
    # Through the app's menu: until some session has run app.py, Streamlit would serve
    # /reader from the legacy pages/ folder without the app's frame.
    page.goto(url)
    page.locator("[data-testid=stSidebarNav]").get_by_text("Reader study").click()
    page.get_by_label("Access code", exact=True).fill(code.lower().replace("-", " "))  # as a reader might type it
    page.get_by_role("button", name="Start reading").click()
    page.get_by_text("Neonatologist").click()
    page.get_by_label("Years of experience", exact=True).fill("6")
    page.get_by_role("button", name="Save and continue").click()

    # Read 1 (unaided), by keyboard: Y, then Enter.
    _wait_for_read(page, 0)
    main = page.locator("[data-testid=stMain]")
    assert "AI hint" not in main.inner_text()
    page.locator(SUBMIT).wait_for()
    assert page.locator(SUBMIT).is_disabled(), "nothing to submit before a diagnosis"
    page.keyboard.press("y")
    page.wait_for_function(SUBMIT_READY)
    page.keyboard.press("Enter")

    # Read 2 (the same case with the hint), by mouse, with a double click on submit.
    _wait_for_read(page, 1)
    page.locator(".st-key-rs-heatmap img").wait_for()
    assert "AI probability of RDS" in page.locator(".st-key-rs-hint").inner_text()
    assert "Your answer without AI" in main.inner_text()
    page.screenshot(path=str(artifacts_dir / "reader_aided_1920x1080.png"))
    page.locator(CHOICE[False]).click()
    page.wait_for_function(SUBMIT_READY)
    page.locator(SUBMIT).dblclick()

    # Reads 3 and 4: the second case, unaided then aided.
    for done in (2, 3):
        _wait_for_read(page, done)
        page.locator(CHOICE[True]).click()
        page.wait_for_function(SUBMIT_READY)
        page.locator(SUBMIT).click()
    page.get_by_text("All done - thank you!").wait_for()

    db = connect(env["RDS_STUDY_DB"])
    rows = db.conn.execute("SELECT arm, diagnosis, confidence FROM answers ORDER BY id").fetchall()
    assert rows == [("none", 1, 50), ("score_heatmap", 0, 50), ("none", 1, 50), ("score_heatmap", 1, 50)]
    assert db.conn.execute("SELECT COUNT(DISTINCT case_id) FROM answers").fetchone()[0] == 2
