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
import warnings as _warnings
import zlib

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from rds_core.warnings_catalog import warning
from rds_core.errors import (
    ColourImageError,
    CorruptFileError,
    ImageTooLargeError,
    MissingCodecError,
    MultiFrameError,
    NoPixelDataError,
    NotARadiographError,
    UnsupportedFormatError,
)
from rds_core.imaging.common import check_dimensions, downscale_to_working, is_blank, to_unit_float32, who
from rds_core.imaging.radiograph import Radiograph

__all__ = [
    "VOLUME_MODALITIES",
    "RADIOGRAPH_MODALITIES",
    "CAPTURE_MODALITIES",
    "NOT_CHEST_BODY_PARTS",
    "load_dicom",
    "codec_package",
]

VOLUME_MODALITIES = frozenset({"CT", "MR", "PT", "NM"})
"""Modalities whose single images are slices of a volume, never a projection radiograph."""

RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "RG"})
"""Projection radiographs: accepted without comment."""

CAPTURE_MODALITIES = frozenset({"OT", "SC"})
"""Secondary captures (scanned or screenshotted films): accepted when single-frame grey, with a warning."""

# What a radiographer calls the images we refuse, by DICOM modality.
_REFUSED_MODALITIES = {
    "XA": "an angiography image (modality XA)",
    "RF": "a fluoroscopy image (modality RF)",
    "US": "an ultrasound image (modality US)",
    "SEG": "a segmentation (an outline drawn on another image, modality SEG)",
    "RTIMAGE": "a radiotherapy portal image (modality RTIMAGE)",
    "MG": "a mammogram (modality MG)",
    "IO": "an intra-oral dental X-ray (modality IO)",
    "PX": "a panoramic dental X-ray (modality PX)",
    "BMD": "a bone density scan (modality BMD)",
    "ES": "an endoscopy image (modality ES)",
    "XC": "a clinical photograph (modality XC)",
    "GM": "a microscopy image (modality GM)",
    "SM": "a slide microscopy image (modality SM)",
    "OP": "an eye photograph (modality OP)",
    "PR": "a presentation state (display settings for another image, modality PR)",
    "KO": "a key-image note (modality KO)",
    "SR": "a structured report (modality SR)",
    "DOC": "a scanned document (modality DOC)",
}

NOT_CHEST_BODY_PARTS = frozenset({
    "BREAST", "HEAD", "SKULL", "BRAIN", "FACE", "JAW", "TMJ", "TOOTH", "TEETH", "DENTAL", "NECK", "CSPINE", "LSPINE",
    "SSPINE", "SACRUM", "COCCYX", "PELVIS", "HIP", "FEMUR", "THIGH", "KNEE", "LEG", "TIBIA", "FIBULA", "ANKLE", "FOOT",
    "HEEL", "TOE", "SHOULDER", "HUMERUS", "ARM", "UPPERARM", "ELBOW", "FOREARM", "WRIST", "HAND", "FINGER",
    "EXTREMITY", "LOWERLIMB", "UPPERLIMB",
})
"""Body Part Examined values (DICOM PS3.16 Annex L, upper case, no spaces) that are clearly not a chest film.
Abdomen and whole-body films are kept: neonatal chest-abdomen films are routine."""

# Permissively licensed pip packages that give pydicom a decoder, by transfer-syntax UID prefix.
# python-gdcm (BSD) covers the JPEG lossless syntaxes that Pillow cannot decode.
_CODEC_PACKAGES = (
    ("1.2.840.10008.1.2.4.8", "pyjpegls"),  # JPEG-LS .80/.81
    ("1.2.840.10008.1.2.4.9", "pylibjpeg-openjpeg"),  # JPEG 2000 .90-.93
    ("1.2.840.10008.1.2.4.20", "pylibjpeg-openjpeg"),  # HTJ2K .201-.203
)
_DEFAULT_CODEC_PACKAGE = "python-gdcm"

# Tag (7FE0,0010) as written in little- and big-endian files: if it is in the bytes but pydicom
# kept no PixelData, the file ended inside the pixel data (pydicom only warns about that).
_PIXEL_DATA_TAGS = (b"\xe0\x7f\x10\x00", b"\x7f\xe0\x00\x10")
# Attributes of the Image Pixel module: a file that has them but no PixelData was cut before its image.
_IMAGE_PIXEL_KEYWORDS = ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation")


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
    """Decode a single-frame grey-scale DICOM chest radiograph (CR/DX, or a grey SC/OT capture).

    pydicom's own warnings (over-long values, odd padding) are kept out of the caller's stderr:
    they concern the file's syntax, not anything a reader of the film must know.

    Films larger than `rds_core.imaging.common.WORKING_MAX_SIDE` are area-averaged down right after
    decoding, before any LUT, so the float copies stay small; ``original_size`` keeps the stored size
    and ``pixel_spacing_mm`` is scaled to the working pixels.

    Args:
        data: the whole file (with or without the 128-byte preamble).
        name: file name for messages and `Radiograph.source`.
        max_pixels: largest allowed ``Rows * Columns``, checked before decoding.
        min_side: smallest allowed side length.

    Raises:
        CorruptFileError, NoPixelDataError, NotARadiographError, MultiFrameError, ColourImageError,
        ImageTooLargeError, ImageTooSmallError, MissingCodecError, UnsupportedFormatError.
    """
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        return _load(data, name, max_pixels=max_pixels, min_side=min_side)


def _load(data: bytes, name: str, *, max_pixels: int, min_side: int) -> Radiograph:
    _check_inflated_size(data, name, max_pixels)
    ds = _read_dataset(data, name)
    del data  # the dataset holds the bytes it needs
    warnings: list[str] = []
    modality = str(ds.get("Modality") or "").strip().upper() or None
    _check_chest_film(ds, name, modality, warnings)
    photometric = _check_single_grey_image(ds, name)
    if not str(ds.get("PhotometricInterpretation") or "").strip():
        # Old ACR-NEMA files may omit it; MONOCHROME2 is the default reading of grey pixels.
        ds.PhotometricInterpretation = photometric
        warnings.append(warning("no_photometric"))
    rows, columns = _int_attr(ds, "Rows", name), _int_attr(ds, "Columns", name)
    check_dimensions(rows, columns, name, max_pixels=max_pixels, min_side=min_side)
    _ensure_transfer_syntax(ds)
    _check_decoder(ds.file_meta.TransferSyntaxUID, name)

    stored = downscale_to_working(_decode(ds, name))
    del ds.PixelData  # the stored bytes are no longer needed: free them before the float copies
    _drop_empty_modality_lut(ds, warnings)
    pixels = _to_display(stored, ds, warnings)
    del stored
    if photometric == "MONOCHROME1" or str(ds.get("PresentationLUTShape", "")).strip().upper() == "INVERSE":
        # DX requires INVERSE together with MONOCHROME1: both describe the same single inversion.
        np.subtract(1.0, pixels, out=pixels)

    spacing, spacing_kind = _pixel_spacing(ds)
    if spacing is not None and pixels.shape != (rows, columns):
        spacing = (spacing[0] * rows / pixels.shape[0], spacing[1] * columns / pixels.shape[1])
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


def _check_inflated_size(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse a deflated file that inflates past the pixel budget, counting in chunks and keeping nothing.

    pydicom inflates the whole stream into memory before the header can be read, so the Rows x Columns
    check would come too late for a deflate bomb (deflate reaches about 1000:1).
    """
    head = data[:1024]
    if data[128:132] != b"DICM" or DeflatedExplicitVRLittleEndian.encode() not in head:
        return
    # (0002,0000) File Meta Information Group Length, explicit VR: tag, "UL", length 4, value.
    if data[132:138] != b"\x02\x00\x00\x00UL":
        return
    body = 144 + int.from_bytes(data[140:144], "little")
    limit = 2 * max_pixels + (16 << 20)  # 16-bit grey at the budget plus generous room for the header
    inflater, seen, position = zlib.decompressobj(-zlib.MAX_WBITS), 0, body
    try:
        while position < len(data) or inflater.unconsumed_tail:
            chunk = inflater.unconsumed_tail or data[position : position + (1 << 20)]
            if not inflater.unconsumed_tail:
                position += 1 << 20
            seen += len(inflater.decompress(chunk, 1 << 22))
            if seen > limit:
                raise ImageTooLargeError(
                    f"{who(name)} is a compressed DICOM file that expands to more than {limit >> 20} MB, far more "
                    "than any radiograph (a possible decompression bomb); choose a normal export of the image."
                )
            if inflater.eof:
                return
    except zlib.error:
        return  # damaged: the reader below says so


def _read_dataset(data: bytes, name: str) -> Dataset:
    """Parse the file; `force` also reads ACR-NEMA style files that have no preamble."""
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on damaged bytes
        raise CorruptFileError(
            f"{who(name)} looks like DICOM but its header cannot be read; export or copy the file again."
        ) from exc
    if len(ds) == 0:
        raise CorruptFileError(
            f"{who(name)} is an incomplete DICOM file (it ends early); copy or export the file again."
        )
    if "PixelData" not in ds:
        cut_inside_pixels = any(tag in data for tag in _PIXEL_DATA_TAGS)
        if cut_inside_pixels or any(keyword in ds for keyword in _IMAGE_PIXEL_KEYWORDS):
            raise CorruptFileError(
                f"{who(name)} is an incomplete DICOM file (it ends before the end of its image); copy or export "
                "the file again."
            )
        raise NoPixelDataError(
            f"{who(name)} is a DICOM file without an image ({_object_kind(ds)}); choose the image file of the "
            "study instead."
        )
    return ds


def _object_kind(ds: Dataset) -> str:
    """The SOP class in words (never a bare UID)."""
    if "SOPClassUID" not in ds:
        return "no image"
    uid = UID(str(ds.SOPClassUID))
    return uid.name if uid.name != str(uid) else "an object type this tool does not know"


def _check_chest_film(ds: Dataset, name: str, modality: str | None, warnings: list[str]) -> None:
    """Refuse what is clearly not a chest radiograph; warn on secondary captures and unknown modalities."""
    sop_class = UID(str(ds.get("SOPClassUID") or ""))
    if modality in VOLUME_MODALITIES:
        raise MultiFrameError(
            f"{who(name)} is a {modality} image, which looks like a CT/MR series, not a chest radiograph; "
            "choose a CR or DX chest X-ray instead."
        )
    if "Segmentation" in sop_class.name:
        modality = "SEG"
    elif "Mammography" in sop_class.name:
        modality = "MG"
    if modality in _REFUSED_MODALITIES:
        raise NotARadiographError(
            f"{who(name)} is {_REFUSED_MODALITIES[modality]}, not a chest X-ray; choose the CR or DX chest film "
            "of the study instead."
        )
    body_part = str(ds.get("BodyPartExamined") or "").strip().upper().replace(" ", "").replace("_", "")
    if body_part in NOT_CHEST_BODY_PARTS:
        raise NotARadiographError(
            f"{who(name)} is labelled as an X-ray of the {body_part.lower()} (Body Part Examined), not the chest; "
            "choose a chest film, or correct the body part at the X-ray unit if the label is wrong."
        )
    if modality in CAPTURE_MODALITIES or "Secondary Capture" in sop_class.name:
        warnings.append(warning("secondary_capture"))
    elif modality is None:
        warnings.append(warning("no_modality"))
    elif modality not in RADIOGRAPH_MODALITIES:
        raise NotARadiographError(
            f"{who(name)} is an image of modality {modality}, not a chest X-ray (CR or DX); choose the CR or DX "
            "chest film of the study instead."
        )


def _check_single_grey_image(ds: Dataset, name: str) -> str:
    """Refuse multi-frame and colour images; return the photometric interpretation."""
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
    return photometric or "MONOCHROME2"


def _decode(ds: Dataset, name: str) -> np.ndarray:
    """Decode the single frame without caching it in `ds` (pydicom's `pixel_array` would keep a copy)."""
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        stored, _ = get_decoder(syntax).as_array(ds)
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the bytes cannot be used
        if _every_plugin_lacks_support(exc):
            bits = ds.get("BitsStored", "?")
            raise MissingCodecError(
                f"{who(name)} is compressed as {syntax.name} with {bits}-bit samples, which none of the installed "
                "decoders can read (it needs a 12-bit JPEG decoder such as libjpeg, not bundled for licence "
                "reasons); the file is not damaged, so export it again uncompressed, as JPEG Lossless or as JPEG 2000."
            ) from exc
        raise CorruptFileError(
            f"{who(name)} could not be decoded ({syntax.name}), so it is damaged, incomplete or unusually encoded; "
            "export or copy it again, uncompressed if possible."
        ) from exc
    return stored


def _every_plugin_lacks_support(exc: Exception) -> bool:
    """pydicom lists each plugin's reason; "does not support" from all of them means a capability gap."""
    lines = [line for line in str(exc).splitlines()[1:] if line.strip()]
    return bool(lines) and all("does not support" in line for line in lines)


def _drop_empty_modality_lut(ds: Dataset, warnings: list[str]) -> None:
    """An empty Modality LUT Sequence item makes pydicom raise TypeError; rescale (or identity) applies instead."""
    items = ds.get("ModalityLUTSequence")
    if items is None:
        return
    usable = len(items) > 0 and items[0].get("LUTDescriptor") is not None and items[0].get("LUTData") is not None
    if not usable:
        del ds.ModalityLUTSequence
        warnings.append(warning("empty_modality_lut"))


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
            f"{who(name)} uses a DICOM encoding this tool does not know; export it as standard uncompressed DICOM."
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
            f"{who(name)} is compressed as {transfer_syntax.name} and the decoder it needs (the Python package "
            f"{package}) is not installed; ask whoever installed this tool to add it, or export the image uncompressed."
        )


def _to_display(stored: np.ndarray, ds: Dataset, warnings: list[str]) -> np.ndarray:
    """Modality LUT, then VOI LUT or window, then [0, 1] float32 (not yet inverted)."""
    modality_values = apply_modality_lut(stored, ds)
    probe = _voi_probe(ds)
    voi_range = _voi_output_range(ds, probe) if probe is not None else None
    if voi_range is None:
        if probe is not None:
            warnings.append(warning("bad_window"))
        # No display intent in the file: stretch the actual value range.
        return _stretch(modality_values, warnings)
    pixels = to_unit_float32(apply_voi_lut(modality_values, ds), *voi_range)
    if is_blank(pixels):
        # A window entirely above or below the pixel values (a mis-set export) would show one flat grey.
        warnings.append(warning("window_blank"))
        return _stretch(modality_values, warnings)
    return pixels


def _stretch(values: np.ndarray, warnings: list[str]) -> np.ndarray:
    """Map the actual value range onto [0, 1]; warn when the image itself holds a single value."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        warnings.append(warning("blank_dicom"))
    return to_unit_float32(values, low, high)


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
