"""The chosen film analysed with the chosen pack, once per session and film."""

from __future__ import annotations

import time

import streamlit as st

from pages._films import load_input, selected
from pages._messages import tr
from pages._packs import current_pack_dir, models_for
from pages._state import CachedResult, session
from rds_core.pipeline import Analysis, analyze

__all__ = ["current_analysis"]


def current_analysis() -> tuple[Analysis, float] | None:
    """Analyse the chosen film with the chosen pack, once; later calls reuse the session's copy.

    A fresh result sets ``session.scroll_to_top`` so the result view scrolls to its top once:
    the visitor clicked a thumbnail far down the gallery, and Streamlit keeps that scroll position.

    Returns:
        ``(analysis, load_ms)`` or None when no film is chosen.
    """
    choice = selected()
    if choice is None:
        return None
    pack_dir = current_pack_dir()
    key = (choice.key, str(pack_dir))
    cached = session.result
    if cached is not None and cached.key == key:
        return cached.analysis, cached.load_ms
    models = models_for(pack_dir)
    with st.spinner(tr("analysing")):
        started = time.perf_counter()
        film = load_input(choice)
        load_ms = (time.perf_counter() - started) * 1000.0
        analysis = analyze(film, models)
    session.result = CachedResult(key, analysis, load_ms)
    session.scroll_to_top = True
    return analysis, load_ms
