"""The study database: connection settings, schema, migrations and write transactions.

One SQLite file holds everything. Every connection gets the same settings (WAL, a busy
timeout, foreign keys, full fsync) so that many readers' browser sessions can write at
once without losing or duplicating an answer. The schema is created and upgraded by
code: ``schema_version`` records each applied migration, and ``migrate`` is safe to call
from many processes at the same time.

Integrity lives in the schema (as in grand-challenge reader studies): one answer per
(study, reader, case, arm) by a UNIQUE constraint, answers immutable by trigger, each
planned read tied to its reader and to a case of the study by foreign keys, and the
ground truth stored only in ``cases.truth`` (with ``severity`` and ``notes``).

Example:
    >>> from study.db import connect
    >>> db = connect("/tmp/study.sqlite")  # doctest: +SKIP
    >>> pragmas(db)["journal_mode"]        # doctest: +SKIP
    'wal'
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from study import StudyError
from study.config import BUSY_TIMEOUT_S, db_path

__all__ = [
    "SCHEMA_VERSION",
    "SchemaTooNewError",
    "connect",
    "migrate",
    "schema_version",
    "pragmas",
    "named_rows",
    "named_row",
    "write_transaction",
    "utc_now",
    "to_iso",
    "from_iso",
    "db_file",
    "restrict_file",
    "storage_ref",
    "resolve_storage_ref",
]


class SchemaTooNewError(StudyError):
    """The database was written by a newer version of this software."""


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def to_iso(moment: datetime) -> str:
    """Store a time as ISO 8601 in UTC with milliseconds (sortable as text).

    Args:
        moment: a timezone-aware datetime; naive datetimes are refused because a
            study spans time zones and daylight-saving changes.
    """
    if moment.tzinfo is None:
        raise ValueError("Times must be timezone-aware (use datetime.now(timezone.utc)).")
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def from_iso(text: str) -> datetime:
    """Read a time written by :func:`to_iso`.

    Args:
        text: ISO 8601 string with an offset.
    """
    return datetime.fromisoformat(text)


# --- schema -------------------------------------------------------------------------

_V1 = """
CREATE TABLE case_sets (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    storage_dir TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('importing', 'ready')),
    created_at  TEXT NOT NULL
);

-- The only place where ground truth lives (truth, severity, notes).
CREATE TABLE cases (
    id              INTEGER PRIMARY KEY,
    case_set_id     INTEGER NOT NULL REFERENCES case_sets (id),
    position        INTEGER NOT NULL,
    stored_path     TEXT NOT NULL UNIQUE,
    file_format     TEXT NOT NULL CHECK (file_format IN ('dicom', 'png')),
    width           INTEGER NOT NULL CHECK (width > 0),
    height          INTEGER NOT NULL CHECK (height > 0),
    truth           INTEGER NOT NULL CHECK (truth IN (0, 1)),
    severity        TEXT,
    gestational_age REAL,
    notes           TEXT,
    source_sha256   TEXT NOT NULL,
    stored_sha256   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (case_set_id, position),
    UNIQUE (case_set_id, source_sha256)
);

CREATE TABLE ai_hints (
    case_id            INTEGER PRIMARY KEY REFERENCES cases (id),
    probability        REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
    fold_probabilities TEXT NOT NULL,
    spread             REAL NOT NULL CHECK (spread >= 0),
    threshold          REAL NOT NULL CHECK (threshold BETWEEN 0 AND 1),
    label              TEXT NOT NULL CHECK (label IN ('RDS', 'non-RDS')),
    heatmap_png        BLOB,
    pack_name          TEXT NOT NULL,
    pack_version       TEXT NOT NULL,
    created_at         TEXT NOT NULL
);

CREATE TABLE studies (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    case_set_id      INTEGER NOT NULL REFERENCES case_sets (id),
    design           TEXT NOT NULL CHECK (design IN ('sequential', 'crossover')),
    arms             TEXT NOT NULL,
    flagged_fraction REAL NOT NULL DEFAULT 0 CHECK (flagged_fraction BETWEEN 0 AND 0.5),
    washout_days     REAL NOT NULL CHECK (washout_days >= 0),
    seed             TEXT NOT NULL,
    created_at       TEXT NOT NULL
);

-- Which cases a study uses, the crossover half of each, and the automation-bias
-- flag (shown AI output deliberately wrong); fixed when the study is created.
CREATE TABLE study_cases (
    study_id INTEGER NOT NULL REFERENCES studies (id),
    case_id  INTEGER NOT NULL REFERENCES cases (id),
    half     INTEGER NOT NULL CHECK (half IN (0, 1)),
    flagged  INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
    PRIMARY KEY (study_id, case_id)
);

CREATE TABLE readers (
    id               INTEGER PRIMARY KEY,
    study_id         INTEGER NOT NULL REFERENCES studies (id),
    idx              INTEGER NOT NULL CHECK (idx >= 0),
    label            TEXT NOT NULL,
    code_handle      TEXT NOT NULL UNIQUE,
    code_salt        BLOB NOT NULL,
    code_hash        TEXT NOT NULL,
    role             TEXT CHECK (role IN ('neonatologist', 'radiologist', 'resident', 'other')),
    years_experience REAL CHECK (years_experience BETWEEN 0 AND 70),
    created_at       TEXT NOT NULL,
    profile_at       TEXT,
    UNIQUE (study_id, idx),
    UNIQUE (study_id, label),
    UNIQUE (id, study_id)
);

CREATE TABLE sessions (
    reader_id    INTEGER NOT NULL REFERENCES readers (id),
    number       INTEGER NOT NULL CHECK (number IN (1, 2)),
    started_at   TEXT,
    completed_at TEXT,
    PRIMARY KEY (reader_id, number)
);

-- Each reader's reads in order, materialised when the reader is created so that a
-- later change of the shuffling code can never reorder a running study.
CREATE TABLE plan (
    study_id  INTEGER NOT NULL,
    reader_id INTEGER NOT NULL,
    position  INTEGER NOT NULL CHECK (position >= 0),
    session   INTEGER NOT NULL CHECK (session IN (1, 2)),
    case_id   INTEGER NOT NULL,
    arm       TEXT NOT NULL CHECK (arm IN ('none', 'score', 'score_heatmap')),
    PRIMARY KEY (reader_id, position),
    UNIQUE (study_id, reader_id, case_id, arm),
    FOREIGN KEY (reader_id, study_id) REFERENCES readers (id, study_id),
    FOREIGN KEY (study_id, case_id) REFERENCES study_cases (study_id, case_id)
);

CREATE TABLE case_views (
    study_id        INTEGER NOT NULL,
    reader_id       INTEGER NOT NULL,
    case_id         INTEGER NOT NULL,
    arm             TEXT NOT NULL,
    first_viewed_at TEXT NOT NULL,
    client_viewed_at TEXT,
    PRIMARY KEY (study_id, reader_id, case_id, arm),
    FOREIGN KEY (study_id, reader_id, case_id, arm)
        REFERENCES plan (study_id, reader_id, case_id, arm)
);

CREATE TABLE answers (
    id                     INTEGER PRIMARY KEY,
    study_id               INTEGER NOT NULL,
    reader_id              INTEGER NOT NULL,
    case_id                INTEGER NOT NULL,
    arm                    TEXT NOT NULL,
    session                INTEGER NOT NULL,
    position               INTEGER NOT NULL,
    diagnosis              INTEGER NOT NULL CHECK (diagnosis IN (0, 1)),
    confidence             INTEGER NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    time_on_case_ms        INTEGER CHECK (time_on_case_ms >= 0),
    server_time_on_case_ms INTEGER CHECK (server_time_on_case_ms >= 0),
    edit_durations         TEXT NOT NULL DEFAULT '[]',
    client_started_at      TEXT,
    client_submitted_at    TEXT,
    submitted_at           TEXT NOT NULL,
    ai_probability         REAL,
    ai_spread              REAL,
    ai_threshold           REAL,
    ai_label               TEXT,
    ai_heatmap_shown       INTEGER NOT NULL CHECK (ai_heatmap_shown IN (0, 1)),
    ai_hint_flipped        INTEGER NOT NULL CHECK (ai_hint_flipped IN (0, 1)),
    UNIQUE (study_id, reader_id, case_id, arm),
    FOREIGN KEY (study_id, reader_id, case_id, arm)
        REFERENCES plan (study_id, reader_id, case_id, arm)
);

CREATE TRIGGER answers_no_update BEFORE UPDATE ON answers
BEGIN SELECT RAISE(ABORT, 'answers are immutable'); END;
CREATE TRIGGER answers_no_delete BEFORE DELETE ON answers
BEGIN SELECT RAISE(ABORT, 'answers are immutable'); END;

-- Append-only audit trail (logins, failed logins, views, submits, conflicts).
CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    study_id  INTEGER,
    reader_id INTEGER,
    case_id   INTEGER,
    arm       TEXT,
    detail    TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX cases_by_set ON cases (case_set_id);
CREATE INDEX answers_by_reader ON answers (reader_id, session);
CREATE INDEX events_by_reader ON events (reader_id, at);
"""


def _apply_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the open transaction first; run statements one by
    # one instead so that a migration is all-or-nothing.
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            conn.execute(pending)
            pending = ""
    if pending.strip() and not all(
        not ln.strip() or ln.strip().startswith("--") for ln in pending.splitlines()
    ):
        raise ValueError(f"Unterminated SQL statement in migration: {pending.strip()[:80]}")


# Version 2: sign-in attempts (admin secret and reader codes) shared by every session and
# process, for the lockout and as the audit trail of admin logins. ``ok`` is NULL while an
# attempt is being checked (it counts as a failure until then, so parallel guesses cannot
# slip past the limit) and is set exactly once; rows are never deleted.
_V2 = """
CREATE TABLE login_attempts (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    at_s    REAL NOT NULL,
    scope   TEXT NOT NULL CHECK (scope IN ('admin', 'reader')),
    client  TEXT NOT NULL,
    ok      INTEGER CHECK (ok IN (0, 1)),
    detail  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX login_attempts_by_scope ON login_attempts (scope, at_s);
CREATE INDEX login_attempts_by_client ON login_attempts (scope, client, at_s);
CREATE TRIGGER login_attempts_set_once BEFORE UPDATE ON login_attempts
WHEN OLD.ok IS NOT NULL OR NEW.id != OLD.id OR NEW.at != OLD.at OR NEW.scope != OLD.scope
     OR NEW.client != OLD.client
BEGIN SELECT RAISE(ABORT, 'login attempts are immutable'); END;
CREATE TRIGGER login_attempts_no_delete BEFORE DELETE ON login_attempts
BEGIN SELECT RAISE(ABORT, 'login attempts are immutable'); END;
"""


# Version 3: per-read viewer telemetry, stored in the answer's own row (one INSERT, so an
# answer and its telemetry are committed together); NULL for answers from older versions.
_V3 = """
ALTER TABLE answers ADD COLUMN first_answer_ms INTEGER CHECK (first_answer_ms >= 0);
ALTER TABLE answers ADD COLUMN window_level_changes INTEGER CHECK (window_level_changes >= 0);
ALTER TABLE answers ADD COLUMN zoom_changes INTEGER CHECK (zoom_changes >= 0);
ALTER TABLE answers ADD COLUMN pan_changes INTEGER CHECK (pan_changes >= 0);
ALTER TABLE answers ADD COLUMN heatmap_toggles INTEGER CHECK (heatmap_toggles >= 0);
ALTER TABLE answers ADD COLUMN heatmap_visible_ms INTEGER CHECK (heatmap_visible_ms >= 0);
ALTER TABLE answers ADD COLUMN confidence_set INTEGER CHECK (confidence_set IN (0, 1));
ALTER TABLE answers ADD COLUMN viewer_state TEXT;
"""


# Version 4: the AI's call as a boolean (``ai_hints.positive``, ``answers.ai_positive``: 1 = RDS)
# instead of the strings 'RDS' / 'non-RDS' that five modules turned back into a bool. The
# answers keep their meaning: the update re-encodes the stored call, nothing else, inside
# the migration's one transaction, with the immutability trigger restored before commit.
_V4 = """
ALTER TABLE ai_hints ADD COLUMN positive INTEGER NOT NULL DEFAULT 0 CHECK (positive IN (0, 1));
UPDATE ai_hints SET positive = (label = 'RDS');
ALTER TABLE ai_hints DROP COLUMN label;
DROP TRIGGER answers_no_update;
ALTER TABLE answers ADD COLUMN ai_positive INTEGER CHECK (ai_positive IN (0, 1));
UPDATE answers SET ai_positive = CASE WHEN ai_label IS NULL THEN NULL ELSE ai_label = 'RDS' END;
ALTER TABLE answers DROP COLUMN ai_label;
CREATE TRIGGER answers_no_update BEFORE UPDATE ON answers
BEGIN SELECT RAISE(ABORT, 'answers are immutable'); END;
"""


# Append only: (version, step). Never edit a released step; add a new one.
MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (1, lambda conn: _apply_script(conn, _V1)),
    (2, lambda conn: _apply_script(conn, _V2)),
    (3, lambda conn: _apply_script(conn, _V3)),
    (4, lambda conn: _apply_script(conn, _V4)),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


# --- connections --------------------------------------------------------------------


def connect(path: str | Path | None = None) -> Database:
    """Open (creating or upgrading if needed) the study database.

    Every connection is set up the same way: WAL journal (readers never block the
    writer), a busy timeout of ``BUSY_TIMEOUT_S`` (concurrent writers queue rather
    than fail), ``foreign_keys=ON`` and ``synchronous=FULL`` (a committed answer
    survives a power cut). Use one connection per browser session or process.

    Args:
        path: database file; default from :func:`study.config.db_path`
            (``$RDS_STUDY_DB`` or ``data/study.sqlite``).

    Returns:
        A ``sqlite_utils.Database`` with the schema at ``SCHEMA_VERSION``.

    Raises:
        SchemaTooNewError: the file was written by a newer version of this code.
    """
    file = db_path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    restrict_file(file)
    # check_same_thread=False: Streamlit may run successive reruns of one session on
    # different threads; a connection must still never be used by two at once.
    conn = sqlite3.connect(str(file), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    _enable_wal(conn)
    db = Database(conn, execute_plugins=False)
    migrate(db)
    return db


def restrict_file(file: Path) -> None:
    """Create ``file`` (if missing) readable and writable by its owner only, 0600.

    SQLite gives its ``-wal`` and ``-shm`` files the permissions of the main file, so
    the answers and the truth never become readable by other local users.

    Args:
        file: the database file.
    """
    os.close(os.open(file, os.O_WRONLY | os.O_CREAT, 0o600))
    if file.stat().st_mode & 0o077:
        os.chmod(file, 0o600)
    for suffix in ("-wal", "-shm"):
        side = file.with_name(file.name + suffix)
        if side.exists() and side.stat().st_mode & 0o077:
            os.chmod(side, 0o600)


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch a (new) file to WAL, retrying while other processes do the same.

    Two processes converting a fresh file at once can deadlock on the rollback-journal
    locks; SQLite then answers "database is locked" at once instead of calling the busy
    handler (see sqlite3_busy_handler), so the retry has to be ours.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def named_rows(conn: sqlite3.Connection, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
    """Rows read by column name (``row["truth"]``), for records built with ``from_row``.

    A cursor of its own gets the ``sqlite3.Row`` factory, so the connection (shared with
    sqlite-utils) keeps returning tuples everywhere else.
    """
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, tuple(params)).fetchall()


def named_row(conn: sqlite3.Connection, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
    """The first row of :func:`named_rows`, or None."""
    rows = named_rows(conn, sql, params)
    return rows[0] if rows else None


def pragmas(db: Database) -> dict[str, object]:
    """The connection settings that matter for safety, as SQLite reports them.

    Args:
        db: an open study database.
    """
    names = ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
    return {name: db.conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names}


@contextmanager
def write_transaction(db: Database) -> Iterator[sqlite3.Connection]:
    """Run a block as one write transaction that takes the write lock up front.

    ``BEGIN IMMEDIATE`` waits (up to the busy timeout) for the write lock before
    reading anything, so a read-then-write can never fail half-way with "database
    is locked" because another process wrote in between. Commits on success, rolls
    back on any exception.

    Args:
        db: an open study database with no transaction in progress.

    Yields:
        The raw ``sqlite3.Connection`` to execute statements on.
    """
    conn = db.conn
    if conn.in_transaction:
        raise RuntimeError("write_transaction() cannot be nested")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.execute("COMMIT")


def schema_version(db: Database) -> int:
    """The highest migration applied to this database (0 for an empty file).

    Args:
        db: an open database.
    """
    if not db["schema_version"].exists():
        return 0
    row = db.conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


_KNOWN = frozenset(version for version, _ in MIGRATIONS)


def _applied(db: Database) -> set[int]:
    if not db["schema_version"].exists():
        return set()
    return {row[0] for row in db.conn.execute("SELECT version FROM schema_version")}


def migrate(db: Database) -> int:
    """Bring the schema to ``SCHEMA_VERSION``; idempotent and safe across processes.

    Args:
        db: an open database.

    Returns:
        The schema version after migrating.

    Raises:
        SchemaTooNewError: the database is newer than this code.
    """
    current = schema_version(db)
    if current == SCHEMA_VERSION and _applied(db) >= _KNOWN:
        return current
    if current > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"The study database has schema version {current}, but this software only "
            f"knows up to version {SCHEMA_VERSION}. Update the software before using it."
        )
    with write_transaction(db) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        # Re-read under the write lock: another process may have migrated meanwhile.
        # By set, not by maximum: a step merged later with a lower number still runs.
        done = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
        for version, step in MIGRATIONS:
            if version not in done:
                step(conn)
                conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (version, to_iso(utc_now())),
                )
    return schema_version(db)


# --- stored files ---------------------------------------------------------------------


def db_file(db: Database) -> Path:
    """The file behind an open database connection.

    Args:
        db: an open study database.
    """
    for _seq, name, file in db.conn.execute("PRAGMA database_list"):
        if name == "main":
            return Path(file)
    raise RuntimeError("The connection has no main database")


def storage_ref(db: Database, path: Path) -> str:
    """How a stored case file is recorded: relative to the database folder when it is
    inside it (so ``data/`` can be moved as a whole), absolute otherwise.

    Args:
        db: an open study database.
        path: absolute path of a stored file.
    """
    base = db_file(db).resolve().parent
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(path.resolve())


def resolve_storage_ref(db: Database, ref: str) -> Path:
    """Inverse of :func:`storage_ref`.

    Args:
        db: an open study database.
        ref: the value stored in ``cases.stored_path``.
    """
    path = Path(ref)
    return path if path.is_absolute() else db_file(db).resolve().parent / path
