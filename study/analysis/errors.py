"""Typed errors raised at the boundary of `study.analysis`.

Every error carries one sentence a person understands (``str(err)``); the CLI prints that
sentence on stderr and never a traceback.
"""

from __future__ import annotations

from study import StudyError

__all__ = ["AnalysisError", "ReadTableError"]


class AnalysisError(StudyError, ValueError):
    """Base class of all errors of the analysis package meant to be shown to a person."""


class ReadTableError(AnalysisError):
    """The table of reads cannot be analysed as it is (missing columns, bad values, design gaps)."""
