"""A reader in a real browser: signs in with the access code, fills in the profile and completes
two cases of a sequential study (four reads: each case unaided, then with the AI heatmap), using
the keyboard shortcuts, the mouse, the client-side viewer (window/level drag, wheel zoom, heatmap
toggle) on a 2500 px film and a double click; every answer lands in the database once, with its
telemetry. A drag is measured: frame time in the browser, and no message to the server until the
mouse is released (no rerun)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from study.admin import create_readers, create_study
from study.cases import import_case_set
from study.db import connect
from tests.e2e.conftest import ARTIFACTS
from tests.study_helpers import fake_hint

VIEWER = 'iframe[src*="rds_viewer"]'
SUBMIT = '[class*="st-key-rs-submit-"] button'
SUBMIT_READY = f"""() => {{ const b = document.querySelector('{SUBMIT}'); return b !== null && !b.disabled; }}"""
CHOICE = {True: '[class*="st-key-rs-dx-"] button >> nth=0', False: '[class*="st-key-rs-dx-"] button >> nth=1'}
KEEP = '[class*="st-key-rs-keep-"] label'
FILM_SIDE = (2500, 2048)  # width, height of the big film: a full-size digital chest film


def _big_film(seed: int) -> np.ndarray:
    """A smooth 8-bit film with noise, 2500 x 2048 (the size a DR detector gives).

    8-bit because study.cases cannot store a 16-bit PNG import with Pillow 13 today
    (``Image.fromarray(..., mode="I;16")`` raises); the viewer's work does not depend on it."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:FILM_SIDE[1], 0:FILM_SIDE[0]].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(x / 300 + seed) * np.cos(y / 250)
    noisy = np.clip(base + rng.normal(0, 0.03, base.shape), 0, 1)
    return (noisy * 255).astype(np.uint8)


@pytest.fixture
def reader_study(tmp_path: Path) -> tuple[dict[str, str], str]:
    """A two-case sequential study (no AI, then AI score + heatmap) on 2500 px films, one reader."""
    db_file = tmp_path / "study.sqlite"
    db = connect(db_file)
    folder = tmp_path / "films"
    folder.mkdir()
    rows = ["file,truth"]
    for i, truth in enumerate((1, 0)):
        Image.fromarray(_big_film(i)).save(folder / f"film{i}.png")
        rows.append(f"film{i}.png,{truth}")
    (folder / "truth.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    case_set = import_case_set(db, folder, folder / "truth.csv", name="two", storage_dir=tmp_path / "cases",
                               hint_fn=fake_hint)
    study = create_study(db, name="two", case_set_id=case_set.case_set_id, design="sequential",
                         arms=("none", "score_heatmap"), seed="browser")
    code = create_readers(db, study.study_id, 1)[0].code
    (tmp_path / "weights").mkdir()
    env = {"RDS_STUDY_DB": str(db_file), "RDS_STUDY_CASES": str(tmp_path / "cases"), "RDS_LANG": "en",
           "RDS_WEIGHTS_DIR": str(tmp_path / "weights")}  # the reader page needs no model
    return env, code


# While the page moves to the next read, the old viewer frame can stand beside (or before) the
# new one: the current one carries the current read's token (the submit button's key suffix).
VIEWER_READY = r"""() => {
  const submit = document.querySelector('[class*="st-key-rs-submit-"]');
  const read = submit && submit.className.match(/st-key-rs-submit-(\S+)/);
  const frames = [...document.querySelectorAll('iframe[src*="rds_viewer"]')];
  if (!read || frames.length !== 1) return false;
  try {
    const body = frames[0].contentDocument.body;
    return body.dataset.filmLoaded === 'true' && body.dataset.read === read[1];
  } catch (err) { return false; }
}"""


def _wait_for_read(page: Any, done: int) -> Any:
    """Wait for read ``done + 1`` with its film decoded in the viewer; returns the viewer frame."""
    try:
        page.get_by_text(f"{done} of 4 reads done").wait_for(timeout=30_000)
        page.wait_for_function(VIEWER_READY, timeout=30_000)
        page.wait_for_function(IDLE, timeout=30_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"reader_stuck_before_read_{done + 1}.png"))
        raise
    return page.frame_locator(VIEWER)


IDLE = """() => { const app = document.querySelector('[data-testid="stApp"]');
  const state = app && app.getAttribute('data-test-script-state');
  return state !== 'running' && state !== 'rerunRequested'; }"""


def _click(page: Any, selector: str) -> None:
    """Click once the page is quiet: a click that lands while a script run is still drawing
    the page can vanish with the element it hit (the page's key handler waits the same way)."""
    page.wait_for_function(IDLE)
    page.locator(selector).click()


def _stats(page: Any) -> dict:
    page.wait_for_function(VIEWER_READY)
    frame = page.locator(VIEWER).element_handle().content_frame()
    frame.wait_for_function("typeof window.rdsViewerStats === 'function'")
    return frame.evaluate("window.rdsViewerStats()")


def test_a_reader_completes_two_cases(page: Any, streamlit_app: Callable[..., str], reader_study,
                                      artifacts_dir: Path) -> None:
    env, code = reader_study
    url = streamlit_app(env)
    sent: list[float] = []  # websocket frames the browser sends (each rerun request is one)
    page.on("websocket", lambda ws: ws.on("framesent", lambda _payload: sent.append(1)))
    page.goto(url)
    page.locator("[data-testid=stSidebarNav]").get_by_text("Reader study").click()
    page.get_by_label("Access code", exact=True).fill(code.lower().replace("-", " "))  # as a reader might type it
    page.get_by_role("button", name="Start reading").click()
    page.get_by_text("Neonatologist").click()
    page.get_by_label("Years of experience", exact=True).fill("6")
    page.get_by_role("button", name="Save and continue").click()

    # Read 1 (unaided), by keyboard only: Y, C (keep the confidence), Enter.
    viewer = _wait_for_read(page, 0)
    main = page.locator("[data-testid=stMain]")
    assert "AI hint" not in main.inner_text() and "Case 1 of 2" in main.inner_text()
    page.locator(SUBMIT).wait_for()
    assert page.locator(SUBMIT).is_disabled(), "nothing to submit before a diagnosis"
    assert viewer.locator("#heat-controls").is_hidden(), "no heatmap control without a heatmap"
    page.keyboard.press("y")
    page.locator(KEEP).wait_for()
    assert page.locator(SUBMIT).is_disabled(), "no submit before the confidence is set"
    page.keyboard.press("c")
    page.keyboard.press("Enter")  # pressed at once: retried until the submit button is ready

    # Read 2 (the same case with the heatmap): the viewer by mouse, then keys from inside it.
    viewer = _wait_for_read(page, 1)
    assert "AI probability of RDS" in page.locator(".st-key-rs-hint").inner_text()
    assert "Your answer without AI" in main.inner_text()
    stats = _stats(page)
    assert stats["film"] == [2048, 1678], "the film travels bounded to 2048 px"
    box = page.locator(VIEWER).bounding_box()
    canvas = viewer.locator("canvas").bounding_box()
    x0, y0 = canvas["x"] + canvas["width"] / 2, canvas["y"] + canvas["height"] / 2
    page.mouse.move(x0, y0)
    page.mouse.down()
    before = len(sent)
    for step in range(1, 61):
        page.mouse.move(x0 - 4 * step, y0 + 2 * step)
        page.wait_for_timeout(16)
    during = len(sent) - before
    page.mouse.up()
    after_drag = _stats(page)
    assert during == 0, f"{during} messages went to the server during the drag (a rerun)"
    assert after_drag["view"]["width"] < 0.9 and after_drag["view"]["level"] < 0.5, after_drag["view"]
    assert after_drag["tele"]["window_level_changes"] == 1
    page.mouse.move(x0 + 100, y0 - 80)
    for _ in range(5):
        page.mouse.wheel(0, -120)
        page.wait_for_timeout(20)
    page.wait_for_timeout(400)
    zoomed = _stats(page)
    assert zoomed["view"]["zoom"] > 2, zoomed["view"]
    viewer.locator("#heat").click()
    viewer.locator("#heat").click()
    frame_times = {"drag_frames": after_drag["frames"], "median_ms": after_drag["median"],
                   "p95_ms": after_drag["p95"], "max_ms": after_drag["max"], "canvas": after_drag["canvas"],
                   "film": after_drag["film"], "iframe": [box["width"], box["height"]]}
    (artifacts_dir / "reader_viewer_frames.json").write_text(json.dumps(frame_times, indent=2))
    assert after_drag["median"] < 50, f"a drag frame takes {after_drag['median']:.1f} ms (median)"
    page.screenshot(path=str(artifacts_dir / "reader_aided_1920x1080.png"))
    page.keyboard.press("n")  # the focus is inside the viewer's frame: the page still gets the key
    page.wait_for_function("""() => { const b = document.querySelectorAll('[class*="st-key-rs-dx-"] button')[1];
                                      return b && b.getAttribute('aria-checked') === 'true'; }""")
    _click(page, KEEP)
    page.wait_for_function(SUBMIT_READY)
    page.locator(SUBMIT).dblclick()

    # Reads 3 and 4: the second case, unaided then aided.
    for done in (2, 3):
        _wait_for_read(page, done)
        _click(page, CHOICE[True])
        _click(page, KEEP)
        try:
            page.wait_for_function(SUBMIT_READY, timeout=15_000)
        except Exception:
            page.screenshot(path=str(artifacts_dir / f"reader_stuck_{done}.png"))
            raise
        page.locator(SUBMIT).click()
    page.get_by_text("All done - thank you!").wait_for()

    db = connect(env["RDS_STUDY_DB"])
    rows = db.conn.execute("SELECT arm, diagnosis, confidence, confidence_set FROM answers ORDER BY id").fetchall()
    assert rows == [("none", 1, 50, 1), ("score_heatmap", 0, 50, 1), ("none", 1, 50, 1), ("score_heatmap", 1, 50, 1)]
    assert db.conn.execute("SELECT COUNT(DISTINCT case_id) FROM answers").fetchone()[0] == 2
    aided = db.conn.execute(
        "SELECT window_level_changes, zoom_changes, heatmap_toggles, heatmap_visible_ms, first_answer_ms, "
        "viewer_state FROM answers WHERE arm = 'score_heatmap' ORDER BY id LIMIT 1").fetchone()
    assert aided[0] == 1 and aided[1] >= 1 and aided[2] == 2, aided
    assert aided[3] > 0 and aided[4] > 0, aided
    assert json.loads(aided[5])["zoom"] > 2
