"""The demo in a real browser: a sample runs through to a score and a heatmap, bad uploads get
a friendly message, the Korean UI renders, and a kiosk returns to the gallery when idle."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

SAMPLE = ".st-key-sample-simulated_rds_grade3_01 button"
GALLERY_READY = ".st-key-sample-kermany_normal_01 button"
RESULT_END = ".st-key-rds-result-end"
OVERLAY_IMG = ".st-key-rds-overlay img"
IMAGE_LOADED = """() => { const i = document.querySelector('.st-key-rds-overlay img');
                          return i !== null && i.complete && i.naturalWidth > 0; }"""


def _run_sample(page: Any, url: str) -> None:
    page.goto(url)
    page.locator(GALLERY_READY).wait_for()
    page.locator(SAMPLE).click()
    page.locator(RESULT_END).wait_for(state="attached")
    page.wait_for_function(IMAGE_LOADED)


def _screenshot(page: Any, path: Path) -> None:
    page.wait_for_timeout(400)  # let the last layout pass settle
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000, "a blank capture is a few kB"


def test_sample_runs_to_score_and_heatmap(page: Any, demo_app_url: str, artifacts_dir: Path) -> None:
    _run_sample(page, demo_app_url)
    score = page.locator(".st-key-rds-score .rds-score-value").inner_text().strip()
    assert re.fullmatch(r"[01]\.\d\d", score), score
    card = page.locator(".st-key-rds-score").inner_text()
    assert "Demo model score" in card and "threshold" in card and "not a diagnosis" in card
    assert "not for clinical use" in page.locator("[data-testid=stMain]").inner_text()
    assert page.locator(".st-key-rds-timings").inner_text().count(" ms") >= 4
    _screenshot(page, artifacts_dir / "demo_result_1920x1080.png")

    # The heatmap really is in the picture: switching it off changes the image.
    with_heat = page.locator(OVERLAY_IMG).get_attribute("src")
    page.get_by_text("Show heatmap").click()
    page.wait_for_function(
        "(old) => { const i = document.querySelector('.st-key-rds-overlay img'); return i && i.src !== old; }",
        arg=with_heat)
    page.wait_for_function(IMAGE_LOADED)

    page.set_viewport_size({"width": 1180, "height": 820})
    page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    _screenshot(page, artifacts_dir / "demo_result_tablet_1180x820.png")


def test_bad_upload_gets_a_friendly_message(page: Any, demo_app_url: str) -> None:
    page.goto(demo_app_url)
    page.locator(GALLERY_READY).wait_for()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"these are not pixels"}])
    alert = page.locator("[data-testid=stAlert]").filter(has_text="could not be analysed")
    alert.wait_for()
    assert "PNG, JPEG or DICOM" in alert.inner_text()
    assert "Traceback" not in page.locator("[data-testid=stMain]").inner_text()


def test_korean_ui_renders(page: Any, demo_app_url: str, artifacts_dir: Path) -> None:
    page.goto(demo_app_url)
    page.locator(GALLERY_READY).wait_for()
    page.locator("[data-testid=stSidebar]").get_by_text("한국어").click()
    page.get_by_role("heading", name="RDS 데모 체험").wait_for()
    assert "임상 진료에 사용할 수 없습니다" in page.locator("[data-testid=stMain]").inner_text()
    _screenshot(page, artifacts_dir / "demo_gallery_ko_1920x1080.png")


def test_kiosk_returns_to_gallery_when_idle(streamlit_app: Callable[..., str], random_weights_dir: Path,
                                            page: Any) -> None:
    # `page` last: fixtures tear down in reverse, so the tab closes before its server stops.
    url = streamlit_app({"RDS_WEIGHTS_DIR": str(random_weights_dir), "RDS_KIOSK": "1", "RDS_IDLE_SECONDS": "4",
                         "RDS_LANG": "en"})
    _run_sample(page, url)
    assert page.locator(GALLERY_READY).count() == 0, "the result replaces the gallery"
    page.locator("[data-testid=stSidebar]").get_by_text("한국어").click()
    page.get_by_role("heading", name="RDS 데모 체험").wait_for()
    # The idle check runs every second here; 4 s idle, so the gallery is back well within 20 s,
    # in the default language, ready for the next visitor.
    page.locator(GALLERY_READY).wait_for(timeout=20_000)
    page.get_by_role("heading", name="Try the RDS demo").wait_for()
    assert page.locator(RESULT_END).count() == 0
