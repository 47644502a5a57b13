"""Peak memory of the app process itself: ``streamlit run app.py``, every shipped classification pack used once.

Starts the real app headless on a loopback port, drives it in headless Chromium: clicks a
sample with the default pack, then chooses each other classification pack in the sidebar
and clicks a sample again (so the app's model cache holds every pack, each with the lung
pack, and has run one analysis with each). Then reads the server process's peak resident
set size (``VmHWM`` in ``/proc/<pid>/status``) and its current one (``VmRSS``).

``--in-process`` also reports the older, lighter estimate (Streamlit imported, the packs
loaded and one analysis in this process, no server, no pages).

Usage: ``HF_HUB_OFFLINE=1 .venv/bin/python bench/app_memory.py [--in-process]``; prints MB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MB = 1200  # issue 13


def peak_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise KeyError(field)


def _server_pid(port: int) -> int:
    """The ``streamlit run`` process listening on ``port`` (found by its command line)."""
    wanted = f"--server.port\0{port}\0"
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if wanted in (proc / "cmdline").read_text():
                    return int(proc.name)
            except OSError:
                continue
    raise RuntimeError(f"no streamlit process on port {port}")


def in_process(film: Path) -> None:
    """The in-process estimate: imports, every pack loaded with the lung pack, one analysis."""
    import streamlit  # noqa: F401  (the app process has it loaded)

    from rds_core.imaging import load_radiograph
    from rds_core.models.packs import list_packs
    from rds_core.pipeline import analyze, load_models

    print(f"in process - after imports: {peak_mb():.0f} MB")
    packs = [name for name, _ in list_packs("classification")]
    models = [load_models(name, "lung-seg", "cpu") for name in packs]
    print(f"in process - after loading {len(packs)} classification packs + lung-seg: {peak_mb():.0f} MB")
    analyze(load_radiograph(film), models[0])
    print(f"in process - peak after one analysis: {peak_mb():.0f} MB")


def real_app() -> dict[str, float]:
    """Drive the real app; return the server's peak and current RSS in MB after every pack was used."""
    from playwright.sync_api import sync_playwright

    from pages._films import list_samples
    from rds_core.models.packs import list_packs
    from tests.e2e.streamlit_server import launch_chromium, run_streamlit

    packs = list_packs("classification")
    sample = list_samples(ROOT / "samples")[0]
    with run_streamlit({"RDS_LANG": "en"}) as url, sync_playwright() as playwright:
        pid = _server_pid(int(url.rsplit(":", 1)[1]))
        idle = _status_mb(pid, "VmRSS")
        browser = launch_chromium(playwright)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        for index, (name, manifest) in enumerate(packs):
            if index:
                page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
                page.get_by_role("option", name=f"{name} · v{manifest.version}").click()
                page.wait_for_timeout(1500)
            page.locator(".st-key-rds-gallery img").first.wait_for()
            page.locator(f".st-key-{sample.widget_key} button").click()
            page.locator(".st-key-rds-result-end .rds-done").wait_for(state="attached")
            print(f"real app - {name}: analysed {sample.file}; server peak so far {_status_mb(pid, 'VmHWM'):.0f} MB",
                  flush=True)
            page.locator(".st-key-rds-back button").click()
        time.sleep(1)
        result = {"idle_mb": idle, "peak_mb": _status_mb(pid, "VmHWM"), "now_mb": _status_mb(pid, "VmRSS"),
                  "packs": len(packs)}
        browser.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--film", type=Path, default=ROOT / "samples" / "kermany_normal_01.png")
    parser.add_argument("--in-process", action="store_true", help="also the in-process estimate")
    args = parser.parse_args()
    if args.in_process:
        in_process(args.film)
    result = real_app()
    verdict = "meets" if result["peak_mb"] <= TARGET_MB else "misses"
    print(f"real app - server before the first click: {result['idle_mb']:.0f} MB; after using all "
          f"{result['packs']} classification packs: peak {result['peak_mb']:.0f} MB, now {result['now_mb']:.0f} MB "
          f"({verdict} the {TARGET_MB} MB target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
