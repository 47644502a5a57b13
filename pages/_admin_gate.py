"""The admin secret gate shared by the results and admin pages.

The secret comes from the environment variable ``RDS_ADMIN_SECRET`` or, failing that, from
``admin_secret`` in ``.streamlit/secrets.toml`` (git-ignored; never commit it). Without one
the gate stays shut and says how to set it. A secret shorter than `MIN_SECRET_LENGTH`
keeps the gate shut too: the page says only that the configuration is unusable, and the
server log says why (a visitor must not learn that the secret is short).

A page calls::

    if not admin_gate():
        st.stop()

Once the secret is given, the whole browser session counts as admin (results and admin
pages alike) until "Log out" or until the configured secret changes (rotating the secret
logs every session out). The comparison is constant-time (`hmac.compare_digest`).

Wrong tries are limited in the study database (:mod:`study.throttle`), shared by every
session and process: after `MAX_TRIES` wrong secrets in a row from one client address the
form locks for `LOCK_SECONDS`, doubling with each further failure (capped at
`MAX_LOCK_SECONDS`), and a global back-off stops an attacker who rotates addresses.
Every try, right or wrong, is kept in ``login_attempts`` (the admin login audit).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets as token_source
import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from pages._study_db import database
from study import StudyError
from study.throttle import POLICIES, TooManyAttemptsError, begin_attempt, finish_attempt, retry_after

__all__ = [
    "SECRET_ENV",
    "SECRETS_KEY",
    "MAX_TRIES",
    "LOCK_SECONDS",
    "MAX_LOCK_SECONDS",
    "MIN_SECRET_LENGTH",
    "WEAK_SECRET_MESSAGE",
    "client_address",
    "GateState",
    "configured_secret",
    "secrets_match",
    "lock_seconds",
    "admin_gate",
    "logout",
]

SECRET_ENV = "RDS_ADMIN_SECRET"
SECRETS_KEY = "admin_secret"
MAX_TRIES = POLICIES["admin"].max_failures
LOCK_SECONDS = POLICIES["admin"].lock_s
MAX_LOCK_SECONDS = POLICIES["admin"].max_lock_s
MIN_SECRET_LENGTH = 16
#: The gate's clock (tests move it forward to end a pause).
clock: Callable[[], float] = time.time
_LOG = logging.getLogger("rds.admin_gate")
_STATE_KEY = "rds_admin_gate"
_INPUT_KEY = "rds_admin_secret_input"
# Per-process key: the session keeps a keyed fingerprint of the secret, never the secret or
# a plain hash of it; a restart logs everyone out, which is fine.
_FINGERPRINT_KEY = token_source.token_bytes(32)

WEAK_SECRET_MESSAGE = (
    "The study results and admin pages are closed: the configured admin secret cannot be used. "
    "The server log says why."
)
NO_SECRET_MESSAGE = (
    "No admin secret is configured, so the study results and admin pages stay closed. "
    f"Set the environment variable {SECRET_ENV} (or `{SECRETS_KEY}` in .streamlit/secrets.toml, "
    "which must never be committed) to a long random text and restart the app."
)


@dataclass
class GateState:
    """What the gate remembers in one browser session (the try count lives in the database).

    Attributes:
        fingerprint: keyed hash of the secret that was accepted, or None (not admin).
    """

    fingerprint: str | None = None


def configured_secret() -> str | None:
    """The admin secret: ``$RDS_ADMIN_SECRET``, else ``st.secrets["admin_secret"]``, else None.

    Blank values count as not configured.
    """
    value = os.environ.get(SECRET_ENV, "").strip()
    if value:
        return value
    try:
        stored = st.secrets.get(SECRETS_KEY)
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return None  # no secrets.toml at all
    text = str(stored).strip() if stored is not None else ""
    return text or None


def secrets_match(given: str, expected: str) -> bool:
    """Constant-time comparison of a typed secret with the configured one.

    Args:
        given: what was typed (surrounding whitespace ignored).
        expected: the configured secret.
    """
    # Bytes, so that non-ASCII secrets work with compare_digest.
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))


def _fingerprint(secret: str) -> str:
    return hmac.new(_FINGERPRINT_KEY, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def lock_seconds(lockouts: int) -> float:
    """How long the form stays locked after the ``lockouts``-th failure past `MAX_TRIES` (1-based).

    Args:
        lockouts: failures since the pause began, at least 1.
    """
    return min(LOCK_SECONDS * 2 ** max(lockouts - 1, 0), MAX_LOCK_SECONDS)


def client_address() -> str:
    """The client's address as the server sees it (``unknown`` when Streamlit cannot tell)."""
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        return "unknown"
    return address if isinstance(address, str) and address else "unknown"


def _failures_in_a_row(db, client: str) -> int:
    row = db.conn.execute(
        "SELECT COUNT(*) FROM login_attempts WHERE scope = 'admin' AND client = ? AND ok = 0 AND at_s > "
        "(SELECT COALESCE(MAX(at_s), 0) FROM login_attempts WHERE scope = 'admin' AND client = ? AND ok = 1)",
        (client, client)).fetchone()
    return int(row[0])


def _state() -> GateState:
    if _STATE_KEY not in st.session_state:
        st.session_state[_STATE_KEY] = GateState()
    return st.session_state[_STATE_KEY]


def logout() -> None:
    """End the admin session (the gate asks for the secret again)."""
    _state().fingerprint = None


def admin_gate() -> bool:
    """Render the gate; True when this session may see admin content.

    Shows nothing but the form (or the reason it is closed) until the right secret is given.
    When open, adds a "Log out" button to the sidebar.
    """
    secret = configured_secret()
    if secret is None:
        st.error(NO_SECRET_MESSAGE, icon=":material/lock:")
        return False
    if len(secret) < MIN_SECRET_LENGTH:
        _LOG.error("The admin secret is shorter than %d characters: the admin and results pages stay "
                   "closed until %s is set to a long random text.", MIN_SECRET_LENGTH, SECRET_ENV)
        st.error(WEAK_SECRET_MESSAGE, icon=":material/lock:")
        return False
    state = _state()
    if state.fingerprint is not None and hmac.compare_digest(state.fingerprint, _fingerprint(secret)):
        st.sidebar.button("Log out (admin)", on_click=logout, key="rds_admin_logout")
        return True
    state.fingerprint = None  # the secret changed since this session logged in
    try:
        db = database()
    except StudyError as err:  # fail closed: without the attempt log there is no lockout
        st.error(f"The admin pages are closed: the study database cannot be opened ({err}).")
        return False

    client = client_address()
    wait = retry_after(db, "admin", client, now=clock())
    st.info("This page is for the study team. Enter the admin secret to continue.", icon=":material/lock:")
    with st.form("rds_admin_gate_form", clear_on_submit=True):
        typed = st.text_input("Admin secret", type="password", key=_INPUT_KEY)
        sent = st.form_submit_button("Open", disabled=wait > 0)
    if wait > 0 and not sent:
        st.error(str(TooManyAttemptsError(wait)))
        return False
    if not sent:
        return False
    try:  # checked on the server, not just by the disabled button
        attempt = begin_attempt(db, "admin", client, now=clock())
    except TooManyAttemptsError as err:
        st.error(str(err))
        return False
    ok = secrets_match(typed, secret)
    finish_attempt(db, attempt, ok=ok)
    if ok:
        state.fingerprint = _fingerprint(secret)
        st.rerun()  # draw the page without the form
    _LOG.warning("Wrong admin secret from %s", client)
    failures = _failures_in_a_row(db, client)
    if failures >= MAX_TRIES:
        st.error(f"Wrong secret. The form is locked for {int(lock_seconds(failures - MAX_TRIES + 1))} seconds.")
    else:
        st.error(f"Wrong secret. {MAX_TRIES - failures} tries left before a pause.")
    return False
