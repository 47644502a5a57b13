"""Reader-study domain: cases, readers, protocol and answers in one SQLite file.

No Streamlit here: ``pages/`` renders, this package decides. The package import is kept
light (no numpy, pandas or pydicom) because every reader process and every worker of
the concurrency test imports it; heavy modules (``study.cases``, ``study.deid``) are
imported only by the code that needs them.

Modules:
    config    paths and environment variables
    db        connection settings, schema and migrations
    security  reader access codes (hashed) and reader profiles
    throttle  sign-in rate limits shared across sessions, and the login audit
    records   the dataclasses pages receive (admin-facing and reader-facing)
    admin     create studies and readers, progress per reader, export answers
    plan      queries over a reader's reading plan (progress, washout)
    protocol  the state machine of a read: next task, first view, answer
    cases     case-set import with de-identification and precomputed AI hints
    hints     AI hints from the rds_core packs, for case import
    display   window/level and zoom of a film for the reader page
    demo      the demo study from samples/ (``python -m study demo-setup``)
    deid      DICOM PS3.15 Annex E basic-profile de-identification
    analysis  metrics and MRMC analysis of exported answers (its own package)
"""

from __future__ import annotations

__all__ = ["StudyError"]


class StudyError(Exception):
    """Base class of reader-study errors; ``str(err)`` is a sentence a person understands."""
