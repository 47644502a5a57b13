"""Which files a command line names: folders expanded to the films in them.

One home for the rule shared by ``python -m rds_core analyze`` and ``evaluate``.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["SUPPORTED_SUFFIXES", "expand_inputs"]

SUPPORTED_SUFFIXES = {".png", ".jpg", ".jpeg", ".dcm", ".dicom", ""}


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Expand folders (recursively) into files; keep explicit files as given.

    Files in a folder whose suffix is not a film's are left out with one note on stderr per
    folder: a folder of ``.j2k`` exports must not look like an empty folder.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            files.extend(p for p in found if p.suffix.lower() in SUPPORTED_SUFFIXES)
            skipped = sorted({p.suffix.lower() for p in found if p.suffix.lower() not in SUPPORTED_SUFFIXES})
            if skipped:
                count = sum(1 for p in found if p.suffix.lower() not in SUPPORTED_SUFFIXES)
                print(f"note: skipped {count} files in {path} whose names do not end in .png, .jpg, .jpeg, .dcm or "
                      f".dicom ({', '.join(skipped)}); rename them to include them.", file=sys.stderr)
        else:
            files.append(path)
    return files
