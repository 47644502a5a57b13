"""Shared pieces of the reader-study pages: the session's database connection, strings, errors.

Each browser session gets its own SQLite connection (kept in ``st.session_state``), as
:func:`study.db.connect` asks: Streamlit runs one session's reruns one at a time, while a
connection cached for the whole process would be used by many sessions at once.
"""

from __future__ import annotations

import streamlit as st
from sqlite_utils import Database

from pages._i18n_study import t
from pages._plain import escape_markdown
from pages._ui import lang
from study.config import db_path
from study.db import connect

__all__ = ["DB_KEY", "tr", "database", "show_error"]

DB_KEY = "rs_db"


def tr(key: str, **values: object) -> str:
    """:func:`pages._i18n_study.t` in the session's language."""
    return t(key, lang(), **values)


def database() -> Database:
    """This session's connection to the study database (``$RDS_STUDY_DB`` or ``data/study.sqlite``).

    Reopened when the configured path changes (tests point it at a temporary file).

    Raises:
        StudyError: the database cannot be migrated (e.g. it is newer than this software).
    """
    path = str(db_path())
    held = st.session_state.get(DB_KEY)
    if held is None or held[0] != path:
        held = (path, connect(path))
        st.session_state[DB_KEY] = held
    return held[1]


def show_error(headline_key: str, error: BaseException | None = None) -> None:
    """An error box: the headline in the session's language, the study's own sentence below.

    Args:
        headline_key: key of the headline in :data:`pages._i18n_study.STRINGS`.
        error: the error whose (English) sentence is shown as details, if any.
    """
    headline = tr(headline_key)
    if error is None:
        st.error(headline, icon=":material/error:")
    elif lang() == "en":  # the sentence may quote file names or DICOM values: plain text only
        st.error(f"**{headline}** {escape_markdown(error)}", icon=":material/error:")
    else:
        st.error(headline, icon=":material/error:")
        st.caption(f"{tr('details')}: {escape_markdown(error)}")
