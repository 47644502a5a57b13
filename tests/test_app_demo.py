"""The demo page headless (AppTest): gallery, a sample run end to end, language, uploads, kiosk
rules, friendly errors; plus the pure helpers behind them and the bundled samples."""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import re
import shutil
import string
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from pages import _films as films
from pages import _analysis as analysis_module
from pages import _kiosk as kiosk
from rds_core.warnings_catalog import WARNINGS, warning
from pages._i18n import CORE_WARNINGS_KO, ERROR_KINDS_KO, LANGUAGES, STRINGS, error_text, t, warning_text
from rds_core.errors import ColourImageError, UnsupportedFormatError, UploadTooLargeError
from rds_core.imaging import load_radiograph
from rds_core.models.random_pack import write_random_classifier_pack, write_random_segmentation_pack
from rds_core.pipeline import Analysis, analyze, load_models

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
SAMPLE = "simulated_rds_grade3_01.png"
SAMPLE_KEY = "sample-simulated_rds_grade3_01"


# AppTest (Streamlit 1.67) drops the sidebar from its element tree on every run after the first
# when the app uses st.navigation (a real browser keeps it), so sidebar widgets are driven
# through their session_state keys after the first run.


def _text(app: AppTest) -> str:
    """Everything a visitor can read on the page (main area and sidebar)."""
    parts: list[str] = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(element.value) for element in getattr(app, kind)]
    return "\n".join(parts)


def _expected(weights: Path, file: str) -> Analysis:
    """The analysis computed directly with rds_core, to check what the page shows."""
    models = load_models(str(weights / "rds-demo"), str(weights / "lung-seg"))
    return analyze(load_radiograph(SAMPLES / file), models)


def _score(app: AppTest) -> str:
    found = [m.value for m in app.markdown if "rds-score-value" in m.value]
    assert len(found) == 1, "exactly one score on the page"
    return re.sub(r"<[^>]+>", "", found[0])


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch, weights_env: Path) -> Path:
    monkeypatch.setenv("RDS_LANG", "en")
    return weights_env


def test_gallery_lists_every_sample_under_the_notice(app_test: Callable[..., AppTest]) -> None:
    app = app_test()
    app.run()
    assert not app.exception
    assert app.title[0].value == t("demo.title", "ko"), "Korean is the default language"
    keys = {b.key for b in app.button if (b.key or "").startswith("sample-")}
    assert keys == {s.widget_key for s in films.list_samples(SAMPLES)}
    assert len(keys) >= 8
    assert t("notice.short", "ko") in _text(app), "the research-demo notice is on the page"
    assert app.selectbox(key="pack").options == ["rds-demo · v0.0.0-random"]


def test_sample_runs_to_demo_score_threshold_and_spread(app_test: Callable[..., AppTest], english: Path) -> None:
    app = app_test()
    app.run()
    app.button(key=SAMPLE_KEY).click().run()
    assert not app.exception and not app.error
    expected = _expected(english, SAMPLE)
    assert _score(app) == f"{expected.probability:.2f}"
    text = _text(app)
    side = "At or above" if expected.positive else "Below"
    assert f"{side} the demo threshold {expected.threshold:.2f} - demo label: {expected.label}" in text
    low, high = min(expected.fold_probabilities), max(expected.fold_probabilities)
    assert f"± {expected.spread:.2f} (from {low:.2f} to {high:.2f})" in text
    assert "A demo model score, not a diagnosis." in text and "not for clinical use" in text
    assert "What does the heatmap mean?" in text and "It does not show" in text
    timings = next(c.value for c in app.caption if c.value.startswith("Time taken"))
    assert all(stage in timings for stage in ("lungs", "score", "heatmap", "total")) and "cpu" in timings
    assert len(app.image) == 1 and app.image[0].value[0].endswith(".jpg"), "the display travels as JPEG"


def test_language_switch_keeps_the_chosen_film(app_test: Callable[..., AppTest]) -> None:
    app = app_test()
    app.run()
    app.button(key=SAMPLE_KEY).click().run()
    assert t("result.score_title", "ko") in _text(app)
    first = app.session_state["rds_result"][1]
    app.session_state["lang"] = "en"  # the sidebar radio (see the note at the top)
    app.run()
    assert app.title[0].value == "Try the RDS demo"
    assert "Demo model score" in _text(app) and t("result.score_title", "ko") not in _text(app)
    assert app.session_state["rds_result"][1] is first, "switching language does not analyse again"


def test_heatmap_controls_change_the_picture(app_test: Callable[..., AppTest], english: Path) -> None:
    app = app_test()
    app.run()
    app.button(key=SAMPLE_KEY).click().run()
    with_heat = app.image[0].value[0]
    app.slider(key="rds_opacity").set_value(1.0).run()
    stronger = app.image[0].value[0]
    app.toggle(key="rds_show_heat").set_value(False).run()
    without_heat = app.image[0].value[0]
    assert len({with_heat, stronger, without_heat}) == 3


def test_back_returns_to_the_gallery(app_test: Callable[..., AppTest], english: Path) -> None:
    app = app_test()
    app.run()
    app.button(key=SAMPLE_KEY).click().run()
    app.button(key="rds-back").click().run()
    assert app.session_state["rds_input"] is None and app.session_state["rds_result"] is None
    assert any(b.key == SAMPLE_KEY for b in app.button) and "Sample films" in _text(app)
    assert len(app.image) == len(films.list_samples(SAMPLES)), "only the thumbnails, no result picture"
    assert "rds-score-value" not in _text(app)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"these are not pixels", "is not a PNG, JPEG or DICOM file"),
        ("empty.png", b"", "is empty (0 bytes)"),
        ("photo.png", _png(np.random.default_rng(0).integers(0, 255, (120, 120, 3), dtype=np.uint8)), "colour image"),
        ("cut.png", (SAMPLES / "kermany_normal_01.png").read_bytes()[:3000], "incomplete or damaged"),
    ],
)
def test_bad_upload_gets_a_friendly_message(app_test: Callable[..., AppTest], english: Path,
                                            name: str, content: bytes, message: str) -> None:
    app = app_test()
    app.run()
    app.file_uploader[0].upload(name, content).run()
    assert not app.exception, "no traceback"
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and message in errors[0] and "could not be analysed" in errors[0]
    assert name in errors[0], "the message names the file the visitor chose"
    app.button(key="rds-back").click().run()
    assert not app.error and app.session_state["rds_input"] is None


def test_korean_visitors_get_a_korean_error_with_the_details(app_test: Callable[..., AppTest]) -> None:
    app = app_test()
    app.run()
    app.file_uploader[0].upload("notes.txt", b"not an image").run()
    assert ERROR_KINDS_KO[UnsupportedFormatError] in app.error[0].value
    assert any("is not a PNG, JPEG or DICOM file" in c.value for c in app.caption), "English details below"


def test_upload_over_the_limit_is_refused_and_not_kept(app_test: Callable[..., AppTest], english: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDS_MAX_UPLOAD_MB", "1")
    app = app_test()
    app.run()
    assert "up to 1 MB" in app.file_uploader[0].label
    app.file_uploader[0].upload("huge.png", b"\x89PNG" + bytes(int(1.2 * 2**20))).run()
    assert not app.exception
    assert [e.value for e in app.error] == ["This file is larger than 1 MB; please choose a smaller file."]
    assert app.session_state["rds_input"] is None, "the bytes are dropped, not kept in the session"


def test_kiosk_upload_leaves_no_file_and_no_log(app_test: Callable[..., AppTest], english: Path,
                                                monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("RDS_KIOSK", "1")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    samples_before = sorted(p.name for p in SAMPLES.iterdir())
    before = st.get_option("client.showErrorDetails")
    try:
        with caplog.at_level(logging.DEBUG):
            app = app_test()
            app.run()
            assert st.get_option("client.showErrorDetails") == "none", "no tracebacks in a kiosk"
            app.file_uploader[0].upload("visitor_film.png", (SAMPLES / SAMPLE).read_bytes()).run()
            assert not app.exception and not app.error
            assert _score(app) == f"{_expected(english, SAMPLE).probability:.2f}", "same film, same score"
            assert any("visitor_film.png (your upload)" in c.value for c in app.caption)
    finally:
        st.set_option("client.showErrorDetails", before)
    assert list(scratch.iterdir()) == [], "nothing written to the temporary folder"
    assert sorted(p.name for p in SAMPLES.iterdir()) == samples_before
    assert not [r for r in caplog.records if "visitor_film" in r.getMessage()], "the upload is never logged"


def test_missing_packs_give_a_friendly_message(app_test: Callable[..., AppTest], english: Path,
                                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RDS_WEIGHTS_DIR", str(tmp_path))
    app = app_test()
    app.run()
    assert f"No model pack is installed in {tmp_path} yet." in app.sidebar.error[0].value
    app.button(key=SAMPLE_KEY).click().run()
    assert not app.exception
    assert "Weight pack" in app.error[0].value and "was not found" in app.error[0].value


def test_unexpected_failure_shows_a_generic_message(app_test: Callable[..., AppTest], english: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail /secret/path")

    monkeypatch.setattr(analysis_module, "analyze", broken)
    app = app_test()
    app.run()
    app.button(key=SAMPLE_KEY).click().run()
    assert not app.exception
    assert [e.value for e in app.error] == [t("error.unexpected", "en")]
    assert "secret" not in _text(app)


def test_pack_switcher_offers_classification_packs_only(app_test: Callable[..., AppTest], english: Path,
                                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    shutil.copytree(english, weights)
    write_random_classifier_pack(weights / "rds-alt", size=64, seed=3)
    write_random_segmentation_pack(weights / "other-seg", size=64)
    (weights / "half-copied").mkdir()
    (weights / "half-copied" / "manifest.json").write_text("{not json")
    monkeypatch.setenv("RDS_WEIGHTS_DIR", str(weights))
    app = app_test()
    app.run()
    box = app.selectbox(key="pack")
    assert [o.split(" ·")[0] for o in box.options] == ["rds-demo", "rds-alt"], "default first, no seg or broken pack"
    app = app_test()
    app.session_state["pack"] = "rds-alt"
    app.run()
    about = " ".join(m.value for m in app.sidebar.markdown)
    assert "Pack **rds-alt**" in about and "none (random initialisation)" in about
    assert "Randomly initialised weights" in about, "the pack's own notice is shown"
    app.button(key=SAMPLE_KEY).click().run()
    assert app.session_state["rds_result"][0][1] == str(weights / "rds-alt"), "analysed with the chosen pack"


# --- pure helpers and data --------------------------------------------------------------


def test_accept_upload_refuses_files_over_the_limit() -> None:
    assert films.accept_upload("a.png", bytes(2**20), 1).data == bytes(2**20), "exactly the limit is fine"
    with pytest.raises(UploadTooLargeError, match=r"1\.0 MB, larger than the 1 MB"):
        films.accept_upload("a.png", bytes(2**20 + 1), 1)


def test_upload_identity_follows_content_not_name() -> None:
    a, b = films.InputChoice("upload", "a.png", data=b"x"), films.InputChoice("upload", "b.png", data=b"x")
    assert a.key == b.key != films.InputChoice("upload", "a.png", data=b"y").key


@pytest.mark.parametrize(("last", "now", "limit", "expired"),
                         [(0.0, 119.9, 120.0, False), (0.0, 120.0, 120.0, True), (0.0, 1e6, 0.0, False)])
def test_idle_expiry(last: float, now: float, limit: float, expired: bool) -> None:
    assert kiosk.idle_expired(last, now, limit) is expired


@pytest.mark.parametrize(("file", "en"), [
    ("simulated_rds_grade3_01.png", "Simulated RDS, grade 3"),
    ("simulated_rds_one_lung_01.png", "Simulated RDS, one lung only"),
    ("kermany_pneumonia_02.png", "Child, pneumonia"),
    ("kermany_normal_01.png", "Child, normal"),
    ("adult_cr_chest.dcm", "Adult film, DICOM"),
])
def test_sample_captions(file: str, en: str) -> None:
    """Captions come from the kind and grade columns of samples.csv, not from file names."""
    sample = {s.file: s for s in films.list_samples(SAMPLES)}[file]
    assert sample.caption("en") == en
    assert sample.caption("ko") == t(f"caption.{sample.kind}", "ko", grade=sample.grade or "?") != en
    renamed = dataclasses.replace(sample, file="mystery.png")
    assert renamed.caption("en") == en, "the name is not what decides the caption"
    assert dataclasses.replace(sample, file="mystery.png", kind="").caption("en") == "mystery"


def test_bundled_samples_are_complete_and_load() -> None:
    with open(SAMPLES / "samples.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["file", "truth", "kind", "grade", "description", "source", "licence"]
        rows = list(reader)
    assert len(rows) >= 8 and any(r["file"].endswith(".dcm") for r in rows)
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for row in rows:
        simulated = row["file"].startswith("simulated_rds_")
        assert row["truth"] == ("1" if simulated else "0"), row["file"]
        assert ("SIMULATED" in row["description"]) is simulated
        assert row["source"] and row["licence"] and f"`{row['file']}`" in readme
        film = load_radiograph(SAMPLES / row["file"])
        assert min(film.pixels.shape) >= 256
    assert sum(r["truth"] == "1" for r in rows) >= 3


def test_every_ui_string_exists_in_both_languages_with_the_same_fields() -> None:
    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGUAGES), key
        fields = [{f for _, f, _, _ in string.Formatter().parse(entry[code]) if f} for code in LANGUAGES]
        assert fields[0] == fields[1], key
        assert all(entry[code].strip() for code in LANGUAGES), key


def test_core_errors_and_warnings_translate_and_fall_back_to_english() -> None:
    error = ColourImageError("x.png is a colour image.")
    assert error_text(error, "en") == ("x.png is a colour image.", None)
    assert error_text(error, "ko") == (ERROR_KINDS_KO[ColourImageError], "x.png is a colour image.")
    known = warning("turned", degrees=90)
    assert warning_text(known, "ko") == CORE_WARNINGS_KO["turned"].format(degrees=90) and warning_text(known, "en") == known
    assert warning_text("Something new.", "ko") == "Something new."


def test_every_coded_warning_has_both_languages_with_the_same_fields() -> None:
    assert set(CORE_WARNINGS_KO) == set(WARNINGS)
    for code, english in WARNINGS.items():
        fields = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (english, CORE_WARNINGS_KO[code])]
        assert fields[0] == fields[1], code


def test_banner_follows_the_pack_notice(app_test: Callable[..., AppTest], random_weights_dir: Path,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pack trained on real data is not called simulated; the demo pack says it is."""
    app = app_test()
    app.run()
    banner = next(w.value for w in app.warning if t("notice.short", "ko") in w.value or "not for clinical" in w.value)
    assert "Randomly initialised weights" in banner, "a non-simulated pack shows its own notice"
    assert "simulated RDS" not in banner and "모의" not in banner
    # The same pack with the demo pack's notice: the simulated wording comes back.
    import json
    import shutil

    copy = tmp_path / "weights"
    shutil.copytree(random_weights_dir, copy)
    manifest = json.loads((copy / "rds-demo" / "manifest.json").read_text(encoding="utf-8"))
    manifest["notice"] = "Demo weights trained on simulated RDS patterns; not for clinical use."
    (copy / "rds-demo" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("RDS_WEIGHTS_DIR", str(copy))
    again = app_test()
    again.run()
    assert any(t("notice.long", "ko") in w.value for w in again.warning)
