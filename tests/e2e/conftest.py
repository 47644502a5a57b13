"""Real-browser fixtures: a running app (``streamlit run``) and a headless Debian chromium.

Reusable by every browser test:

* ``streamlit_app(env) -> url`` starts the app with extra environment variables and stops
  it when the test ends (a factory, so a test can start several configurations);
* ``demo_app_url`` is one app on the random packs for the whole module;
* ``browser`` is one chromium for the session; ``page`` a fresh 1920x1080 tab per test.

Every test here is marked ``e2e`` and is skipped, with the reason, when ``/usr/bin/chromium``
is absent (``.ci/run`` installs it with ``apt-get install chromium fonts-noto-cjk``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.streamlit_server import CHROMIUM, REPO, launch_chromium, run_streamlit

ARTIFACTS = REPO / "tests" / "e2e" / "artifacts"
NO_CHROMIUM = f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium fonts-noto-cjk) to run browser tests"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under this folder ``e2e``; skip them when chromium is missing."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``tests/e2e/artifacts`` (git-ignored): screenshots and server logs."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def streamlit_app(artifacts_dir: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Factory: ``streamlit_app({"RDS_WEIGHTS_DIR": ...})`` starts the app and returns its URL.

    Every app started this way is stopped when the test ends; its log is
    ``artifacts/<test name>-<n>.log``.
    """
    with ExitStack() as stack:
        started = 0

        def start(env: dict[str, str] | None = None, **options: Any) -> str:
            nonlocal started
            started += 1
            log = artifacts_dir / f"{request.node.name}-{started}.log"
            return stack.enter_context(run_streamlit(env, log_path=log, **options))

        yield start


@pytest.fixture(scope="module")
def demo_app_url(random_weights_dir: Path, artifacts_dir: Path) -> Iterator[str]:
    """One app on the random packs (``RDS_WEIGHTS_DIR``), English UI, shared by a module's tests."""
    env = {"RDS_WEIGHTS_DIR": str(random_weights_dir), "RDS_LANG": "en"}
    with run_streamlit(env, log_path=artifacts_dir / "demo_app.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian chromium driven by Playwright (its own browser download is never used)."""
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab at 1920x1080 (its own context, so no state is shared between tests)."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()
