"""Decode one DICOM projection radiograph (CR/DX/DR) into a `Radiograph`.

Grey-scale pipeline of DICOM PS3.4 N.2 (Grayscale Standard Display pipeline), in order:
modality LUT (or rescale slope/intercept) -> VOI LUT (or window centre/width) -> presentation
(MONOCHROME1 and INVERSE shapes are inverted, once). The VOI output is mapped onto [0, 1]
from the VOI transform's own output range, so what lies outside the window is black or white
as the producer intended.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from rds_core.errors import (
    ColourImageError,
    CorruptFileError,
    MissingCodecError,
    MultiFrameError,
    NoPixelDataError,
    UnsupportedFormatError,
)
from rds_core.imaging.common import check_dimensions, to_unit_float32, who
from rds_core.imaging.radiograph import Radiograph

__all__ = ["VOLUME_MODALITIES", "RADIOGRAPH_MODALITIES", "load_dicom", "codec_package"]

VOLUME_MODALITIES = frozenset({"CT", "MR", "PT", "NM"})
"""Modalities whose single images are slices of a volume, never a projection radiograph."""

RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RG"})

# Tag (7FE0,0010) as written in little- and big-endian files: if it is in the bytes but pydicom
# kept no PixelData, the file ended inside the pixel data (pydicom only warns about that).
_PIXEL_DATA_TAGS = (b"\xe0\x7f\x10\x00", b"\x7f\xe0\x00\x10")

# Permissively licensed pip packages that give pydicom a decoder, by transfer-syntax UID prefix.
# python-gdcm (BSD) covers the JPEG lossless syntaxes that Pillow cannot decode.
_CODEC_PACKAGES = (
    ("1.2.840.10008.1.2.4.8", "pyjpegls"),  # JPEG-LS .80/.81
    ("1.2.840.10008.1.2.4.9", "pylibjpeg-openjpeg"),  # JPEG 2000 .90-.93
    ("1.2.840.10008.1.2.4.20", "pylibjpeg-openjpeg"),  # HTJ2K .201-.203
)
_DEFAULT_CODEC_PACKAGE = "python-gdcm"


def codec_package(transfer_syntax: str) -> str:
    """The pip package to suggest when no decoder for `transfer_syntax` is installed.

    Args:
        transfer_syntax: transfer syntax UID, e.g. ``"1.2.840.10008.1.2.4.81"``.
    """
    for prefix, package in _CODEC_PACKAGES:
        if transfer_syntax.startswith(prefix):
            return package
    return _DEFAULT_CODEC_PACKAGE


def load_dicom(data: bytes, name: str, *, max_pixels: int, min_side: int) -> Radiograph:
    """Decode a single-frame grey-scale DICOM image.

    Args:
        data: the whole file (with or without the 128-byte preamble).
        name: file name for messages and `Radiograph.source`.
        max_pixels: largest allowed ``Rows * Columns``, checked before decoding.
        min_side: smallest allowed side length.

    Raises:
        CorruptFileError, NoPixelDataError, MultiFrameError, ColourImageError,
        ImageTooLargeError, ImageTooSmallError, MissingCodecError, UnsupportedFormatError.
    """
    ds = _read_dataset(data, name)
    warnings: list[str] = []
    modality = str(ds.get("Modality") or "").strip().upper() or None
    photometric = _check_single_grey_image(ds, name, modality, warnings)
    rows, columns = _int_attr(ds, "Rows", name), _int_attr(ds, "Columns", name)
    check_dimensions(rows, columns, name, max_pixels=max_pixels, min_side=min_side)
    _ensure_transfer_syntax(ds)
    _check_decoder(ds.file_meta.TransferSyntaxUID, name)

    try:
        stored = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the bytes cannot be used
        syntax = ds.file_meta.TransferSyntaxUID
        raise CorruptFileError(
            f"{who(name)} could not be decoded ({syntax.name}), so it is damaged, incomplete or unusually encoded; "
            "export or copy it again, uncompressed if possible."
        ) from exc
    pixels = _to_display(stored, ds, warnings)
    if photometric == "MONOCHROME1" or str(ds.get("PresentationLUTShape", "")).strip().upper() == "INVERSE":
        # DX requires INVERSE together with MONOCHROME1: both describe the same single inversion.
        np.subtract(1.0, pixels, out=pixels)

    spacing, spacing_kind = _pixel_spacing(ds)
    age = str(ds.get("PatientAge") or "").strip() or None
    bits = ds.get("BitsStored")
    return Radiograph(
        pixels=pixels,
        source=name,
        file_format="dicom",
        modality=modality,
        photometric=photometric,
        bits_stored=int(bits) if bits is not None else None,
        original_size=(rows, columns),
        pixel_spacing_mm=spacing,
        spacing_kind=spacing_kind,
        patient_age=age,
        warnings=tuple(warnings),
    )


def _read_dataset(data: bytes, name: str) -> Dataset:
    """Parse the file; `force` also reads ACR-NEMA style files that have no preamble."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on damaged bytes
        raise CorruptFileError(
            f"{who(name)} looks like DICOM but its header cannot be read; export or copy the file again."
        ) from exc
    if len(ds) == 0 or ("PixelData" not in ds and any(tag in data for tag in _PIXEL_DATA_TAGS)):
        raise CorruptFileError(
            f"{who(name)} is an incomplete DICOM file (it ends early); copy or export the file again."
        )
    if "PixelData" not in ds:
        kind = UID(str(ds.SOPClassUID)).name if "SOPClassUID" in ds else "no image"
        raise NoPixelDataError(
            f"{who(name)} is a DICOM file without an image ({kind}); choose the image file of the study instead."
        )
    return ds


def _check_single_grey_image(ds: Dataset, name: str, modality: str | None, warnings: list[str]) -> str:
    """Refuse volumes, cine and colour; return the photometric interpretation."""
    if modality in VOLUME_MODALITIES:
        raise MultiFrameError(
            f"{who(name)} is a {modality} image, which looks like a CT/MR series, not a chest radiograph; "
            "choose a CR or DX chest X-ray instead."
        )
    frames = _int_attr(ds, "NumberOfFrames", name, default=1)
    if frames > 1:
        raise MultiFrameError(
            f"{who(name)} holds {frames} frames, which looks like a CT/MR series or a cine loop, not a chest "
            "radiograph; choose a single CR or DX image."
        )
    samples = _int_attr(ds, "SamplesPerPixel", name, default=1)
    photometric = str(ds.get("PhotometricInterpretation") or "").strip().upper()
    if samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2", ""):
        raise ColourImageError(
            f"{who(name)} is a colour DICOM image ({photometric or 'unknown photometric'}), not a grey-scale "
            "radiograph; choose the original CR or DX image."
        )
    if not photometric:
        # Old ACR-NEMA files may omit it; MONOCHROME2 is the default reading of grey pixels.
        photometric = "MONOCHROME2"
        ds.PhotometricInterpretation = photometric
        warnings.append("The file does not say how grey values map to brightness; MONOCHROME2 was assumed.")
    if modality is not None and modality not in RADIOGRAPH_MODALITIES:
        warnings.append(f"The DICOM modality is {modality}, not CR or DX; check that this is a chest X-ray.")
    return photometric


def _int_attr(ds: Dataset, keyword: str, name: str, default: int | None = None) -> int:
    value = ds.get(keyword, default)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise CorruptFileError(
            f"{who(name)} has a missing or invalid {keyword} in its DICOM header; export the image again."
        ) from exc


def _ensure_transfer_syntax(ds: Dataset) -> None:
    """Give files without file meta (ACR-NEMA style) the transfer syntax pydicom parsed them with."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    if "TransferSyntaxUID" in meta:
        return
    implicit, little = ds.original_encoding
    if implicit is False:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian
    else:
        meta.TransferSyntaxUID = ImplicitVRLittleEndian


def _check_decoder(transfer_syntax: UID, name: str) -> None:
    """Fail before decoding when no installed plugin can decode this transfer syntax."""
    if not transfer_syntax.is_transfer_syntax:
        raise UnsupportedFormatError(
            f"{who(name)} uses the unknown DICOM transfer syntax {transfer_syntax}; export it as standard "
            "uncompressed DICOM."
        )
    if not transfer_syntax.is_compressed:
        return
    try:
        available = get_decoder(transfer_syntax).is_available
    except NotImplementedError:
        available = False
    if not available:
        package = codec_package(str(transfer_syntax))
        raise MissingCodecError(
            f"{who(name)} is compressed as {transfer_syntax.name} and no decoder for it is installed; "
            f"run `pip install {package}` or export the image uncompressed."
        )


def _to_display(stored: np.ndarray, ds: Dataset, warnings: list[str]) -> np.ndarray:
    """Modality LUT, then VOI LUT or window, then [0, 1] float32 (not yet inverted)."""
    modality_values = apply_modality_lut(stored, ds)
    probe = _voi_probe(ds)
    voi_range = _voi_output_range(ds, probe) if probe is not None else None
    if voi_range is None:
        if probe is not None:
            warnings.append("The window stored in the file is invalid and was ignored.")
        # No display intent in the file: stretch the actual value range.
        low, high = float(modality_values.min()), float(modality_values.max())
        return to_unit_float32(modality_values, low, high)
    return to_unit_float32(apply_voi_lut(modality_values, ds), *voi_range)


def _voi_probe(ds: Dataset) -> np.ndarray | None:
    """Inputs that reach the whole output range of the VOI transform `apply_voi_lut` will apply.

    Mirrors pydicom's choice: a complete VOI LUT wins over a window. For a LUT, every entry;
    for a window, inputs far below and above it. None when the file has no usable VOI.
    """
    items = ds.get("VOILUTSequence")
    if items and items[0].get("LUTDescriptor") is not None and items[0].get("LUTData") is not None:
        try:
            entries, first, _ = (int(v) for v in items[0].LUTDescriptor)
        except (TypeError, ValueError):
            return None
        return np.arange(first, first + (entries or 2**16), dtype=np.int64)
    if ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        return np.array([-1e30, 1e30])
    return None


def _voi_output_range(ds: Dataset, probe: np.ndarray) -> tuple[float, float] | None:
    """Floor and ceiling of the VOI output, probed through `apply_voi_lut` so they always match it."""
    try:
        with np.errstate(over="ignore"):  # a SIGMOID window overflows exp() at the probe's extremes
            out = apply_voi_lut(probe, ds)
    except (ValueError, TypeError, NotImplementedError, AttributeError, IndexError):
        return None
    low, high = float(np.min(out)), float(np.max(out))
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return None
    return low, high


def _pixel_spacing(ds: Dataset) -> tuple[tuple[float, float] | None, str | None]:
    """PixelSpacing (calibrated at the patient) first, else ImagerPixelSpacing (at the detector).

    Zero or missing values (some CR writers store ``0\\0``) count as unknown.
    """
    for keyword, kind in (("PixelSpacing", "calibrated"), ("ImagerPixelSpacing", "imager")):
        value = ds.get(keyword)
        try:
            row, column = (float(v) for v in value)
        except (TypeError, ValueError):
            continue
        if row > 0 and column > 0 and math.isfinite(row) and math.isfinite(column):
            return (row, column), kind
    return None, None
