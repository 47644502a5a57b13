"""Browser load test of the reader page (a script, not a test): N readers at once in real
headless Chromium tabs, each through R reads, against one ``streamlit run`` of the app.

Each reader signs in with their own code, fills in the profile, then for every read waits
for the film in the viewer, presses Y or N, C (keep the confidence) and Enter, and waits for
the next read (Y and C are pressed at once; Enter once the submit button is enabled). Reported: completed reads (answers in the database), lost sessions (a reader
who is shown the sign-in form again after signing in), stalls (a read that did not move on
within the timeout) and submit-to-next-film latency (Enter pressed -> next read's film decoded).

Run (about a minute for 10 x 4 on two cores, browsers included):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/readers_load.py --readers 10 --reads 4
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from study.admin import create_readers, create_study  # noqa: E402
from study.cases import import_case_set  # noqa: E402
from study.db import connect  # noqa: E402
from tests.e2e.streamlit_server import launch_chromium, run_streamlit  # noqa: E402
from tests.study_helpers import fake_hint, write_films  # noqa: E402

SIGN_IN = 'input[type="password"]'
SUBMIT_READY = """() => { const b = document.querySelector('[class*="st-key-rs-submit-"] button');
                           return b !== null && !b.disabled; }"""
VIEWER_FOR = r"""(done) => {
  const progress = [...document.querySelectorAll('[data-testid="stProgress"]')].map(p => p.innerText).join(' ');
  if (!progress.includes(`${done} of `)) return false;
  const submit = document.querySelector('[class*="st-key-rs-submit-"]');
  const read = submit && submit.className.match(/st-key-rs-submit-(\S+)/);
  const frames = [...document.querySelectorAll('iframe[src*="rds_viewer"]')];
  if (!read || frames.length !== 1) return false;
  try { const b = frames[0].contentDocument.body; return b.dataset.filmLoaded === 'true' && b.dataset.read === read[1]; }
  catch (err) { return false; }
}"""
DONE = "All done"


def _study(folder: Path, readers: int, reads: int) -> tuple[Path, list[str]]:
    """A sequential two-arm study with reads / 2 cases per reader (each case: no AI, then heatmap)."""
    db_file = folder / "study.sqlite"
    db = connect(db_file)
    cases = max(1, reads // 2)
    csv = write_films(folder / "films", cases, truths=[i % 2 for i in range(cases)])
    report = import_case_set(db, csv.parent, csv, name="load", storage_dir=folder / "cases", hint_fn=fake_hint)
    study = create_study(db, name="load", case_set_id=report.case_set_id, design="sequential",
                         arms=("none", "score_heatmap"), seed="load")
    return db_file, [reader.code for reader in create_readers(db, study.study_id, readers)]


def _reader(browser, url: str, code: str, reads: int, timeout_s: float, result: dict, start: threading.Event) -> None:
    """One reader's whole session in its own browser context (own cookies, own tab)."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    try:
        start.wait()
        page.goto(f"{url}/reader")
        page.locator(SIGN_IN).fill(code)
        page.get_by_role("button", name="Start reading").click()
        page.get_by_text("Neonatologist").click()
        page.get_by_label("Years of experience", exact=True).fill("5")
        page.get_by_role("button", name="Save and continue").click()
        for done in range(reads):
            page.wait_for_function(VIEWER_FOR, arg=done)
            if page.locator(SIGN_IN).count():
                result["lost"] += 1
                return
            if done:
                result["latency_s"].append(time.monotonic() - submitted)
            page.keyboard.press("y" if done % 2 == 0 else "n")
            page.keyboard.press("c")
            page.wait_for_function(SUBMIT_READY)
            page.keyboard.press("Enter")
            submitted = time.monotonic()
        page.get_by_text(DONE).wait_for()
        result["latency_s"].append(time.monotonic() - submitted)
    except Exception as err:  # noqa: BLE001 - a stalled reader is a result, not a crash
        result["stalled"] = f"{type(err).__name__}: {str(err).splitlines()[0][:160]}"
        if page.locator(SIGN_IN).count():
            result["lost"] += 1
    finally:
        context.close()


def main() -> None:
    """Run the load test and print one JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--reads", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a reader may wait for one step")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db_file, codes = _study(folder, args.readers, args.reads)
        (folder / "weights").mkdir()
        env = {"RDS_STUDY_DB": str(db_file), "RDS_STUDY_CASES": str(folder / "cases"), "RDS_LANG": "en",
               "RDS_WEIGHTS_DIR": str(folder / "weights")}
        results = [{"lost": 0, "latency_s": [], "stalled": None} for _ in codes]
        with run_streamlit(env, log_path=folder / "server.log") as url:
            # Playwright's sync API is bound to one thread, so each reader gets its own instance.
            start = threading.Event()
            threads = []

            def run_one(i: int) -> None:
                with sync_playwright() as playwright:
                    browser = launch_chromium(playwright)
                    try:
                        _reader(browser, url, codes[i], args.reads, args.timeout, results[i], start)
                    finally:
                        browser.close()

            for i in range(len(codes)):
                threads.append(threading.Thread(target=run_one, args=(i,)))
                threads[-1].start()
            time.sleep(3)  # let the browsers start before the clock does
            began = time.monotonic()
            start.set()
            for thread in threads:
                thread.join()
            wall = time.monotonic() - began
        answers = connect(db_file).conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    latencies = sorted(x for r in results for x in r["latency_s"])
    q = lambda p: round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 3) if latencies else None  # noqa: E731
    print(json.dumps({
        "readers": args.readers, "reads_each": args.reads, "planned": args.readers * args.reads,
        "completed_reads": answers, "lost_sessions": sum(r["lost"] for r in results),
        "stalled_readers": [r["stalled"] for r in results if r["stalled"]],
        "submit_to_next_s": {"median": round(statistics.median(latencies), 3) if latencies else None,
                             "p90": q(0.9), "max": latencies[-1] if latencies else None, "n": len(latencies)},
        "wall_s": round(wall, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
