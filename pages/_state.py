"""The demo pages' session state: one typed attribute per entry, every key in one place.

Streamlit keeps a session's state in ``st.session_state``, a dict of string keys. Pages
reach it only through :data:`session` (``session.choice``, ``session.result``...), so a key
is spelt once and each entry has one type; widgets that bind to an entry use its key,
``DemoSession.language.key``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, NamedTuple, TypeVar, overload

import streamlit as st

from pages._i18n import LANGUAGES
from pages._settings import default_language
from rds_core.errors import RdsError
from rds_core.pipeline import Analysis

__all__ = ["LANG_PARAM", "CachedResult", "DemoSession", "Slot", "session", "keep_language_in_url"]

T = TypeVar("T")
LANG_PARAM = "lang"  # the language also rides in the URL, so a recreated session keeps it


class CachedResult(NamedTuple):
    """The session's last analysis: for which (film key, pack folder), and how long decoding took."""

    key: tuple[str, str]
    analysis: Analysis
    load_ms: float


class Slot(Generic[T]):
    """One typed ``st.session_state`` entry (a descriptor of :class:`DemoSession`)."""

    def __init__(self, key: str, default: Callable[[], T]) -> None:
        self.key = key
        self.default = default

    @overload
    def __get__(self, owner_instance: None, owner: type) -> "Slot[T]": ...

    @overload
    def __get__(self, owner_instance: object, owner: type) -> T: ...

    def __get__(self, owner_instance: object | None, owner: type) -> "T | Slot[T]":
        if owner_instance is None:
            return self  # class access: the slot itself, for its key
        return st.session_state.get(self.key, self.default())

    def __set__(self, owner_instance: object, value: T) -> None:
        st.session_state[self.key] = value

    def setdefault(self) -> None:
        """Store the default unless the session already holds a value."""
        st.session_state.setdefault(self.key, self.default())


def _none() -> Any:
    return None


def _language_default() -> str:
    """The URL's language (a session recreated after a dropped connection keeps it), else ``RDS_LANG``."""
    wanted = st.query_params.get(LANG_PARAM)
    return wanted if wanted in LANGUAGES else default_language()


def keep_language_in_url(language: str) -> None:
    """Write the session's language into the URL (only when it changed: each write is a message)."""
    if st.query_params.get(LANG_PARAM) != language:
        st.query_params[LANG_PARAM] = language


class DemoSession:
    """The entries the demo and ensemble pages share (see the module docstring)."""

    language: Slot[str] = Slot("lang", _language_default)  # the sidebar radio binds to it
    pack: Slot[str | None] = Slot("pack", _none)  # classification pack name (sidebar selectbox)
    seg_pack: Slot[str | None] = Slot("seg_pack", _none)  # lung pack name (sidebar selectbox)
    choice: Slot[Any] = Slot("rds_input", _none)  # pages._films.InputChoice or None
    result: Slot[CachedResult | None] = Slot("rds_result", _none)
    upload_error: Slot[RdsError | None] = Slot("rds_upload_error", _none)
    upload_generation: Slot[int] = Slot("rds_upload_gen", lambda: 0)  # a new value empties the upload widget
    last_active: Slot[float] = Slot("rds_last_active", time.time)
    on_home: Slot[bool] = Slot("rds_page", lambda: True)  # the last full run showed the demo page
    scroll_to_top: Slot[bool] = Slot("rds_scroll_top", lambda: False)  # a fresh result scrolls into view once
    map_cache: Slot[Any] = Slot("rds_map_cache", _none)  # the ensemble page's rendered maps, per result

    def init(self) -> None:
        """Set the defaults a fresh session needs (language, upload widget generation, activity)."""
        for slot in (DemoSession.language, DemoSession.choice, DemoSession.result, DemoSession.upload_error,
                     DemoSession.upload_generation, DemoSession.last_active):
            slot.setdefault()

    def take_scroll_to_top(self) -> bool:
        """True once after a fresh result (and clears the flag)."""
        return bool(st.session_state.pop(DemoSession.scroll_to_top.key, False))


session = DemoSession()
