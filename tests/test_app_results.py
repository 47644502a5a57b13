"""The results page, headless (AppTest): the admin gate, the simulated study, filters, exports,
and a real study read from the database."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from pages import _admin_gate as gate
from study import reporting
from study.admin import create_readers
from study.analysis import read_long_csv
from study.db import connect
from study.protocol import mark_viewed, next_task, submit_answer
from study.records import Task
from study.security import set_profile
from tests.study_helpers import make_study

PAGE = Path(__file__).resolve().parents[1] / "pages" / "results.py"
SECRET = "correct horse battery staple 42"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configured secret and a database path where no database exists yet."""
    monkeypatch.setenv(gate.SECRET_ENV, SECRET)
    monkeypatch.setenv("RDS_LANG", "en")  # the assertions below read the English page
    db_file = tmp_path / "data" / "study.sqlite"
    monkeypatch.setenv("RDS_STUDY_DB", str(db_file))
    return db_file


def _app() -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    # A non-empty at.secrets replaces st.secrets, so a developer's own secrets.toml cannot leak in.
    at.secrets["unrelated"] = "x"
    return at


def _submit(at: AppTest, typed: str) -> AppTest:
    at.text_input(key="rds_admin_secret_input").input(typed)
    at.button[0].click()
    return at.run()


def _texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader")
    return "\n".join(str(e.value) for kind in kinds for e in at.get(kind))


def _data_elements(at: AppTest) -> int:
    return sum(len(at.get(kind)) for kind in ("plotly_chart", "dataframe", "download_button", "selectbox",
                                              "multiselect", "tabs", "json"))


def _chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


# --- the gate --------------------------------------------------------------------------------


def test_without_a_configured_secret_the_page_says_how_to_set_one(env, monkeypatch) -> None:
    monkeypatch.delenv(gate.SECRET_ENV)
    at = _app().run()
    assert not at.exception
    assert "set the environment variable rds_admin_secret" in at.error[0].value.lower()
    assert not at.get("text_input") and _data_elements(at) == 0


def test_a_wrong_secret_is_refused_and_shows_nothing_of_the_data(env) -> None:
    at = _submit(_app().run(), "correct horse battery staple 41")
    assert not at.exception
    assert f"{gate.MAX_TRIES - 1} tries left" in at.error[0].value
    assert _data_elements(at) == 0
    page = _texts(at)
    assert "SIMULATED" not in page and "R01" not in page and "AUC" not in page


def test_repeated_wrong_tries_lock_the_form_even_for_the_right_secret(env, monkeypatch) -> None:
    at = _app().run()
    for _ in range(gate.MAX_TRIES):
        at = _submit(at, "guess")
    assert f"locked for {int(gate.LOCK_SECONDS)} seconds" in at.error[0].value
    at.run()
    assert at.button[0].disabled and "Too many wrong tries. Try again in" in at.error[0].value
    at.text_input(key="rds_admin_secret_input").input(SECRET).run()
    assert at.button[0].disabled and _data_elements(at) == 0
    later = time.time() + gate.LOCK_SECONDS + 1
    monkeypatch.setattr(gate, "clock", lambda: later)  # the pause is over
    at = _submit(at.run(), SECRET)
    assert not at.error and at.get("plotly_chart")


@pytest.mark.parametrize(("lockouts", "seconds"), [(1, 60.0), (2, 120.0), (3, 240.0), (20, 3600.0)])
def test_each_lockout_doubles_the_pause_up_to_an_hour(lockouts: int, seconds: float) -> None:
    assert gate.lock_seconds(lockouts) == seconds


def test_secret_comparison_handles_whitespace_and_non_ascii() -> None:
    assert gate.secrets_match("  géheim-ключ-42 \n", "géheim-ключ-42")
    assert not gate.secrets_match("géheim-ключ-43", "géheim-ключ-42")


def test_the_secret_can_come_from_secrets_toml_and_rotating_it_logs_out(env, monkeypatch) -> None:
    monkeypatch.delenv(gate.SECRET_ENV)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.secrets[gate.SECRETS_KEY] = SECRET
    at = _submit(at.run(), SECRET)
    assert not at.exception and at.get("plotly_chart")
    at.secrets[gate.SECRETS_KEY] = SECRET + " rotated"
    at.run()
    assert at.get("text_input") and _data_elements(at) == 0


def test_log_out_closes_the_page(env) -> None:
    at = _submit(_app().run(), SECRET)
    at.sidebar.button[0].click()
    at.run()
    assert at.get("text_input") and _data_elements(at) == 0


# --- the simulated study ----------------------------------------------------------------------


def test_right_secret_shows_the_simulated_study_clearly_labelled_with_its_effect(env) -> None:
    at = _submit(_app().run(), SECRET)
    assert not at.exception and not at.error
    assert at.selectbox(key="results_source").value == "simulated"
    assert at.warning[0].value.startswith("**SIMULATED STUDY - not real results.**")
    specs = _chart_specs(at)
    assert len(specs) == 7  # 5 study charts, the automation-bias chart and the planner
    assert all(s["layout"]["title"]["text"].startswith("SIMULATED DATA - ") for s in specs)
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert any("Automation bias:" in t for t in titles)
    assert any("Power to detect an AUC difference of 0.050 (pilot: 6 readers" in t for t in titles)
    assert "Multiplicity plan (fixed before the study)" in _texts(at)

    study = reporting.simulated_study()
    frames = {tuple(df.value.columns): df.value for df in at.dataframe}
    tests = next(v for k, v in frames.items() if "generalises_to" in k).set_index("analysis")
    assert tests.at["RRRC", "ci_low"] <= study.true_difference <= tests.at["RRRC", "ci_high"]
    assert tests.at["RRRC", "p"] < 0.05
    page = _texts(at)
    assert "readers were more accurate with AI score + heatmap" in page
    assert f"Built-in effect (population AUC difference): {study.true_difference:+.3f}" in page
    assert "recovers it" in page


def test_filters_change_what_is_analysed(env) -> None:
    at = _submit(_app().run(), SECRET)
    at.multiselect(key="results_roles_simulated").set_value(["radiologist"]).run()
    assert "Showing 3 readers, 100 cases, 600 reads." in _texts(at)
    roc = next(s for s in _chart_specs(at) if "ROC" in s["layout"]["title"]["text"])
    panels = [a["text"] for a in roc["layout"]["annotations"] if a["text"].startswith("R")]
    assert panels == ["R02 (radiologist)", "R04 (radiologist)", "R06 (radiologist)"]

    at.multiselect(key="results_arms_simulated").set_value(["none"]).run()
    assert not at.exception
    page = _texts(at)
    assert "Choose at least two arms to compare them." in page
    assert "Switching: The unaided arm" not in page  # 'none' is there; no aided arm to pair
    assert "Switching: No aided arm" in page
    at.multiselect(key="results_arms_simulated").set_value([]).run()
    assert "Choose at least one arm to show." in _texts(at) and not at.get("plotly_chart")


def test_the_csv_export_offered_by_the_page_round_trips(env, monkeypatch, tmp_path: Path) -> None:
    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Recording)
    at = _submit(_app().run(), SECRET)
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    assert {"Long-format CSV (iMRMC, MRMCaov, RJafroc)", "iMRMC input file",
            "All charts and tables as one HTML file (opens offline)"} <= set(buttons)
    assert buttons["All charts and tables as one HTML file (opens offline)"].deferred_file_id
    url = buttons["Long-format CSV (iMRMC, MRMCaov, RJafroc)"].url
    file_id = url.rsplit("/", 1)[-1].split(".")[0]
    content = stores[-1].get_file(file_id).content
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    back = read_long_csv(path).sort_values(["reader", "arm", "case"]).reset_index(drop=True)
    original = reporting.simulated_study().reads[["reader", "arm", "case", "truth", "rating"]]
    original = original.sort_values(["reader", "arm", "case"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, original, check_dtype=False)


# --- a real study --------------------------------------------------------------------------------


def _answer_all(db, study_id: int, reader_id: int, rng: np.random.Generator, limit: int | None = None) -> None:
    done = 0
    while isinstance(task := next_task(db, study_id, reader_id), Task) and (limit is None or done < limit):
        truth = db.conn.execute("SELECT truth FROM cases WHERE id = ?", (task.key.case_id,)).fetchone()[0]
        says_rds = bool(rng.random() < (0.8 if truth else 0.25))
        mark_viewed(db, task.key)
        submit_answer(db, task.key, diagnosis=says_rds, confidence=int(rng.integers(10, 100)),
                      time_on_case_ms=int(rng.integers(5_000, 60_000)))
        done += 1


def test_a_real_study_with_answers_is_shown_first_and_not_labelled_simulated(env, tmp_path: Path) -> None:
    db = connect(env)
    study = make_study(db, tmp_path, n=8, arms=("none", "score_heatmap"), name="pilot")
    readers = create_readers(db, study.study_id, 3)
    set_profile(db, readers[0].reader_id, role="neonatologist", years_experience=10)
    rng = np.random.default_rng(3)
    for reader in readers[:2]:
        _answer_all(db, study.study_id, reader.reader_id, rng)
    _answer_all(db, study.study_id, readers[2].reader_id, rng, limit=5)  # still reading
    db.conn.close()

    at = _submit(_app().run(), SECRET)
    assert not at.exception and not at.error
    assert at.selectbox(key="results_source").value == f"study:{study.study_id}"
    assert at.selectbox(key="results_source").options[-1].startswith("SIMULATED")
    page = _texts(at)
    assert "SIMULATED" not in page
    assert "Showing 3 readers, 8 cases, 37 reads." in page
    assert "Left out of the MRMC analysis (have not read every case in both arms): R03" in page
    assert "**Conclusion.** With AI score + heatmap the readers' mean AUC was" in page
    assert "Rating scale: each read's rating is 50 + confidence / 2 for an RDS answer" in page
    assert set(at.multiselect(key=f"results_roles_study:{study.study_id}").value) == {
        "neonatologist", reporting.UNKNOWN_ROLE}
    assert not any(s["layout"]["title"]["text"].startswith("SIMULATED") for s in _chart_specs(at))


def test_a_three_arm_study_gets_the_global_test_and_the_pooled_pairwise_table(env, tmp_path: Path) -> None:
    db = connect(env)
    study = make_study(db, tmp_path, n=8, arms=("none", "score", "score_heatmap"), name="three")
    readers = create_readers(db, study.study_id, 3)
    rng = np.random.default_rng(5)
    for reader in readers:
        _answer_all(db, study.study_id, reader.reader_id, rng)
    db.conn.close()

    at = _submit(_app().run(), SECRET)
    assert not at.exception and not at.error
    frames = {tuple(df.value.columns): df.value for df in at.dataframe}
    pairwise = next(v for k, v in frames.items() if "p_holm" in k)
    assert len(pairwise) == 3
    assert set(pairwise["comparison"]) == {"AI score + heatmap - No AI", "AI score + heatmap - AI score",
                                           "No AI - AI score"}
    assert (pairwise["p_holm"] >= pairwise["p"]).all()
    glob = next(v for k, v in frames.items() if "statistic" in k and "generalises_to" in k and len(v) == 3
                and v["df"].str.startswith("2").all())
    assert list(glob["analysis"]) == ["RRRC", "FRRC", "RRFC"]
    assert "Multiplicity plan (fixed before the study)" in _texts(at)


def test_with_one_answer_the_page_says_what_is_missing_instead_of_empty_charts(env, tmp_path: Path) -> None:
    db = connect(env)
    study = make_study(db, tmp_path, n=8, arms=("none", "score_heatmap"), name="early")
    reader = create_readers(db, study.study_id, 1)[0]
    _answer_all(db, study.study_id, reader.reader_id, np.random.default_rng(1), limit=1)
    db.conn.close()

    at = _submit(_app().run(), SECRET)
    assert not at.exception and not at.error
    page = _texts(at)
    assert "So far 1 reads of 1 cases by 1 reader(s) in 1 arm(s). The charts need" in page
    assert "a second arm" in page
    assert not any("Each reader with and without AI" in s["layout"]["title"]["text"]
                   for s in _chart_specs(at))


def test_simulated_study_shows_sensitivity_and_specificity_mrmc(env) -> None:
    at = _submit(_app().run(), SECRET)
    frames = {tuple(df.value.columns): df.value for df in at.dataframe}
    binary = next(v for k, v in frames.items() if "endpoint" in k)
    assert list(binary["endpoint"]) == ["sensitivity", "specificity"]
    assert binary[["ci_low", "ci_high"]].notna().all().all()


def test_the_results_page_speaks_korean_like_the_other_pages(env, monkeypatch) -> None:
    from pages._i18n_study import t

    monkeypatch.setenv("RDS_LANG", "ko")
    at = _submit(_app().run(), SECRET)
    assert not at.exception
    assert at.title[0].value == t("res.title", "ko")
    assert at.warning[0].value.startswith("**모의 연구 - 실제 결과가 아닙니다.**")
    page = _texts(at)
    assert t("res.mrmc_title", "ko") in page and t("res.english_note", "ko") in page
    assert "Did the AI help?" not in page and "SIMULATED STUDY - not real results" not in page
    assert [tab.label for tab in at.tabs] == [t(k, "ko") for k in ("res.tab_readers", "res.tab_switching", "res.tab_time",
                                                                    "res.tab_cases", "res.tab_export")]
