"""The admin secret gate shared by the results and admin pages.

The secret comes from the environment variable ``RDS_ADMIN_SECRET`` or, failing that, from
``admin_secret`` in ``.streamlit/secrets.toml`` (git-ignored; never commit it). Without one
the gate stays shut and says how to set it.

A page calls::

    if not admin_gate():
        st.stop()

Once the secret is given, the whole browser session counts as admin (results and admin
pages alike) until "Log out" or until the configured secret changes (rotating the secret
logs every session out). The comparison is constant-time (`hmac.compare_digest`).

After `MAX_TRIES` wrong secrets in a row the form locks for `LOCK_SECONDS`, doubling with
each further lockout (capped at `MAX_LOCK_SECONDS`). The count lives in the session: it
slows a person guessing in one browser tab; a determined attacker opens new sessions, so
the secret itself must be long and random (the gate warns when it is short).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as token_source
import time
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

__all__ = [
    "SECRET_ENV",
    "SECRETS_KEY",
    "MAX_TRIES",
    "LOCK_SECONDS",
    "MAX_LOCK_SECONDS",
    "MIN_SECRET_LENGTH",
    "GateState",
    "configured_secret",
    "secrets_match",
    "lock_seconds",
    "register_failure",
    "admin_gate",
    "logout",
]

SECRET_ENV = "RDS_ADMIN_SECRET"
SECRETS_KEY = "admin_secret"
MAX_TRIES = 5
LOCK_SECONDS = 60.0
MAX_LOCK_SECONDS = 3600.0
MIN_SECRET_LENGTH = 12
_STATE_KEY = "rds_admin_gate"
_INPUT_KEY = "rds_admin_secret_input"
# Per-process key: the session keeps a keyed fingerprint of the secret, never the secret or
# a plain hash of it; a restart logs everyone out, which is fine.
_FINGERPRINT_KEY = token_source.token_bytes(32)

NO_SECRET_MESSAGE = (
    "No admin secret is configured, so the study results and admin pages stay closed. "
    f"Set the environment variable {SECRET_ENV} (or `{SECRETS_KEY}` in .streamlit/secrets.toml, "
    "which must never be committed) to a long random text and restart the app."
)


@dataclass
class GateState:
    """What the gate remembers in one browser session.

    Attributes:
        fingerprint: keyed hash of the secret that was accepted, or None (not admin).
        failures: wrong tries since the last success or lockout.
        lockouts: lockouts so far (each one doubles the next pause).
        locked_until: ``time.time()`` until which the form refuses tries.
    """

    fingerprint: str | None = None
    failures: int = 0
    lockouts: int = 0
    locked_until: float = 0.0


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
    """How long the form stays locked after the ``lockouts``-th lockout (1-based).

    Args:
        lockouts: number of lockouts so far, at least 1.
    """
    return min(LOCK_SECONDS * 2 ** max(lockouts - 1, 0), MAX_LOCK_SECONDS)


def register_failure(state: GateState, now: float) -> None:
    """Count a wrong try; after `MAX_TRIES` in a row, lock the form.

    Args:
        state: the session's gate state (changed in place).
        now: current ``time.time()``.
    """
    state.failures += 1
    if state.failures >= MAX_TRIES:
        state.lockouts += 1
        state.locked_until = now + lock_seconds(state.lockouts)
        state.failures = 0


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
    state = _state()
    if state.fingerprint is not None and hmac.compare_digest(state.fingerprint, _fingerprint(secret)):
        st.sidebar.button("Log out (admin)", on_click=logout, key="rds_admin_logout")
        return True
    state.fingerprint = None  # the secret changed since this session logged in

    now = time.time()
    locked = now < state.locked_until
    st.info("This page is for the study team. Enter the admin secret to continue.", icon=":material/lock:")
    if len(secret) < MIN_SECRET_LENGTH:
        st.warning(f"The configured admin secret is shorter than {MIN_SECRET_LENGTH} characters; "
                   "replace it with a long random one.")
    with st.form("rds_admin_gate_form", clear_on_submit=True):
        typed = st.text_input("Admin secret", type="password", key=_INPUT_KEY)
        sent = st.form_submit_button("Open", disabled=locked)
    if locked:
        # Checked on the server, not just by the disabled button.
        st.error(f"Too many wrong tries. Try again in {int(state.locked_until - now) + 1} seconds.")
        return False
    if not sent:
        return False
    if secrets_match(typed, secret):
        state.fingerprint = _fingerprint(secret)
        state.failures = state.lockouts = 0
        st.rerun()  # draw the page without the form
    register_failure(state, now)
    if state.failures == 0:
        st.error(f"Wrong secret. The form is locked for {int(lock_seconds(state.lockouts))} seconds.")
    else:
        st.error(f"Wrong secret. {MAX_TRIES - state.failures} tries left before a pause.")
    return False
