"""DICOM results for a PACS: lung SEG, heatmap SEG, TID 1500 report, secondary capture (issue 12).

Every object is built with highdicom from the analysed film's own DICOM header, so it references the
source study, series and SOP instance and copies only the patient and study attributes the source holds.
"""

from __future__ import annotations

from rds_core.dicom_out.writer import OUTPUT_SUFFIXES, DicomOutputError, build_results, read_source, write_results

__all__ = ["OUTPUT_SUFFIXES", "DicomOutputError", "build_results", "read_source", "write_results"]
