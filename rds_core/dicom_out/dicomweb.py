"""A PACS over DICOMweb: find a study's radiographs (QIDO-RS), fetch them (WADO-RS), store results (STOW-RS)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pydicom
from pydicom.dataset import Dataset

from rds_core.dicom_out.identity import MANUFACTURER
from rds_core.errors import RdsError
from rds_core.imaging.dicom import CAPTURE_MODALITIES, RADIOGRAPH_MODALITIES

__all__ = ["PacsError", "RemoteFilm", "Pacs"]

# QIDO-RS returns DICOM JSON keyed by tag; these are the ones a study listing needs.
_SERIES_UID, _SOP_UID, _MODALITY = "0020000E", "00080018", "00080060"


T = TypeVar("T")


class PacsError(RdsError):
    """The PACS could not be reached or refused a request."""


@dataclass(frozen=True)
class RemoteFilm:
    """One radiograph of the study, fetched as Part 10 bytes."""

    series_uid: str
    sop_uid: str
    data: bytes
    label: str
    """How messages name it: "Series 3 image 1" as a viewer shows it, not by its UID."""


def _value(item: dict[str, dict], tag: str) -> str:
    values = item.get(tag, {}).get("Value") or [""]
    return str(values[0])


class Pacs:
    """A DICOMweb service (e.g. Orthanc's plugin at ``http://host:8042/dicom-web``).

    Args:
        url: DICOMweb root URL.
        timeout: seconds per request.
    """

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        from dicomweb_client.api import DICOMwebClient

        self.url = url
        self._client = DICOMwebClient(url, timeout=timeout)

    def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one DICOMweb request; any failure becomes a `PacsError` sentence naming `what` failed."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - requests, HTTP and parse errors all mean the same to the user
            detail = str(exc).replace("\n", " ")
            raise PacsError(f"the PACS at {self.url} could not {what} ({type(exc).__name__}: {detail})") from exc

    def radiographs(self, study_uid: str) -> list[RemoteFilm]:
        """Every CR/DX (and grey SC/OT capture) instance of the study, fetched.

        Raises:
            PacsError: the study cannot be listed or an instance cannot be fetched.
        """
        found = self._call("list the study", self._client.search_for_instances, study_instance_uid=study_uid,
                           fields=["Modality"], get_remaining=True)
        wanted = RADIOGRAPH_MODALITIES | CAPTURE_MODALITIES
        films = []
        for item in found:
            if _value(item, _MODALITY).upper() not in wanted:
                continue  # earlier results (SEG, SR) and other modalities of the study
            series_uid, sop_uid = _value(item, _SERIES_UID), _value(item, _SOP_UID)
            ds = self._call("send an image", self._client.retrieve_instance, study_uid, series_uid, sop_uid)
            if str(ds.get("Manufacturer", "")) == MANUFACTURER:
                continue  # our own secondary capture (modality OT) from an earlier run
            buffer = io.BytesIO()
            pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
            series, image = ds.get("SeriesNumber"), ds.get("InstanceNumber")
            label = f"Series {series} image {image}" if series is not None and image is not None else "An image"
            films.append(RemoteFilm(series_uid, sop_uid, buffer.getvalue(), label))
        return films

    def store(self, datasets: list[Dataset]) -> None:
        """Store result objects in the PACS (STOW-RS).

        Raises:
            PacsError: the PACS refused or could not be reached.
        """
        if datasets:
            self._call("store the results", self._client.store_instances, datasets)
