"""Sign-in limits shared across sessions (study.throttle) and the reader-code rate limit."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from study.admin import create_readers
from study.db import connect
from study.security import InvalidAccessCodeError, ReaderLockedOutError, authenticate
from study.throttle import POLICIES, TooManyAttemptsError, begin_attempt, finish_attempt, login_audit, retry_after
from tests.study_helpers import make_study

T0 = 1_800_000_000.0


def _fail(db, scope: str, client: str, at: float) -> None:
    finish_attempt(db, begin_attempt(db, scope, client, now=at), ok=False)


def test_lockout_is_shared_by_every_connection_of_a_client(tmp_path: Path) -> None:
    # Two connections stand for two browser sessions (or two server processes).
    first, second = connect(tmp_path / "s.sqlite"), connect(tmp_path / "s.sqlite")
    policy = POLICIES["admin"]
    for i in range(policy.max_failures):
        _fail(first if i % 2 else second, "admin", "10.0.0.7", T0 + i)
    with pytest.raises(TooManyAttemptsError, match="Try again in") as err:
        begin_attempt(second, "admin", "10.0.0.7", now=T0 + 10)
    assert 0 < err.value.retry_after <= policy.lock_s
    assert retry_after(first, "admin", "10.0.0.8", now=T0 + 10) == 0  # another client may try
    # Once the pause is over one more failure doubles it.
    _fail(first, "admin", "10.0.0.7", T0 + 5 + policy.lock_s)
    assert retry_after(first, "admin", "10.0.0.7", now=T0 + 6 + policy.lock_s) == pytest.approx(
        2 * policy.lock_s - 1)


def test_a_success_resets_the_client_count(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    for i in range(POLICIES["admin"].max_failures - 1):
        _fail(db, "admin", "a", T0 + i)
    finish_attempt(db, begin_attempt(db, "admin", "a", now=T0 + 10), ok=True)
    for i in range(POLICIES["admin"].max_failures - 1):
        _fail(db, "admin", "a", T0 + 20 + i)
    assert retry_after(db, "admin", "a", now=T0 + 30) == 0


def test_global_back_off_stops_address_rotation(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    policy = POLICIES["admin"]
    for i in range(policy.global_max_failures):
        _fail(db, "admin", f"198.51.100.{i}", T0 + i)  # a fresh address for every guess
    with pytest.raises(TooManyAttemptsError):
        begin_attempt(db, "admin", "203.0.113.1", now=T0 + 40)
    # The window slides: once the oldest failure is out, one try is allowed again.
    assert retry_after(db, "admin", "203.0.113.1", now=T0 + policy.global_window_s + 0.5) == 0


def test_an_unfinished_attempt_counts_as_a_failure(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    for i in range(POLICIES["admin"].max_failures):
        begin_attempt(db, "admin", "x", now=T0 + i)  # parallel guesses still being checked
    assert retry_after(db, "admin", "x", now=T0 + 6) > 0


def test_the_audit_lists_attempts_and_is_append_only(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    _fail(db, "admin", "10.0.0.7", T0)
    finish_attempt(db, begin_attempt(db, "admin", "10.0.0.7", now=T0 + 1), ok=True)
    audit = login_audit(db)
    assert [(a.client, a.ok) for a in audit] == [("10.0.0.7", True), ("10.0.0.7", False)]
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        db.conn.execute("DELETE FROM login_attempts")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        db.conn.execute("UPDATE login_attempts SET ok = 1 WHERE ok = 0")


def test_reader_codes_are_rate_limited_per_client(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    study = make_study(db, tmp_path, n=2)
    [reader] = create_readers(db, study.study_id, 1)
    now = datetime.fromtimestamp(T0, timezone.utc)
    wrong = reader.code[:-1] + ("A" if reader.code[-1] != "A" else "B")
    for _ in range(POLICIES["reader"].max_failures):
        with pytest.raises(InvalidAccessCodeError):
            authenticate(db, wrong, client="10.1.1.1", now=now)
    with pytest.raises(ReaderLockedOutError, match="Try again in"):
        authenticate(db, reader.code, client="10.1.1.1", now=now)  # even the right code waits
    assert authenticate(db, reader.code, client="10.1.1.2", now=now).reader_id == reader.reader_id
    assert [a.ok for a in login_audit(db, "reader")][:1] == [True]


def test_colleagues_behind_one_address_can_sign_in_at_the_same_moment(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    policy = POLICIES["reader"]
    # A hospital's readers come from one NAT address; their checks run at the same time.
    for i in range(policy.max_in_flight + policy.max_failures - 1):
        begin_attempt(db, "reader", "10.9.9.9", now=T0 + i * 0.01)
    assert retry_after(db, "reader", "10.9.9.9", now=T0 + 1) == 0
    begin_attempt(db, "reader", "10.9.9.9", now=T0 + 1)  # one more unfinished check: the limit
    assert retry_after(db, "reader", "10.9.9.9", now=T0 + 1.5) > 0, "parallel guessing is still bounded"


def test_an_unfinished_reader_check_counts_once_it_is_stale(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    policy = POLICIES["reader"]
    for i in range(policy.max_failures):
        begin_attempt(db, "reader", "k", now=T0 + i)  # the process died mid-check
    assert retry_after(db, "reader", "k", now=T0 + 10) == 0
    assert retry_after(db, "reader", "k", now=T0 + policy.stale_s + 10) > 0


def test_concurrent_right_codes_from_one_address_all_get_in(tmp_path: Path) -> None:
    import threading

    db_file = tmp_path / "s.sqlite"
    db = connect(db_file)
    study = make_study(db, tmp_path, n=2)
    readers = create_readers(db, study.study_id, 10)
    results: list[object] = []
    start = threading.Barrier(len(readers))

    def sign_in(code: str) -> None:
        own = connect(db_file)  # one connection per session, as the page holds
        start.wait()
        try:
            results.append(authenticate(own, code, client="10.9.9.9").reader_id)
        except Exception as err:  # noqa: BLE001 - the assertion names it
            results.append(err)

    threads = [threading.Thread(target=sign_in, args=(r.code,)) for r in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(r.reader_id for r in readers), results
