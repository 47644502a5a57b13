"""30 processes read and answer at once: nothing lost, nothing duplicated, nothing locked.

Each worker is a separate interpreter (``spawn``) with its own connection, as separate
Streamlit servers or browser sessions would be. Workers start together behind an event,
first all open a *fresh* database at the same instant (schema creation race), then
read their reading lists against one shared study database:

* 22 workers each own one reader;
* 6 "twins" read as readers 0-5 with identical answers (double submits across
  processes);
* 2 "rivals" read as readers 6-7 with a different confidence (conflicting submits).

Afterwards every count and every stored value is checked against what the workers
were told.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

N_OWNERS, N_TWINS, N_RIVALS = 22, 6, 2
N_CASES = 6
ARMS = ("none", "score")


def expected_answer(reader_id: int, case_id: int, arm: str, rival: bool) -> tuple[bool, int]:
    """What a worker answers: deterministic, and different for a rival."""
    confidence = (case_id * 7 + reader_id * 3 + len(arm)) % 100
    return (case_id + reader_id) % 2 == 0, confidence + 1 if rival else confidence


def _worker(main_db: str, fresh_db: str, study_id: int, reader_id: int, rival: bool,
            ready, start, results) -> None:
    # sqlite-utils imports pandas eagerly when it is installed (~0.7 s of CPU per
    # interpreter); no worker needs it, and on two cores 30 spawned interpreters would
    # spend most of this test importing it.
    sys.modules.setdefault("pandas", None)
    log: list[tuple] = []
    try:
        from study.db import connect
        from study.protocol import AnswerConflictError, Task, mark_viewed, next_task, submit_answer

        db = connect(main_db)
        ready.put(reader_id)
        start.wait(60)
        connect(fresh_db)
        while isinstance(task := next_task(db, study_id, reader_id), Task):
            key = task.key
            mark_viewed(db, key)
            diagnosis, confidence = expected_answer(reader_id, key.case_id, key.arm, rival)
            try:
                stored = submit_answer(db, key, diagnosis=diagnosis, confidence=confidence,
                                       time_on_case_ms=1000 + key.case_id)
                outcome = (stored.diagnosis, stored.confidence)
            except AnswerConflictError:
                outcome = "conflict"
            log.append((key.reader_id, key.case_id, key.arm, diagnosis, confidence, outcome))
        results.put((reader_id, rival, log, None))
    except BaseException:  # report everything, including "database is locked"
        results.put((reader_id, rival, log, traceback.format_exc()))


@contextmanager
def _empty_main() -> Iterator[None]:
    """Start spawned workers with an empty ``__main__``.

    A spawned child re-runs the file of the parent's ``__main__`` module. After any AppTest in
    this pytest process that is a Streamlit page (AppTest leaves ``sys.modules["__main__"]``
    pointing at the last script it ran), so each of the 30 workers would import the page and
    its model stack, and the test would time out.
    """
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


def test_thirty_processes_answer_at_once(tmp_path: Path) -> None:
    from study.admin import create_readers
    from study.db import SCHEMA_VERSION, connect
    from tests.study_helpers import make_study

    db = connect(tmp_path / "study.sqlite")
    study = make_study(db, tmp_path, n=N_CASES, arms=ARMS)
    readers = [r.reader_id for r in create_readers(db, study.study_id, N_OWNERS)]
    jobs = [(r, False) for r in readers]
    jobs += [(r, False) for r in readers[:N_TWINS]]
    jobs += [(r, True) for r in readers[N_TWINS:N_TWINS + N_RIVALS]]
    assert len(jobs) >= 30

    ctx = multiprocessing.get_context("spawn")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    processes = [
        ctx.Process(target=_worker, args=(str(tmp_path / "study.sqlite"), str(tmp_path / "fresh.sqlite"),
                                          study.study_id, reader_id, rival, ready, start, results))
        for reader_id, rival in jobs
    ]
    with _empty_main():
        for process in processes:
            process.start()
    try:
        t0 = time.perf_counter()
        for _ in processes:
            ready.get(timeout=120)
        t1 = time.perf_counter()
        start.set()
        reports = [results.get(timeout=120) for _ in processes]
        print(f"start-up {t1 - t0:.1f} s, reading {time.perf_counter() - t1:.1f} s")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    errors = [error for *_rest, error in reports if error]
    assert errors == []

    # Exact count: every planned read answered once, no more.
    per_reader = N_CASES * len(ARMS)
    assert db["answers"].count == N_OWNERS * per_reader
    assert db.conn.execute("SELECT COUNT(DISTINCT study_id || '/' || reader_id || '/' || case_id || '/' || arm) "
                           "FROM answers").fetchone()[0] == N_OWNERS * per_reader
    assert db.conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'submit'").fetchone()[0] == N_OWNERS * per_reader
    assert db.conn.execute("SELECT COUNT(*) FROM case_views").fetchone()[0] == N_OWNERS * per_reader
    assert db.conn.execute("SELECT COUNT(*) FROM sessions WHERE completed_at IS NULL").fetchone()[0] == 0

    # Exact content: what is stored is what the (winning) worker sent, and every worker
    # was told the truth about its submit.
    stored = {(r, c, a): (bool(d), conf) for r, c, a, d, conf in db.conn.execute(
        "SELECT reader_id, case_id, arm, diagnosis, confidence FROM answers")}
    rival_readers = set(readers[N_TWINS:N_TWINS + N_RIVALS])
    conflicts = 0
    for reader_id, rival, log, _ in reports:
        for r, c, a, diagnosis, confidence, outcome in log:
            if outcome == "conflict":
                conflicts += 1
                assert stored[(r, c, a)] != (diagnosis, confidence)
            else:
                assert outcome == stored[(r, c, a)] == (diagnosis, confidence)
    for (r, c, a), answer in stored.items():
        if r not in rival_readers:
            assert answer == expected_answer(r, c, a, rival=False)
        else:
            assert answer in (expected_answer(r, c, a, False), expected_answer(r, c, a, True))
    told_stored = {(r, c, a) for _r, _rv, log, _e in reports for r, c, a, *_x, outcome in log
                   if outcome != "conflict"}
    assert told_stored == set(stored)
    assert db.conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'conflict'").fetchone()[0] == conflicts

    # The fresh database was created once, by whichever process won, and is complete.
    fresh = connect(tmp_path / "fresh.sqlite")
    assert fresh.conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert set(fresh.table_names()) == set(db.table_names())
