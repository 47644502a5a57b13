"""Strict reading of labels and patient ids from the team's tables.

A label cell is read as RDS (1) or non-RDS (0) only when it is unambiguous: ``1``/``0``,
``1.0``/``0.0``, ``true``/``false`` or ``RDS``/``non-RDS`` (any case, surrounding spaces
ignored). Anything else rejects that row with a reason, never silently counted as RDS.
The patient of a film comes from a table column, else the DICOM header (``PatientID``,
then ``OtherPatientIDs``), else the file name; the caller is told which.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

__all__ = ["POSITIVE", "NEGATIVE", "parse_label", "parse_flag", "class_counts", "dicom_patient_id", "patient_of", "PatientSource"]

POSITIVE = frozenset({"1", "1.0", "true", "rds"})
NEGATIVE = frozenset({"0", "0.0", "false", "non-rds"})
_FLAG_POSITIVE = frozenset({"1", "1.0", "true"})
_FLAG_NEGATIVE = frozenset({"0", "0.0", "false"})

#: Where a patient id came from, as printed to the user.
PatientSource = str  # "column", "dicom" or "file name"


def parse_label(value: object, *, positive: Iterable[str] = (), negative: Iterable[str] = ()) -> int | None:
    """1 for an RDS cell, 0 for a non-RDS cell, None when the cell is not a clear label.

    Args:
        value: the raw cell (string, number, bool or missing).
        positive: extra values meaning positive (case-insensitive), e.g. ``pneumonia``.
        negative: extra values meaning negative (case-insensitive), e.g. ``normal``.

    >>> [parse_label(v) for v in ("1", "0.0", "TRUE", " RDS ", "non-rds", "2", "", "yes")]
    [1, 0, 1, 1, 0, None, None, None]
    """
    text = _text(value)
    if text in POSITIVE or text in {p.strip().lower() for p in positive}:
        return 1
    if text in NEGATIVE or text in {n.strip().lower() for n in negative}:
        return 0
    return None


def parse_flag(value: object) -> int | None:
    """1/0 for a yes/no column such as ``exist_json`` (1, 0, 1.0, 0.0, true, false), else None."""
    text = _text(value)
    return 1 if text in _FLAG_POSITIVE else 0 if text in _FLAG_NEGATIVE else None


def class_counts(labels: Iterable[int], class_names: tuple[str, str] = ("non-RDS", "RDS")) -> str:
    """One line such as ``non-RDS 12, RDS 9``; raise ValueError when a class is missing.

    Training (and cross-validated AUC) needs both classes; a table with one class is
    almost always a mis-read label column, so it is refused rather than trained on.
    """
    counts = Counter(int(v) for v in labels)
    line = f"{class_names[0]} {counts.get(0, 0)}, {class_names[1]} {counts.get(1, 0)}"
    if counts.get(0, 0) == 0 or counts.get(1, 0) == 0:
        raise ValueError(f"The table has only one class ({line}); check the label column and its values.")
    return line


def dicom_patient_id(path: Path) -> str:
    """The DICOM ``PatientID`` (else the first ``OtherPatientIDs``) of a file, or ``""``.

    Reads only the header; a non-DICOM or unreadable file gives ``""`` (the caller then
    falls back to the file name).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
        if head[128:132] != b"DICM":
            return ""
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["PatientID", "OtherPatientIDs"])
    except Exception:  # noqa: BLE001 - the header is optional here; the film is read (and judged) later
        return ""
    patient = str(ds.get("PatientID", "") or "").strip()
    if patient:
        return patient
    others = ds.get("OtherPatientIDs", "")
    if others and not isinstance(others, str):
        others = next(iter(others), "")
    return str(others or "").strip()


def patient_of(column_value: object, image_path: Path, filepath: str) -> tuple[str, PatientSource]:
    """(patient id, where it came from): the column, else the DICOM header, else the file stem."""
    text = "" if column_value is None else str(column_value).strip()
    if text and text.lower() != "nan":
        return text, "column"
    from_header = dicom_patient_id(image_path)
    if from_header:
        return from_header, "dicom"
    return PurePosixPath(filepath.replace("\\", "/")).stem, "file name"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip().lower()
