"""The demo's settings, read from the environment (one place for every ``RDS_*`` variable the pages use).

Kiosk mode (``RDS_KIOSK=1`` or ``streamlit run app.py -- --kiosk``): uploads are read from
memory and never written or logged, errors show no traceback, and the app returns to the
gallery after ``RDS_IDLE_SECONDS`` without interaction.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pages._i18n import LANGUAGES

__all__ = ["REPO", "HOME_PAGE", "kiosk_mode", "idle_seconds", "max_upload_mb", "samples_dir", "default_language"]

log = logging.getLogger("rds.app")
REPO = Path(__file__).resolve().parents[1]
HOME_PAGE = "pages/demo.py"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def kiosk_mode() -> bool:
    """True with ``RDS_KIOSK=1`` or ``streamlit run app.py -- --kiosk``."""
    return _truthy(os.environ.get("RDS_KIOSK")) or "--kiosk" in sys.argv[1:]


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default


def idle_seconds() -> float:
    """Seconds without interaction before a kiosk returns to the gallery (``RDS_IDLE_SECONDS``, 0 = never)."""
    return max(0.0, _env_number("RDS_IDLE_SECONDS", 120.0))


def max_upload_mb() -> int:
    """Largest accepted upload in MB (``RDS_MAX_UPLOAD_MB``, default 50)."""
    return max(1, int(_env_number("RDS_MAX_UPLOAD_MB", 50)))


def samples_dir() -> Path:
    """``RDS_SAMPLES_DIR`` if set, else the repository's ``samples/``."""
    return Path(os.environ.get("RDS_SAMPLES_DIR") or REPO / "samples")


def default_language() -> str:
    """``RDS_LANG`` (``ko`` or ``en``); Korean by default, the exhibition's language."""
    value = os.environ.get("RDS_LANG", "ko")
    return value if value in LANGUAGES else "ko"
