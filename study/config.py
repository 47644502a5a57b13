"""Where the study keeps its files, and the environment variables that move them.

Defaults live under the repository's ``data/`` folder (git-ignored): the database in
``data/study.sqlite`` and imported case files in ``data/cases/``. Deployments override
them with ``RDS_STUDY_DB`` and ``RDS_STUDY_CASES``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "REPO_ROOT",
    "DB_ENV",
    "CASES_ENV",
    "BUSY_TIMEOUT_S",
    "DEFAULT_WASHOUT_DAYS",
    "db_path",
    "case_storage_dir",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DB_ENV = "RDS_STUDY_DB"
CASES_ENV = "RDS_STUDY_CASES"

# Long enough that 30+ concurrent writers queue instead of failing with
# "database is locked"; each write transaction holds the lock for milliseconds.
BUSY_TIMEOUT_S = 10.0

# Four weeks is the usual memory washout between reading sessions in MRMC
# crossover studies (readers should not recall their first read of a film).
DEFAULT_WASHOUT_DAYS = 28.0


def db_path(path: str | Path | None = None) -> Path:
    """The study database file to use.

    Args:
        path: explicit path; wins over the environment.

    Returns:
        ``path`` if given, else ``$RDS_STUDY_DB``, else ``<repo>/data/study.sqlite``.
    """
    if path is not None:
        return Path(path)
    env = os.environ.get(DB_ENV, "").strip()
    return Path(env) if env else REPO_ROOT / "data" / "study.sqlite"


def case_storage_dir(path: str | Path | None = None) -> Path:
    """The folder that holds imported (de-identified, renamed) case files.

    Args:
        path: explicit folder; wins over the environment.

    Returns:
        ``path`` if given, else ``$RDS_STUDY_CASES``, else ``<repo>/data/cases``.
    """
    if path is not None:
        return Path(path)
    env = os.environ.get(CASES_ENV, "").strip()
    return Path(env) if env else REPO_ROOT / "data" / "cases"
