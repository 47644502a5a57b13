"""Build and write the four result objects of one analysed DICOM film."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from rds_core.dicom_out.capture import overlay_capture
from rds_core.dicom_out.identity import Producer
from rds_core.dicom_out.report import measurement_report
from rds_core.dicom_out.segmentation import heatmap_segmentation, lung_segmentation
from rds_core.errors import RdsError
from rds_core.imaging import sniff_format
from rds_core.pipeline import Analysis

__all__ = ["OUTPUT_SUFFIXES", "DicomOutputError", "read_source", "build_results", "write_results"]

OUTPUT_SUFFIXES = (".seg.dcm", ".heatmap.dcm", ".sr.dcm", ".sc.dcm")
_REQUIRED = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID", "Rows", "Columns")


class DicomOutputError(RdsError):
    """The DICOM results cannot be made for this input (e.g. it is not DICOM or lacks its identifiers)."""


def read_source(data: bytes, name: str) -> Dataset:
    """The source film's header, without pixel data, checked for what a result must reference.

    Args:
        data: bytes of the DICOM file that was analysed.
        name: file name for messages.

    Raises:
        DicomOutputError: not DICOM, or no study / series / instance identifiers (old ACR-NEMA files).
    """
    if sniff_format(data) != "dicom":
        raise DicomOutputError(f"{name} is not a DICOM file, so no DICOM results were written for it.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
        except Exception as exc:  # noqa: BLE001 - any parse failure means: no DICOM results
            raise DicomOutputError(f"{name} is not a readable DICOM file, so no DICOM results were written.") from exc
        _sanitise(ds)  # values are converted (and validated, with warnings) when first read
    missing = [keyword for keyword in _REQUIRED if keyword not in ds]
    if missing:
        raise DicomOutputError(
            f"{name} has no {missing[0]} in its header (an old or stripped export), so DICOM results that point "
            "back to it cannot be made; the other results were written."
        )
    return ds


_DATE_TYPES = {"DA": DA, "TM": TM, "DT": DT}
_MAX_LENGTH = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "ST": 1024}  # PS3.5 Table 6.2-1
# Type 2 attributes of the Patient and General Study modules that highdicom copies and expects present.
_TYPE_2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
           "ReferringPhysicianName", "StudyID", "AccessionNumber")


def _sanitise(ds: Dataset) -> None:
    """Make a real-world header copyable: blank unparsable dates, cut over-long strings, drop zero spacings,
    add missing type 2 attributes empty.

    Real exports carry hashed dates and 56-character accession numbers; highdicom copies the patient and
    study modules and would fail or write an invalid object. Every change only removes information, so a
    result never holds more patient data than its source.
    """
    for element in ds:
        if not element.value or element.VM != 1:
            continue
        convert, limit = _DATE_TYPES.get(element.VR), _MAX_LENGTH.get(element.VR)
        if convert is not None:
            try:
                convert(str(element.value))
            except ValueError:
                element.value = ""
        elif limit is not None and len(str(element.value)) > limit:
            element.value = str(element.value)[:limit].rstrip()
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        values = ds.get(keyword)
        try:
            bad = values is not None and not all(float(v) > 0 for v in values)
        except (TypeError, ValueError):
            bad = True
        if bad:
            delattr(ds, keyword)  # 0\0 (unknown) is not a spacing a result may claim
    for keyword in _TYPE_2:
        if keyword not in ds:
            setattr(ds, keyword, "")


def build_results(source: Dataset, analysis: Analysis) -> dict[str, Dataset]:
    """The result objects by file suffix: lung SEG, heatmap SEG (when heatmaps were made), SR, SC.

    Args:
        source: header from :func:`read_source`.
        analysis: the analysis of that film.
    """
    producer = Producer.of(analysis)
    with warnings.catch_warnings():  # highdicom's notes on the source's names and values are not for the user
        warnings.simplefilter("ignore")
        try:
            results: dict[str, Dataset] = {".seg.dcm": lung_segmentation(source, analysis.lung_mask, producer)}
            if analysis.cams is not None:
                results[".heatmap.dcm"] = heatmap_segmentation(source, analysis.cams.fused, producer)
            results[".sr.dcm"] = measurement_report(source, analysis, producer)
            results[".sc.dcm"] = overlay_capture(source, analysis, producer)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # highdicom validates the copied header
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DicomOutputError(
                f"{analysis.radiograph.source} has a header value the DICOM results cannot copy ({detail}), so no "
                "DICOM results were written for it; the other results were."
            ) from exc
    return results


def write_results(source: Dataset, analysis: Analysis, out_dir: Path, stem: str) -> list[Path]:
    """Write ``<stem>.seg.dcm``, ``<stem>.heatmap.dcm``, ``<stem>.sr.dcm`` and ``<stem>.sc.dcm``.

    Args:
        source: header from :func:`read_source`.
        analysis: the analysis of that film.
        out_dir: output folder (created if needed).
        stem: file name stem of the input.

    Returns:
        The paths written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, dataset in build_results(source, analysis).items():
        path = out_dir / f"{stem}{suffix}"
        dataset.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths
