"""Sign-in rate limits shared by every browser session and process, and the login audit.

Every try of the admin secret or of a reader code is a row of ``login_attempts``
(schema version 2), so a limit cannot be dodged by opening new sessions. Two limits:

* **per client address**: after ``max_failures`` failures in a row (since that client's
  last success) the client waits ``lock_s`` seconds, doubling with each further failure,
  capped at ``max_lock_s``. Many readers of one hospital sign in from one address (a NAT or
  proxy) at the same time: up to ``max_in_flight`` checks of one client that are still
  running do not count against it (the admin secret allows none); beyond that, and once
  an unfinished check is older than ``stale_s`` (a killed process), they count as failures;
* **global back-off**: when all clients together failed ``global_max_failures`` times in
  the last ``global_window_s`` seconds, everyone waits until the oldest of those falls out
  of the window (an attacker rotating addresses gets no more guesses than that).

An attempt is written *before* the secret is checked (``ok`` NULL counts as a failure),
under the database write lock, so parallel guesses cannot all pass the check at once.

Example:
    >>> attempt = begin_attempt(db, "admin", "10.0.0.7")   # doctest: +SKIP
    >>> finish_attempt(db, attempt, ok=secret_is_right)    # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlite_utils import Database

from study import StudyError
from study.db import named_rows, to_iso, write_transaction

__all__ = [
    "RatePolicy",
    "POLICIES",
    "TooManyAttemptsError",
    "LoginAttempt",
    "retry_after",
    "begin_attempt",
    "finish_attempt",
    "login_audit",
]


@dataclass(frozen=True)
class RatePolicy:
    """How many wrong tries a scope allows.

    Attributes:
        max_failures: failures in a row per client before the first pause.
        lock_s: the first pause; each further failure doubles it.
        max_lock_s: the longest pause.
        global_window_s: the window of the global back-off.
        global_max_failures: failures of all clients together allowed in that window.
        max_in_flight: unfinished checks of one client not (yet) counted as its failures.
        stale_s: an unfinished check older than this counts as a failure in any case.
    """

    max_failures: int = 5
    lock_s: float = 60.0
    max_lock_s: float = 3600.0
    global_window_s: float = 600.0
    global_max_failures: int = 30
    max_in_flight: int = 0
    stale_s: float = 30.0


#: The admin secret (one team) and the reader codes (many readers mistyping at once).
POLICIES: dict[str, RatePolicy] = {
    "admin": RatePolicy(),
    # 12 colleagues behind one address may sign in at the same moment; a guesser gets at most
    # max_failures + max_in_flight tries before the pause (a code secret carries ~59 random bits).
    "reader": RatePolicy(global_max_failures=200, max_in_flight=12),
}


class TooManyAttemptsError(StudyError):
    """Sign-in is paused for this client (or for everyone); ``retry_after`` seconds remain."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after = float(retry_after_s)
        super().__init__(
            f"Too many wrong tries. Try again in {int(self.retry_after) + 1} seconds."
        )


@dataclass(frozen=True)
class LoginAttempt:
    """One row of the login audit (admin-facing).

    Attributes:
        at: ISO time of the attempt.
        scope: ``admin`` or ``reader``.
        client: the client address as the server saw it.
        ok: True, False, or None if the check never finished.
        detail: extra facts (e.g. the reader handle; never a secret).
    """

    at: str
    scope: str
    client: str
    ok: bool | None
    detail: dict


def _policy(scope: str) -> RatePolicy:
    if scope not in POLICIES:
        raise ValueError(f"Unknown sign-in scope {scope!r}; use one of {', '.join(POLICIES)}.")
    return POLICIES[scope]


def _wait(conn, scope: str, client: str, now: float) -> float:
    policy = _policy(scope)
    last_ok = conn.execute(
        "SELECT COALESCE(MAX(at_s), 0) FROM login_attempts WHERE scope = ? AND client = ? AND ok = 1",
        (scope, client),
    ).fetchone()[0]
    finished, pending_fresh, last_fail = conn.execute(
        "SELECT COALESCE(SUM(ok = 0 OR at_s <= ?), 0), COALESCE(SUM(ok IS NULL AND at_s > ?), 0), MAX(at_s) "
        "FROM login_attempts WHERE scope = ? AND client = ? AND (ok IS NULL OR ok = 0) AND at_s > ? AND at_s > ?",
        (now - policy.stale_s, now - policy.stale_s, scope, client, last_ok, now - policy.max_lock_s * 2),
    ).fetchone()
    failures = finished + max(0, pending_fresh - policy.max_in_flight)
    wait = 0.0
    if failures >= policy.max_failures:
        pause = min(policy.lock_s * 2 ** (failures - policy.max_failures), policy.max_lock_s)
        wait = max(wait, last_fail + pause - now)
    recent = [row[0] for row in conn.execute(
        "SELECT at_s FROM login_attempts WHERE scope = ? AND (ok IS NULL OR ok = 0) AND at_s > ? "
        "ORDER BY at_s", (scope, now - policy.global_window_s))]
    if len(recent) >= policy.global_max_failures:
        oldest_that_counts = recent[len(recent) - policy.global_max_failures]
        wait = max(wait, oldest_that_counts + policy.global_window_s - now)
    return max(wait, 0.0)


def retry_after(db: Database, scope: str, client: str, *, now: float | None = None) -> float:
    """Seconds this client must wait before its next try (0 when it may try now).

    Args:
        db: the study database.
        scope: ``admin`` or ``reader``.
        client: the client address.
        now: ``time.time()`` (tests inject it).
    """
    return _wait(db.conn, scope, client, time.time() if now is None else now)


def begin_attempt(db: Database, scope: str, client: str, *, now: float | None = None) -> int:
    """Record a try before checking it; refuse it while the client is paused.

    Args:
        db: the study database.
        scope: ``admin`` or ``reader``.
        client: the client address (``"unknown"`` when the server does not know it).
        now: ``time.time()`` (tests inject it).

    Returns:
        The attempt's id, for :func:`finish_attempt`.

    Raises:
        TooManyAttemptsError: the client (or everyone) must wait; nothing is recorded.
    """
    now = time.time() if now is None else now
    client = (client or "unknown")[:200]
    with write_transaction(db) as conn:
        wait = _wait(conn, scope, client, now)
        if wait > 0:
            raise TooManyAttemptsError(wait)
        return conn.execute(
            "INSERT INTO login_attempts (at, at_s, scope, client) VALUES (?, ?, ?, ?)",
            (to_iso(datetime.fromtimestamp(now, timezone.utc)), now, scope, client),
        ).lastrowid


def finish_attempt(db: Database, attempt_id: int, *, ok: bool, detail: dict | None = None) -> None:
    """Record the outcome of an attempt (once).

    Args:
        db: the study database.
        attempt_id: from :func:`begin_attempt`.
        ok: whether the secret or code was right.
        detail: extra facts for the audit; never the secret itself.
    """
    with write_transaction(db) as conn:
        conn.execute("UPDATE login_attempts SET ok = ?, detail = ? WHERE id = ?",
                     (int(ok), json.dumps(detail or {}), attempt_id))


def login_audit(db: Database, scope: str = "admin", *, limit: int = 200) -> list[LoginAttempt]:
    """The latest sign-in attempts of a scope, newest first (the admin login audit).

    Args:
        db: the study database.
        scope: ``admin`` or ``reader``.
        limit: at most this many rows.
    """
    _policy(scope)
    rows = named_rows(db.conn, "SELECT at, scope, client, ok, detail FROM login_attempts WHERE scope = ? "
                               "ORDER BY at_s DESC, id DESC LIMIT ?", (scope, int(limit)))
    return [LoginAttempt(at=r["at"], scope=r["scope"], client=r["client"], ok=None if r["ok"] is None else bool(r["ok"]),
                         detail=json.loads(r["detail"])) for r in rows]
