"""The reader-study pages' database connection (their strings and errors: :mod:`pages._messages`).

Each browser session gets its own SQLite connection (kept in ``st.session_state``), as
:func:`study.db.connect` asks: Streamlit runs one session's reruns one at a time, while a
connection cached for the whole process would be used by many sessions at once.
"""

from __future__ import annotations

import streamlit as st
from sqlite_utils import Database

from study.config import db_path
from study.db import connect

__all__ = ["DB_KEY", "database"]

DB_KEY = "rs_db"


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
