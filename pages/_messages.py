"""What every page says: ``tr`` (one lookup over both string tables), error boxes, ``guarded``.

The demo's strings live in :mod:`pages._i18n`, the reader study's in
:mod:`pages._i18n_study` (no key is in both; a test checks it). Pages call :func:`tr` in
the session's language, show a failure with :func:`show_error` (typed core errors, their
sentence translated by kind) or :func:`show_study_error` (a study headline + the study's own
sentence), and wrap a page part in :func:`guarded` so an unexpected error never shows a
traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from pages import _i18n, _i18n_study
from pages._i18n import LANGUAGES, error_text
from pages._plain import escape_markdown
from pages._settings import default_language, kiosk_mode
from pages._state import session
from rds_core.errors import RdsError, UploadTooLargeError

__all__ = ["lang", "tr", "show_error", "show_study_error", "guarded"]

log = logging.getLogger("rds.app")
T = TypeVar("T")


def lang() -> str:
    """The session's language (``ko`` or ``en``)."""
    value = session.language
    return value if value in LANGUAGES else default_language()


def tr(key: str, **values: object) -> str:
    """The string ``key`` (demo or study table) in the session's language, placeholders filled.

    Raises:
        KeyError: a key in neither table (a typo fails its page's test).
    """
    table = _i18n_study if key in _i18n_study.STRINGS else _i18n
    return table.t(key, lang(), **values)


def show_error(error: BaseException) -> None:
    """A friendly message for ``error``: the core's sentence for typed errors, a generic one otherwise."""
    if isinstance(error, UploadTooLargeError):
        st.error(tr("error.too_large", mb=error.limit_mb), icon=":material/error:")
    elif isinstance(error, RdsError):
        message, details = error_text(error, lang())
        # The sentences quote file names and DICOM values: plain text, never Markdown.
        st.error(f"**{tr('error.title')}** {escape_markdown(message)}" if message != tr("error.title") else message,
                 icon=":material/error:")
        if details:
            st.caption(f"{tr('error.details')}: {escape_markdown(details)}")
    else:
        st.error(tr("error.unexpected"), icon=":material/error:")


def show_study_error(headline_key: str, error: BaseException | None = None) -> None:
    """An error box on a study page: the headline in the session's language, the study's sentence below.

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


def guarded(function: Callable[..., T], *args: Any) -> T | None:
    """Run a page part; show typed errors as their sentence and anything else as a generic message.

    Streamlit's own control flow (``st.rerun``, ``st.stop``, ``st.switch_page``) derives from
    ``BaseException`` and passes through.
    """
    try:
        return function(*args)
    except RdsError as exc:
        show_error(exc)
    except Exception as exc:
        if kiosk_mode():
            # Kiosk: no message text either, it could name an uploaded file.
            log.error("unexpected %s while rendering a page", type(exc).__name__)
        else:
            log.exception("unexpected error while rendering a page")
        show_error(exc)
    return None
