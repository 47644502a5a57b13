"""Screenshot of the demo page on a bundled film (default: the one-lung simulated sample).

Shows what a visitor sees: the film, the lung outline, the fused heatmap and the score card,
with the shipped packs, in headless Chromium at 1920x1080. Not a test; used for the model
card and issue notes.

Usage: ``python bench/demo_screenshot.py [--sample simulated_rds_one_lung_01.png] [--out docs/img/demo_one_lung.png]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.streamlit_server import launch_chromium, run_streamlit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", default="simulated_rds_one_lung_01.png")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "demo_one_lung.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from pages._films import list_samples

    sample = next(s for s in list_samples(ROOT / "samples") if s.path.name == args.sample)
    with run_streamlit({"RDS_WEIGHTS_DIR": str(ROOT / "weights"), "RDS_LANG": "en"}) as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        page.locator(f".st-key-{sample.widget_key} button").click()
        page.locator(".st-key-rds-result-end").wait_for(state="attached")
        page.wait_for_function("""() => { const i = document.querySelector('.st-key-rds-overlay img');
                                  return i !== null && i.complete && i.naturalWidth > 0; }""")
        page.wait_for_timeout(800)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
