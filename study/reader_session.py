"""Signed, expiring reader-session tokens: a reader whose browser session is lost (a dropped
connection, a server restart, a recreated Streamlit session) lands back on the same read
without typing the access code again, for a short while.

Choice and why it is safe:

* The token rides in the page URL (``?rs=...``), because a new Streamlit session can read
  the URL at once, while a cookie could only be set from page JavaScript (so it could not be
  HttpOnly either) and arrives only on the next page load.
* It is ``base64url(payload) "." base64url(HMAC-SHA256(key, payload))`` with payload
  ``v1.<reader id>.<expiry unix time>.<random nonce>``: no code, no truth, nothing secret.
  Forging or extending one needs the server key (32 random bytes from ``secrets``, in
  ``$RDS_SESSION_SECRET`` or a 0600 file next to the database, so tokens survive a restart).
* The MAC also covers the reader's stored code hash: when the team issues a new code, every
  token of that reader stops working.
* It expires after :data:`TOKEN_TTL_S` (20 minutes) and the page renews it while the reader
  is active (sliding expiry), so a URL left in a browser history, a screenshot or a proxy log
  is worthless within minutes. Signing out removes it from the URL. Verification is
  constant-time (:func:`hmac.compare_digest`).
* What it grants is exactly what the access code grants (the reader's own next read), no more.

Example:
    >>> token = issue_token(db, reader_id)            # doctest: +SKIP
    >>> verify_token(db, token).reader_id == reader_id  # doctest: +SKIP
    True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from sqlite_utils import Database

from study import StudyError
from study.db import db_file
from study.security import ReaderIdentity, UnknownReaderError, get_reader

__all__ = [
    "TOKEN_TTL_S",
    "SECRET_ENV",
    "InvalidSessionTokenError",
    "session_key",
    "issue_token",
    "verify_token",
    "needs_renewal",
]

TOKEN_TTL_S = 20 * 60
SECRET_ENV = "RDS_SESSION_SECRET"
_KEY_FILE = "reader_session.key"
_VERSION = "v1"
_MAX_TOKEN = 256


class InvalidSessionTokenError(StudyError):
    """The session token is malformed, forged, expired or belongs to a reader who no longer exists."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def session_key(db: Database) -> bytes:
    """The server's signing key: ``$RDS_SESSION_SECRET`` if set, else a random key kept in a
    0600 file beside the database (created on first use, race-free across processes).

    Args:
        db: the study database (its folder holds the key file).
    """
    env = os.environ.get(SECRET_ENV, "").strip()
    if env:
        return hashlib.sha256(env.encode()).digest()
    path = Path(db_file(db)).resolve().parent / _KEY_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # another process may be writing it this very moment
            key = path.read_bytes()
            if len(key) >= 32:
                return key[:32]
            time.sleep(0.01)
        raise InvalidSessionTokenError(f"The session key file {path} is damaged; delete it to make a new one.")
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    return path.read_bytes()[:32]


def _code_hash(db: Database, reader_id: int) -> bytes:
    row = db.conn.execute("SELECT code_hash FROM readers WHERE id = ?", (reader_id,)).fetchone()
    if row is None:
        raise InvalidSessionTokenError("This reading session belongs to a reader who no longer exists.")
    return str(row[0]).encode()


def _mac(key: bytes, payload: bytes, code_hash: bytes) -> bytes:
    return hmac.new(key, payload + b"|" + code_hash, hashlib.sha256).digest()


def issue_token(db: Database, reader_id: int, *, now: float | None = None) -> str:
    """A fresh token for a signed-in reader, valid for :data:`TOKEN_TTL_S` seconds.

    Args:
        db: the study database.
        reader_id: the authenticated reader.
        now: the current Unix time (tests inject it).
    """
    expires = int((time.time() if now is None else now) + TOKEN_TTL_S)
    payload = f"{_VERSION}.{int(reader_id)}.{expires}.{secrets.token_hex(8)}".encode()
    return f"{_b64(payload)}.{_b64(_mac(session_key(db), payload, _code_hash(db, reader_id)))}"


def _parse(token: str) -> tuple[bytes, bytes, int, int]:
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or token.count(".") != 1:
        raise InvalidSessionTokenError("This reading-session link is not valid; please enter your access code.")
    head, tail = token.split(".")
    try:
        payload, mac = _unb64(head), _unb64(tail)
        version, reader, expires, _nonce = payload.decode("ascii").split(".")
        reader_id, expiry = int(reader), int(expires)
    except (binascii.Error, UnicodeDecodeError, ValueError) as err:
        raise InvalidSessionTokenError("This reading-session link is not valid; please enter your access code.") from err
    if version != _VERSION:
        raise InvalidSessionTokenError("This reading-session link is from another version; please enter your access code.")
    return payload, mac, reader_id, expiry


def verify_token(db: Database, token: str, *, now: float | None = None) -> ReaderIdentity:
    """The reader a token was issued to, if it is genuine and not expired.

    Args:
        db: the study database.
        token: the value from the URL.
        now: the current Unix time (tests inject it).

    Raises:
        InvalidSessionTokenError: malformed, forged, expired, or the reader's code changed.
    """
    payload, mac, reader_id, expiry = _parse(token)
    expected = _mac(session_key(db), payload, _code_hash(db, reader_id))
    if not hmac.compare_digest(mac, expected):
        raise InvalidSessionTokenError("This reading-session link is not valid; please enter your access code.")
    if (time.time() if now is None else now) >= expiry:
        raise InvalidSessionTokenError("Your reading session has expired; please enter your access code again.")
    try:
        return get_reader(db, reader_id)
    except UnknownReaderError as err:
        raise InvalidSessionTokenError("This reading session belongs to a reader who no longer exists.") from err


def needs_renewal(token: str, *, now: float | None = None) -> bool:
    """True when less than half of the token's lifetime is left (the page then issues a new one).

    Args:
        token: a token that :func:`verify_token` accepted.
        now: the current Unix time (tests inject it).
    """
    try:
        _payload, _mac_bytes, _reader, expiry = _parse(token)
    except InvalidSessionTokenError:
        return True
    return expiry - (time.time() if now is None else now) < TOKEN_TTL_S / 2
