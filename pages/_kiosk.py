"""Kiosk behaviour: no error details in the browser, and back to the gallery when idle."""

from __future__ import annotations

import time

import streamlit as st

from pages._films import clear_selection, selected
from pages._messages import lang
from pages._settings import HOME_PAGE, default_language, idle_seconds, kiosk_mode
from pages._state import session

__all__ = ["configure_kiosk", "idle_expired", "reset_to_gallery", "mark_activity", "idle_watch"]


def configure_kiosk() -> None:
    """In kiosk mode, never show a traceback or exception text in the browser."""
    if kiosk_mode():
        st.set_option("client.showErrorDetails", "none")


def idle_expired(last_active: float, now: float, limit_seconds: float) -> bool:
    """True when ``limit_seconds`` (> 0) have passed since the last interaction."""
    return limit_seconds > 0 and now - last_active >= limit_seconds


def reset_to_gallery() -> None:
    """Forget the chosen film, its result and any upload, and restore the default language."""
    clear_selection()
    session.language = default_language()
    session.last_active = time.time()


def mark_activity(on_home: bool) -> None:
    """Record a full rerun (a visitor's interaction) and whether it showed the home (demo) page.

    Args:
        on_home: the running page is the demo page.
    """
    session.last_active = time.time()
    session.on_home = on_home


def _needs_reset() -> bool:
    return (selected() is not None or session.upload_error is not None
            or not session.on_home or lang() != default_language())


def _idle_check() -> None:
    if _needs_reset() and idle_expired(session.last_active, time.time(), idle_seconds()):
        reset_to_gallery()
        st.switch_page(HOME_PAGE)


def idle_watch() -> None:
    """Return to the gallery after the idle time: a fragment that re-checks every few seconds.

    A fragment rerun does not run the page, so it does not count as activity; every
    interaction does (it reruns the whole app and calls :func:`mark_activity`).
    """
    limit = idle_seconds()
    if limit <= 0:
        return
    st.fragment(_idle_check, run_every=min(10.0, max(1.0, limit / 4)))()
