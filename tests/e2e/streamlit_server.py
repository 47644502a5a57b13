"""Start the app with ``streamlit run`` on a free loopback port, and a headless Debian chromium.

Shared by the browser tests (through ``tests/e2e/conftest.py``) and ``bench/ui_latency.py``;
not a test module.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["REPO", "CHROMIUM", "CHROMIUM_ARGS", "free_port", "run_streamlit", "launch_chromium", "StreamlitStartError"]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)


class StreamlitStartError(RuntimeError):
    """The app did not answer its health check in time (the message ends with its log)."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
            return reply.status == 200 and reply.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def run_streamlit(
    env: Mapping[str, str] | None = None,
    *,
    script: str = "app.py",
    log_path: Path | None = None,
    timeout: float = 90.0,
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Run ``streamlit run <script>`` headless on a free loopback port; yield its URL.

    Args:
        env: variables added to this process's environment (e.g. ``RDS_WEIGHTS_DIR``);
            ``HF_HUB_OFFLINE=1`` is always set.
        script: the app script, relative to the repository.
        log_path: where the server's output goes (a temporary file next to the repo's
            ``tests/e2e/artifacts`` when None).
        timeout: seconds to wait for ``/_stcore/health``.
        extra_args: more ``streamlit run`` options.

    Raises:
        StreamlitStartError: no healthy answer within ``timeout`` or the server exited.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **(env or {}), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    if log_path is None:
        log_path = REPO / "tests" / "e2e" / "artifacts" / f"streamlit-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false", *extra_args,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                state = f"exited with {process.returncode}" if process.poll() is not None else f"no answer in {timeout:.0f} s"
                raise StreamlitStartError(f"streamlit {state}; log {log_path}:\n{tail}")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:  # a test server holds nothing worth a slow shutdown
            process.kill()
            process.wait(timeout=10)


def launch_chromium(playwright: Any, **options: Any) -> Any:
    """Launch Debian's chromium (never Playwright's own download) headless.

    Args:
        playwright: the object from ``playwright.sync_api.sync_playwright().start()``.
        options: more ``chromium.launch`` options.
    """
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS),
                                      **options)
