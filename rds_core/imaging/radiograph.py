"""The `Radiograph`: one decoded grey-scale film plus the metadata the pipeline needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Radiograph"]


@dataclass(frozen=True)
class Radiograph:
    """A single chest film, decoded and normalised for display and inference.

    Attributes:
        pixels: float32 array (height, width) in [0, 1]; 1 is bright (bone, opacity),
            i.e. MONOCHROME2 convention whatever the file stored.
        source: file name (no directory) or ``"<upload>"`` for bytes.
        file_format: ``"dicom"``, ``"png"`` or ``"jpeg"``.
        modality: DICOM modality (CR/DX/DR...) or None for raster images.
        photometric: photometric interpretation as stored (e.g. MONOCHROME1).
        bits_stored: bits per pixel as stored (8, 12, 16...).
        original_size: (height, width) in pixels as stored.
        pixel_spacing_mm: (row, column) spacing in mm, or None when unknown.
        spacing_kind: ``"calibrated"`` (PixelSpacing, at the patient) or ``"imager"``
            (ImagerPixelSpacing, at the detector), or None.
        patient_age: DICOM PatientAge string (e.g. ``"003D"``) when present.
        warnings: things a reader should know (e.g. "grey image stored as RGB").
    """

    pixels: np.ndarray
    source: str
    file_format: str
    modality: str | None = None
    photometric: str | None = None
    bits_stored: int | None = None
    original_size: tuple[int, int] = (0, 0)
    pixel_spacing_mm: tuple[float, float] | None = None
    spacing_kind: str | None = None
    patient_age: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])
