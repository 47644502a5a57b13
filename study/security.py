"""Reader access codes and reader profiles.

A code looks like ``K7QF-9MXR-2HDT-WZ4A``: the first group is a public handle that finds
the reader's row, the other three are a 60-bit secret drawn with ``secrets``. Only a
salted scrypt hash of the secret is stored (RFC 7914 parameters n=2**14, r=8, p=1), so
the code is shown once, at creation, and cannot be recovered from the database.
Verification is constant-time, and an unknown handle costs the same hashing work as a
wrong secret so that timing does not reveal which handles exist.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from study import StudyError
from study.db import named_row, to_iso, utc_now, write_transaction
from study.throttle import TooManyAttemptsError, begin_attempt, finish_attempt

__all__ = [
    "ROLES",
    "AccessCode",
    "ReaderIdentity",
    "InvalidAccessCodeError",
    "ReaderLockedOutError",
    "InvalidProfileError",
    "UnknownReaderError",
    "new_access_code",
    "parse_access_code",
    "hash_secret",
    "verify_secret",
    "authenticate",
    "get_reader",
    "set_profile",
]

ROLES = ("neonatologist", "radiologist", "resident", "other")

# Upper-case letters and digits without I, L, O, 0, 1: nothing a reader can misread.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_HANDLE_LEN = 4
_SECRET_LEN = 12
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_DUMMY_HASH = f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${'00' * 32}"
_WRONG_CODE = (
    "This access code is not valid. Check it for typing errors, or ask the study team "
    "for a new code."
)


class InvalidAccessCodeError(StudyError):
    """The access code is malformed, unknown or wrong (deliberately not saying which)."""


class ReaderLockedOutError(InvalidAccessCodeError):
    """Too many wrong codes from this client (or from everyone) lately: try again later.

    A subclass of :class:`InvalidAccessCodeError`, so a page that only knows that one still
    refuses the sign-in.

    Attributes:
        retry_after: seconds until the next try is accepted.
    """

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after = float(retry_after_s)
        super().__init__(str(TooManyAttemptsError(retry_after_s)))


class InvalidProfileError(StudyError):
    """A reader profile value is outside what the study accepts."""


class UnknownReaderError(StudyError):
    """No reader with this id (in this study)."""


@dataclass(frozen=True)
class AccessCode:
    """A reader's access code split into its public handle and its secret.

    Attributes:
        handle: 4 characters stored in clear to find the reader.
        secret: 12 characters stored only as a salted scrypt hash.
    """

    handle: str
    secret: str

    @property
    def display(self) -> str:
        """The code as printed for the reader, in groups of four."""
        text = self.handle + self.secret
        return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class ReaderIdentity:
    """Who is reading (reader-facing: no codes, no hashes, no truth).

    Attributes:
        reader_id: database id.
        study_id: the study this reader belongs to.
        label: a pseudonym such as ``R01`` used in exports.
        role: ``neonatologist``, ``radiologist``, ``resident``, ``other`` or None
            until the reader fills in the profile.
        years_experience: years of practice, or None until filled in.
    """

    reader_id: int
    study_id: int
    label: str
    role: str | None
    years_experience: float | None

    @property
    def profile_complete(self) -> bool:
        """True once role and years of experience are known."""
        return self.role is not None and self.years_experience is not None


def new_access_code() -> AccessCode:
    """Draw a fresh random access code (the caller must check handle uniqueness)."""
    text = "".join(secrets.choice(_ALPHABET) for _ in range(_HANDLE_LEN + _SECRET_LEN))
    return AccessCode(handle=text[:_HANDLE_LEN], secret=text[_HANDLE_LEN:])


def parse_access_code(text: str) -> AccessCode:
    """Read a code as typed: case, spaces and dashes do not matter.

    Args:
        text: what the reader typed.

    Raises:
        InvalidAccessCodeError: wrong length or characters outside the alphabet.
    """
    cleaned = "".join(ch for ch in str(text).upper() if ch not in " -\t\r\n")
    if len(cleaned) != _HANDLE_LEN + _SECRET_LEN or any(ch not in _ALPHABET for ch in cleaned):
        raise InvalidAccessCodeError(_WRONG_CODE)
    return AccessCode(handle=cleaned[:_HANDLE_LEN], secret=cleaned[_HANDLE_LEN:])


def hash_secret(secret: str, salt: bytes | None = None) -> tuple[bytes, str]:
    """Hash a code secret with scrypt and a random 16-byte salt.

    Args:
        secret: the secret part of an access code.
        salt: reuse a stored salt (verification); None draws a new one.

    Returns:
        ``(salt, encoded)`` where ``encoded`` is ``scrypt$n$r$p$hexdigest`` so the
        parameters can be raised later without breaking stored codes.
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    return salt, f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${digest.hex()}"


def verify_secret(secret: str, salt: bytes, encoded: str) -> bool:
    """Constant-time check of a secret against its stored hash.

    Args:
        secret: the secret part as typed.
        salt: the stored salt.
        encoded: the stored ``scrypt$n$r$p$hex`` string.
    """
    _scheme, n, r, p, hex_digest = encoded.split("$")
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(digest.hex(), hex_digest)


def _log(conn, kind: str, now: datetime, reader_id: int | None, study_id: int | None,
         detail: dict) -> None:
    conn.execute(
        "INSERT INTO events (at, kind, study_id, reader_id, detail) VALUES (?, ?, ?, ?, ?)",
        (to_iso(now), kind, study_id, reader_id, json.dumps(detail)),
    )


def authenticate(db: Database, code: str, *, client: str = "unknown",
                 now: datetime | None = None) -> ReaderIdentity:
    """Find the reader an access code belongs to.

    Every attempt, good or bad, is written to ``events`` (the handle only, never the
    secret) so that the team can spot guessing, and to ``login_attempts``, which rate-limits
    codes per client address and globally across all sessions (:mod:`study.throttle`).

    Args:
        db: the study database.
        code: the code as typed by the reader.
        client: the client address (``st.context.ip_address``), for the rate limit.
        now: the current time (tests inject it).

    Returns:
        The reader's identity.

    Raises:
        ReaderLockedOutError: too many wrong codes from this client (or from everyone)
            lately; nothing was checked.
        InvalidAccessCodeError: the code is malformed, unknown or wrong.
    """
    now = now or utc_now()
    try:
        attempt = begin_attempt(db, "reader", client, now=now.timestamp())
    except TooManyAttemptsError as err:
        raise ReaderLockedOutError(err.retry_after) from None
    try:
        parsed = parse_access_code(code)
    except InvalidAccessCodeError:
        parsed = None
    row = None
    if parsed is not None:
        row = named_row(db.conn, "SELECT id, study_id, code_salt, code_hash FROM readers WHERE code_handle = ?",
                        (parsed.handle,))
    if row is None:
        # Same scrypt cost as a real check: timing must not reveal unknown handles.
        verify_secret("x" * _SECRET_LEN, b"\0" * 16, _DUMMY_HASH)
        ok = False
    else:
        ok = verify_secret(parsed.secret, row["code_salt"], row["code_hash"])
    with write_transaction(db) as conn:
        _log(conn, "login" if ok else "login_failed", now,
             row["id"] if row else None, row["study_id"] if row else None,
             {"handle": parsed.handle if parsed else None})
    finish_attempt(db, attempt, ok=ok, detail={"handle": parsed.handle if parsed else None})
    if not ok:
        raise InvalidAccessCodeError(_WRONG_CODE)
    return get_reader(db, row["id"])


def get_reader(db: Database, reader_id: int) -> ReaderIdentity:
    """Load a reader's identity.

    Args:
        db: the study database.
        reader_id: database id of the reader.

    Raises:
        UnknownReaderError: no such reader.
    """
    row = named_row(db.conn, "SELECT id, study_id, label, role, years_experience FROM readers WHERE id = ?",
                    (reader_id,))
    if row is None:
        raise UnknownReaderError(f"There is no reader with id {reader_id}.")
    return ReaderIdentity(reader_id=row["id"], study_id=row["study_id"], label=row["label"], role=row["role"],
                          years_experience=row["years_experience"])


def set_profile(
    db: Database,
    reader_id: int,
    *,
    role: str,
    years_experience: float,
    now: datetime | None = None,
) -> ReaderIdentity:
    """Record a reader's role and experience (may be corrected later).

    Args:
        db: the study database.
        reader_id: database id of the reader.
        role: one of ``ROLES``.
        years_experience: years in practice, 0-70.
        now: the current time (tests inject it).

    Raises:
        InvalidProfileError: role unknown or years out of range.
        UnknownReaderError: no such reader.
    """
    if role not in ROLES:
        raise InvalidProfileError(f"Role must be one of: {', '.join(ROLES)} (got {role!r}).")
    if isinstance(years_experience, bool) or not isinstance(years_experience, (int, float)) \
            or not 0 <= years_experience <= 70:
        raise InvalidProfileError(
            f"Years of experience must be a number from 0 to 70 (got {years_experience!r})."
        )
    get_reader(db, reader_id)
    with write_transaction(db) as conn:
        conn.execute(
            "UPDATE readers SET role = ?, years_experience = ?, profile_at = ? WHERE id = ?",
            (role, float(years_experience), to_iso(now or utc_now()), reader_id),
        )
    return get_reader(db, reader_id)
