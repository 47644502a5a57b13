"""De-identification against PS3.15 Table E.1-1: a planted-PHI file with every row of the table.

Every attribute of the Basic Profile table is planted with an identifying value, plus private
tags, curve/overlay groups, private File Meta information and a preamble that spells a name.
After :func:`study.deid.deidentify` each row must have had its action, and no planted value
may survive anywhere in the file's bytes.
"""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian

from study.deid import (
    BASIC_PROFILE,
    MASKED_REMOVALS,
    MAX_DEPTH,
    DeidentificationError,
    UidMapper,
    burned_in_annotation,
    deidentify,
)

SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1"  # CR Image Storage
NAME = "Doe^Jane"


def _vr(tag) -> str:
    try:
        return dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return "LO"  # (0000,1001) and other command-group rows


def _planted(tag, n: int):
    """(VR, value) of a planted identifying value for ``tag``; marker text is PHI<n>X."""
    vr = _vr(tag)
    marker = f"PHI{n:04d}X"
    return vr, {
        "AE": marker, "AS": "002D", "CS": marker, "DA": "20240105", "DS": "12.5", "DT": "20240105031500",
        "IS": "77", "LO": marker, "LT": marker, "PN": f"{NAME}{n}", "SH": marker, "ST": marker,
        "TM": "031500", "UC": marker, "UR": f"http://{marker}.example", "UT": marker,
        "UI": f"1.2.826.0.1.3680043.99.{n}", "US": 4242, "SS": 4242, "UL": 4242, "SL": 4242,
        "FL": 42.5, "FD": 42.5, "UV": 4242, "SV": 4242, "AT": Tag(0x0010, 0x0010),
        "OB": marker.encode(), "OW": marker.encode(), "OF": marker.encode(), "OD": marker.encode() * 2,
        "OL": marker.encode(), "OV": marker.encode(), "UN": marker.encode(),
    }.get(vr, marker)


def _phi_item(n: int) -> Dataset:
    item = Dataset()
    item.PatientName = f"{NAME}{n}"
    item.InstitutionName = f"PHI{n:04d}X"
    item.CodeValue = "R-10206"  # a code identifies nobody: kept
    return item


def planted_file(study_uid: str = "1.2.826.0.1.3680043.99.999999") -> tuple[bytes, dict]:
    """A CR file carrying every Table E.1-1 attribute with a planted value; also returns the plan."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.99.888888"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "HOSPITAL_PACS"
    meta.PrivateInformationCreatorUID = "1.2.826.0.1.3680043.99.777777"
    meta.PrivateInformation = b"Jane Doe 19990101"
    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"Jane Doe, born 1999-01-01".ljust(128, b"\0")
    planted = {}
    for n, tag in enumerate(sorted(BASIC_PROFILE)):
        if tag.group in (0x0000, 0x0002) or tag == Tag(0x7FE0, 0x0010):
            continue  # command group and file meta: not part of a stored dataset body
        vr, value = _planted(tag, n)
        if vr == "SQ":
            value = DicomSequence([_phi_item(n)])
        ds.add_new(tag, vr, value)
        planted[tag] = (vr, value)
    ds.SOPClassUID = SOP_CLASS
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.Modality = "CR"
    ds.BurnedInAnnotation = "NO"
    ds.add_new(0x50000010, "US", 7)                      # curve (50xx)
    ds.add_new(0x60004000, "LT", "Overlay: Jane Doe")    # overlay comments (60xx)
    block = ds.private_block(0x0011, "ACME PACS", create=True)
    block.add_new(0x01, "LO", "Jane Doe private copy")
    ds.set_pixel_data(np.zeros((16, 16), np.uint16), "MONOCHROME2", 12)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue(), planted


@pytest.fixture(scope="module")
def result():
    data, planted = planted_file()
    clean = deidentify(data, UidMapper(b"k" * 32))
    return data, planted, clean, pydicom.dcmread(io.BytesIO(clean))


def test_the_table_is_the_standards_not_a_hand_picked_list() -> None:
    assert len(BASIC_PROFILE) > 600  # Table E.1-1 has about 650 rows; the old hand list had 250
    for keyword, action in [("PatientName", "Z"), ("PatientTelecomInformation", "X"),
                            ("ClinicalTrialSubjectID", "D"), ("ClinicalTrialSiteName", "Z"),
                            ("DeviceDescription", "X"), ("IssuerOfPatientID", "X"),
                            ("StudyInstanceUID", "U"), ("InstitutionName", "Z")]:
        assert BASIC_PROFILE[Tag(keyword)] == action, keyword
    assert (0x5000, 0x0000, 0xFF00, 0x0000) in MASKED_REMOVALS


def test_every_row_of_the_table_gets_its_action(result) -> None:
    _data, planted, _clean, ds = result
    wrong = []
    for tag, (vr, value) in planted.items():
        action = BASIC_PROFILE[tag]
        elem = ds.get(tag)
        if action == "X":
            ok = elem is None
        elif action == "Z":
            ok = elem is None or elem.is_empty or (vr == "SQ" and len(elem.value) == 0)
        elif action == "D":
            ok = elem is not None and str(value) not in str(elem.value) and "PHI" not in str(elem.value)
        elif action == "U":
            ok = elem is not None and str(elem.value) != str(value) and str(elem.value).startswith("2.25.")
        else:  # X/Z/U*: the sequence may stay, but nothing identifying inside it
            ok = elem is None or all("PHI" not in str(item) and NAME not in str(item) for item in elem.value)
        if not ok:
            wrong.append((str(tag), action, vr, None if elem is None else str(elem.value)[:40]))
    assert wrong == []
    assert len(planted) > 600


def test_no_planted_value_survives_anywhere_in_the_bytes(result) -> None:
    _data, _planted, clean, ds = result
    for secret in (b"PHI", b"Jane", b"Doe", b"20240105", b"031500", b"1.2.826.0.1.3680043.99",
                   b"HOSPITAL_PACS", b"1999", b"ACME"):
        assert secret not in clean, secret
    assert clean[:128] == b"\0" * 128  # preamble zeroed
    assert "PrivateInformation" not in ds.file_meta and "PrivateInformationCreatorUID" not in ds.file_meta
    assert "SourceApplicationEntityTitle" not in ds.file_meta
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert not any(elem.tag.is_private for elem in ds)
    assert not any(0x5000 <= elem.tag.group <= 0x60FF and elem.tag.group >> 8 in (0x50, 0x60) for elem in ds)
    assert ds.PatientIdentityRemoved == "YES" and "dates removed" in ds.DeidentificationMethod
    assert ds.SOPClassUID == SOP_CLASS  # a standard UID identifies nobody and stays


def test_uids_are_replaced_consistently_within_a_study() -> None:
    uids = UidMapper()
    first = pydicom.dcmread(io.BytesIO(deidentify(planted_file("1.2.3.4.5")[0], uids)))
    second = pydicom.dcmread(io.BytesIO(deidentify(planted_file("1.2.3.4.5")[0], uids)))
    other = pydicom.dcmread(io.BytesIO(deidentify(planted_file("1.2.3.4.5")[0], UidMapper())))
    assert first.StudyInstanceUID == second.StudyInstanceUID != other.StudyInstanceUID


def test_deep_nesting_is_refused_with_a_sentence_not_a_recursion_error() -> None:
    data, _ = planted_file()
    # Referenced Image Sequence (0008,1140) is kept (X/Z/U*), so its items are walked.
    sq, item = b"\x08\x00\x40\x11SQ\0\0\xff\xff\xff\xff", b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    end = b"\xfe\xff\x0d\xe0\0\0\0\0" + b"\xfe\xff\xdd\xe0\0\0\0\0"
    for depth in (MAX_DEPTH + 2, 5000):
        with pytest.raises(DeidentificationError, match="nests sequences more than"):
            deidentify(data + (sq + item) * depth + end * depth)


def test_a_malformed_vr_gets_a_clear_message() -> None:
    data, _ = planted_file()
    bad = data + b"\xf1\x7f\x10\x00ZZ\x04\x00abcd"  # an unknown VR "ZZ"
    with pytest.raises(DeidentificationError, match="value representation|could not be read"):
        deidentify(bad)


@pytest.mark.parametrize(("value", "sop_class", "expected"), [
    ("YES", SOP_CLASS, True), ("NO", SOP_CLASS, False), (None, SOP_CLASS, False),
    (None, "1.2.840.10008.5.1.4.1.1.7", None), (None, "1.2.840.10008.5.1.4.1.1.7.2", None),
    ("NO", "1.2.840.10008.5.1.4.1.1.7", False),
])
def test_burned_in_annotation_yes_or_unknown_for_secondary_capture(value, sop_class, expected) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.3"
    if value is not None:
        ds.BurnedInAnnotation = value
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    assert burned_in_annotation(out.getvalue()) is expected
