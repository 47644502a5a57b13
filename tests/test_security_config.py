"""Server-side settings promised in docs/SECURITY.md: loopback by default, metrics closed, the
router as the only way in (``app.py`` is discovered as an ``st.App``), no remote-control API."""

from __future__ import annotations

import subprocess
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.streamlit_server import run_streamlit

REPO = Path(__file__).resolve().parents[1]


def _make_demo_command(*overrides: str) -> str:
    result = subprocess.run(["make", "-n", "demo", *overrides], cwd=REPO, capture_output=True, text=True,
                            check=True, timeout=60)
    return next(line for line in result.stdout.splitlines() if "streamlit run" in line)


def test_make_demo_binds_loopback_unless_host_is_given() -> None:
    assert "--server.address 127.0.0.1" in _make_demo_command()
    assert "--server.address 0.0.0.0" in _make_demo_command("HOST=0.0.0.0")


def test_streamlit_run_app_py_starts_the_guarded_asgi_app() -> None:
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(REPO / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


def test_the_config_keeps_remote_control_and_static_serving_off() -> None:
    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableAgentApi"] is False and server["enableStaticServing"] is False


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.timeout(180)
def test_a_running_server_closes_the_metrics_endpoint(tmp_path: Path) -> None:
    with run_streamlit({"RDS_LANG": "en"}, log_path=tmp_path / "server.log") as url:
        assert _status(f"{url}/_stcore/health") == 200
        for path in ("/_stcore/metrics", "/_stcore/metrics/", "/_stcore/metrics?families=session_state"):
            assert _status(f"{url}{path}") == 404, path
