"""Fixtures shared by test files: tiny random weight packs named like the real ones, and the app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.core_packs import make_packs

if TYPE_CHECKING:  # streamlit is imported only by the tests that use the app
    from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def random_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder holding random packs ``rds-demo`` (5 folds) and ``lung-seg``.

    Point the app at it with ``RDS_WEIGHTS_DIR``; the outputs mean nothing (the manifests say
    so) but every code path of a trained pack runs. Made once per test session (about 5 s).
    """
    root = tmp_path_factory.mktemp("weights")
    make_packs(root)
    return root


@pytest.fixture
def weights_env(random_weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Set ``RDS_WEIGHTS_DIR`` to :func:`random_weights_dir` for one test (in this process)."""
    monkeypatch.setenv("RDS_WEIGHTS_DIR", str(random_weights_dir))
    for name in ("RDS_KIOSK", "RDS_LANG", "RDS_IDLE_SECONDS", "RDS_MAX_UPLOAD_MB", "RDS_SAMPLES_DIR"):
        monkeypatch.delenv(name, raising=False)
    return random_weights_dir


@pytest.fixture
def app_test(weights_env: Path) -> Callable[..., AppTest]:
    """Factory for a headless ``AppTest`` of ``app.py`` on the random packs.

    ``app_test(page="pages/ensemble.py")`` starts on another page. Runs take up to a few
    seconds (the first one loads and warms the models), hence the long default timeout.
    """
    from streamlit.testing.v1 import AppTest

    def make(page: str | None = None) -> AppTest:
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        if page is not None:
            app.switch_page(page)
        return app

    return make
