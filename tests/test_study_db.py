"""Study database: connection settings, schema creation, migrations, storage paths.

Many processes creating the same fresh database at once is tested in
``test_study_concurrency.py`` (it shares that file's process start-up cost).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from study import config
from study.db import (
    SCHEMA_VERSION,
    SchemaTooNewError,
    connect,
    migrate,
    pragmas,
    resolve_storage_ref,
    storage_ref,
    write_transaction,
)

TABLES = {"schema_version", "case_sets", "cases", "ai_hints", "studies", "study_cases", "readers",
          "sessions", "plan", "case_views", "answers", "events", "login_attempts"}


def _schema(db) -> list[tuple[str, str]]:
    return db.conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()


def test_every_connection_gets_the_safety_pragmas(tmp_path: Path) -> None:
    first = connect(tmp_path / "s.sqlite")
    second = connect(tmp_path / "s.sqlite")
    for db in (first, second):
        assert pragmas(db) == {"journal_mode": "wal", "busy_timeout": 10_000, "foreign_keys": 1,
                               "synchronous": 2}


def test_schema_is_created_and_migration_is_idempotent(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    assert TABLES <= set(db.table_names())
    before = _schema(db)

    assert migrate(db) == SCHEMA_VERSION
    assert migrate(connect(tmp_path / "s.sqlite")) == SCHEMA_VERSION

    assert _schema(db) == before
    versions = [row[0] for row in db.conn.execute("SELECT version FROM schema_version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    with write_transaction(db) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaTooNewError, match="Update the software"):
        connect(tmp_path / "s.sqlite")


def test_foreign_keys_and_checks_are_enforced(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        with write_transaction(db) as conn:
            conn.execute(
                "INSERT INTO cases (case_set_id, position, stored_path, file_format, width, height, "
                "truth, source_sha256, stored_sha256, created_at) "
                "VALUES (42, 0, 'x.png', 'png', 1, 1, 1, 'a', 'b', 'now')"
            )
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        with write_transaction(db) as conn:
            conn.execute("INSERT INTO case_sets (name, storage_dir, status, created_at) "
                         "VALUES ('x', '/tmp', 'half-done', 'now')")
    assert db["case_sets"].count == 0  # the failed transactions left nothing behind


def test_write_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    with pytest.raises(RuntimeError, match="boom"):
        with write_transaction(db) as conn:
            conn.execute("INSERT INTO case_sets (name, storage_dir, status, created_at) "
                         "VALUES ('x', '/tmp', 'ready', 'now')")
            raise RuntimeError("boom")
    assert db["case_sets"].count == 0
    assert not db.conn.in_transaction


def test_database_path_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere" / "study.sqlite"
    monkeypatch.setenv(config.DB_ENV, str(target))
    monkeypatch.setenv(config.CASES_ENV, str(tmp_path / "films"))
    assert config.db_path() == target
    assert config.db_path(tmp_path / "explicit.sqlite") == tmp_path / "explicit.sqlite"
    assert config.case_storage_dir() == tmp_path / "films"
    connect()
    assert target.exists()
    monkeypatch.delenv(config.DB_ENV)
    assert config.db_path() == config.REPO_ROOT / "data" / "study.sqlite"


def test_storage_refs_are_relative_inside_the_database_folder(tmp_path: Path) -> None:
    db = connect(tmp_path / "data" / "s.sqlite")
    inside = tmp_path / "data" / "cases" / "a.png"
    outside = tmp_path / "other" / "b.png"
    assert storage_ref(db, inside) == "cases/a.png"
    assert storage_ref(db, outside) == str(outside.resolve())
    assert resolve_storage_ref(db, storage_ref(db, inside)) == inside.resolve()
    assert resolve_storage_ref(db, storage_ref(db, outside)) == outside.resolve()


def test_a_migration_merged_later_with_a_lower_number_still_runs(tmp_path: Path) -> None:
    # A database that got versions 1 and 3 before version 2 existed (branches merged out of order).
    db = connect(tmp_path / "s.sqlite")
    with write_transaction(db) as conn:
        conn.execute("DROP TRIGGER login_attempts_set_once")
        conn.execute("DROP TRIGGER login_attempts_no_delete")
        conn.execute("DROP TABLE login_attempts")
        conn.execute("DELETE FROM schema_version WHERE version = 2")
    again = connect(tmp_path / "s.sqlite")
    assert "login_attempts" in again.table_names()
    assert 2 in {row[0] for row in again.conn.execute("SELECT version FROM schema_version")}


def test_version_4_stores_the_ai_call_as_a_boolean_with_the_same_meaning(tmp_path: Path) -> None:
    from study.db import MIGRATIONS

    path = tmp_path / "v3.sqlite"
    raw = sqlite3.connect(path)  # a database written by the version-3 software (foreign keys off)
    raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version, step in MIGRATIONS[:3]:
        step(raw)
        raw.execute("INSERT INTO schema_version VALUES (?, 'then')", (version,))
    for case_id, label in ((1, "RDS"), (2, "non-RDS")):
        raw.execute("INSERT INTO ai_hints (case_id, probability, fold_probabilities, spread, threshold, label, "
                    "pack_name, pack_version, created_at) VALUES (?, 0.5, '[]', 0, 0.5, ?, 'p', '1', 'then')",
                    (case_id, label))
    for answer_id, label in ((1, "RDS"), (2, "non-RDS"), (3, None)):
        raw.execute("INSERT INTO answers (id, study_id, reader_id, case_id, arm, session, position, diagnosis, "
                    "confidence, submitted_at, ai_label, ai_heatmap_shown, ai_hint_flipped) "
                    "VALUES (?, 1, 1, ?, 'score', 1, ?, 1, 70, 'then', ?, 0, 0)",
                    (answer_id, answer_id, answer_id, label))
    raw.commit()
    raw.close()

    db = connect(path)
    assert db.conn.execute("SELECT case_id, positive FROM ai_hints ORDER BY case_id").fetchall() == [(1, 1), (2, 0)]
    assert db.conn.execute("SELECT id, ai_positive FROM answers ORDER BY id").fetchall() == [(1, 1), (2, 0), (3, None)]
    columns = {row[1] for row in db.conn.execute("PRAGMA table_info(answers)")}
    assert "ai_label" not in columns and "label" not in {row[1] for row in db.conn.execute("PRAGMA table_info(ai_hints)")}
    with pytest.raises(sqlite3.IntegrityError, match="answers are immutable"):
        with write_transaction(db) as conn:
            conn.execute("UPDATE answers SET confidence = 10 WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError):
        with write_transaction(db) as conn:
            conn.execute("UPDATE ai_hints SET positive = 2 WHERE case_id = 1")
