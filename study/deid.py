"""De-identify DICOM files with the Basic Application Level Confidentiality Profile.

DICOM PS3.15 Annex E, Table E.1-1, "Basic Profile" column. The table itself is not
typed by hand here: it is the machine-generated copy of the standard's table shipped by
``dicom-anonymizer`` (KitwareMedical, BSD-3; module ``dicomfields_2026c``, generated from
the standard's published tables), read as data at import. Its action codes:

* ``X`` remove; ``Z`` zero-length value; ``D`` dummy value consistent with the VR;
  ``U`` replace a UID with a new one, consistently (the same original UID always maps to
  the same new UID within one :class:`UidMapper`, so the files of one study stay linked
  to each other and to nothing else).
* Where the table allows a choice the emptier one that keeps the attribute present is
  used: ``X/Z`` -> Z, ``Z/D`` -> Z, ``X/Z/D`` -> Z, ``X/D`` -> X; ``X/Z/U*`` (Referenced /
  Source Image Sequence) keeps the sequence and replaces the UIDs inside it.
* Private attributes, curve (50xx) and overlay (60xx) groups are removed.

Stricter than the table, so that attributes added to the standard later cannot leak:
every attribute of the patient group (0010) not listed is removed; every remaining
date, time and date-time (DA/DT/TM) and person name (PN) is emptied; every remaining UID
that is not a UID defined by the standard (SOP classes, transfer syntaxes, coding
schemes) is replaced; every attribute of unknown VR (UN) is removed. All of it at any
depth of nesting, walked with an explicit stack (no recursion); files nested deeper
than :data:`MAX_DEPTH` levels are refused with a clear message.

Dates are **removed**, not shifted: emptied, or, where the table says ``D``, set to the
fixed dummy 1900-01-01 00:00. No original date or interval survives.

The file is rebuilt: the 128-byte preamble is zeroed and the File Meta Information is
written anew (only SOP class, new SOP instance UID, transfer syntax and this software's
implementation UID), so private meta information (0002,0100)/(0002,0102) and AE titles
are gone. Recorded: Patient Identity Removed (0012,0062) = YES, De-identification Method
(0012,0063) and its code sequence (DCM 113100, Basic Application Confidentiality Profile).

Pixel data are not altered, so burned-in text cannot be removed here: callers refuse
films whose Burned In Annotation is YES, or unknown for secondary capture (see
:func:`burned_in_annotation`), unless a person has checked the pixels.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable

import pydicom
from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as _table
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID_dictionary

from study import StudyError

__all__ = [
    "BASIC_PROFILE",
    "MASKED_REMOVALS",
    "MAX_DEPTH",
    "DeidentificationError",
    "UidMapper",
    "deidentify",
    "deidentify_dataset",
    "burned_in_annotation",
]

MAX_DEPTH = 32  # sequence nesting a radiograph never needs; deeper files are refused


class DeidentificationError(StudyError):
    """The file cannot be parsed as DICOM, so it cannot be de-identified."""


# Table category -> the action used here (choices resolved as the module docstring says).
_CATEGORY_ACTION = {
    "D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z",
    "X_Z_TAGS": "Z", "X_D_TAGS": "X", "X_Z_D_TAGS": "Z", "X_Z_U_STAR_TAGS": "KEEP_SQ",
}


def _load_table() -> tuple[dict[BaseTag, str], tuple[tuple[int, int, int, int], ...]]:
    exact: dict[BaseTag, str] = {}
    masked: list[tuple[int, int, int, int]] = []
    for category, action in _CATEGORY_ACTION.items():
        for entry in getattr(_table, category):
            if len(entry) == 4:  # (group, element, group mask, element mask): repeating groups
                masked.append(tuple(entry))
            else:
                exact[Tag(entry[0], entry[1])] = action
    if len(exact) < 600:  # a truncated table would leak PHI: fail loudly
        raise RuntimeError(f"The PS3.15 table has only {len(exact)} attributes; the package is broken.")
    return exact, tuple(masked)


#: Tag -> action for every attribute of Table E.1-1 (about 650 rows).
BASIC_PROFILE, MASKED_REMOVALS = _load_table()
_PATIENT_GROUP = 0x0010
_DUMMY_TEXT = "ANONYMIZED"
_DUMMY_BY_VR: dict[str, object] = {
    "DA": "19000101", "TM": "000000", "DT": "19000101000000", "AS": "000D",
    "SH": _DUMMY_TEXT, "CS": _DUMMY_TEXT, "AE": _DUMMY_TEXT, "LO": _DUMMY_TEXT, "LT": _DUMMY_TEXT,
    "ST": _DUMMY_TEXT, "UT": _DUMMY_TEXT, "UC": _DUMMY_TEXT, "PN": _DUMMY_TEXT, "UR": "",
    "IS": "0", "DS": "0", "US": 0, "SS": 0, "UL": 0, "SL": 0, "FL": 0.0, "FD": 0.0, "UV": 0, "SV": 0,
    "AT": None, "OB": b"", "OW": b"", "OF": b"", "OD": b"", "OL": b"", "OV": b"", "UN": b"\0\0",
}
_METHOD = "DICOM PS3.15 E.1 Basic Profile, dates removed (rds-study)"


class UidMapper:
    """Replace UIDs consistently: one original UID -> one new ``2.25.`` UID.

    New UIDs are derived with a keyed hash under a random per-mapper key, so the
    mapping cannot be reversed by hashing candidate UIDs (PS3.5 B.2 UUID-derived form).
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self._seen: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        """The replacement for ``uid`` (empty stays empty).

        Args:
            uid: an original UID.
        """
        uid = str(uid).strip().rstrip("\0")
        if not uid:
            return uid
        if uid not in self._seen:
            digest = hashlib.sha256(self._key + uid.encode()).digest()[:16]
            self._seen[uid] = f"2.25.{int.from_bytes(digest, 'big')}"
        return self._seen[uid]


def _masked(tag: BaseTag) -> bool:
    return any((tag.group & gm) == g and (tag.element & em) == e for g, e, gm, em in MASKED_REMOVALS)


def _replace_uids(elem, uids: Callable[[str], str], only_instances: bool) -> None:
    values = list(elem.value) if elem.VM > 1 else [elem.value]
    # A standard UID (a SOP class, a transfer syntax) identifies nobody and must stay.
    new = [v if (only_instances and str(v) in UID_dictionary) or not v else uids(v) for v in values]
    elem.value = new if elem.VM > 1 else new[0]


def _walk(root: Dataset, uids: Callable[[str], str]) -> None:
    """Apply the profile to ``root`` and every nested item, iteratively."""
    stack: list[tuple[Dataset, int]] = [(root, 0)]
    while stack:
        ds, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DeidentificationError(
                f"The file nests sequences more than {MAX_DEPTH} levels deep; it is refused.")
        for elem in list(ds):
            tag = elem.tag
            action = BASIC_PROFILE.get(tag)
            if tag.is_private or tag.group in range(0x5000, 0x5100) or tag.group in range(0x6000, 0x6100) \
                    or _masked(tag) or action == "X" \
                    or (action is None and (elem.VR == "UN" or tag.group == _PATIENT_GROUP)):
                del ds[tag]
            elif action == "Z" or (action == "D" and elem.VR == "SQ"):
                elem.value = DicomSequence() if elem.VR == "SQ" else None
            elif action == "D":
                elem.value = uids(str(elem.value)) if elem.VR == "UI" else _DUMMY_BY_VR.get(elem.VR)
            elif action == "U":
                _replace_uids(elem, uids, only_instances=False)
            elif elem.VR == "SQ":  # kept sequences (incl. X/Z/U*): their items go through the table
                stack.extend((item, depth + 1) for item in elem.value)
            elif elem.VR in ("DA", "DT", "TM", "PN"):
                elem.value = None
            elif elem.VR == "UI":
                _replace_uids(elem, uids, only_instances=True)


def deidentify_dataset(ds: Dataset, uids: UidMapper | None = None) -> Dataset:
    """De-identify a dataset in place, rebuild its file meta, and return it.

    Args:
        ds: a parsed DICOM dataset.
        uids: the UID mapper shared by the files of one import (consistent UIDs).

    Raises:
        DeidentificationError: sequences nested deeper than :data:`MAX_DEPTH`.
    """
    uids = uids or UidMapper()
    old_meta = getattr(ds, "file_meta", None)
    transfer_syntax = old_meta.get("TransferSyntaxUID") if old_meta is not None else None
    _walk(ds, uids)
    meta = FileMetaDataset()
    if "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if ds.get("SOPInstanceUID"):
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if transfer_syntax:
        meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta = meta
    ds.preamble = b"\0" * 128
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = _METHOD
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = DicomSequence([code])
    return ds


def deidentify(data: bytes, uids: UidMapper | None = None) -> bytes:
    """De-identify the bytes of a DICOM file.

    Args:
        data: the original file.
        uids: the UID mapper shared by the files of one import.

    Returns:
        The de-identified file (Part 10 format, same transfer syntax, same pixels).

    Raises:
        DeidentificationError: the bytes are not a readable DICOM file, or are nested
            too deeply to be handled safely.
    """
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        deidentify_dataset(ds, uids)
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
    except RecursionError:
        raise DeidentificationError(
            f"The file nests sequences more than {MAX_DEPTH} levels deep; it is refused.") from None
    except NotImplementedError as err:
        raise DeidentificationError(
            "The file has an element with an unknown or malformed value representation (VR), "
            f"so it cannot be de-identified safely ({err})."
        ) from err
    except (InvalidDicomError, EOFError, ValueError, KeyError, AttributeError, TypeError,
            OSError, OverflowError, IndexError) as err:
        raise DeidentificationError(
            f"The file could not be read as DICOM to remove identifying data ({err})."
        ) from err
    return out.getvalue()


# Secondary Capture Image Storage and its multi-frame variants (PS3.4 B.5).
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def burned_in_annotation(data: bytes) -> bool | None:
    """Whether a DICOM file has identifying text burned into its pixels.

    Args:
        data: a DICOM file (original or de-identified).

    Returns:
        True when Burned In Annotation (0028,0301) is YES; None when it is unknown and
        the film is a secondary capture (a photographed or scanned screen often carries
        text), or the header cannot be read; False otherwise.
    """
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        value = str(ds.get("BurnedInAnnotation", "")).strip().upper()
        sop_class = str(ds.get("SOPClassUID", ""))
    except (InvalidDicomError, EOFError, ValueError, OSError, RecursionError, NotImplementedError):
        return None
    if value == "YES":
        return True
    if value == "NO":
        return False
    return None if sop_class.startswith(_SECONDARY_CAPTURE) else False
