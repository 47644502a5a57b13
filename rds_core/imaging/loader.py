"""`load_radiograph`: read a path or bytes, recognise the format from its content, decode.

The file extension is never trusted: uploads are often renamed (``.dcm`` files without an
extension, JPEGs called ``.png``), so the first bytes decide.
"""

from __future__ import annotations

import os
from pathlib import Path

from rds_core.errors import EmptyFileError, RadiographError, UnsupportedFormatError
from rds_core.imaging.common import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE, UPLOAD_NAME, who
from rds_core.imaging.dicom import load_dicom
from rds_core.imaging.radiograph import Radiograph
from rds_core.imaging.raster import load_raster

__all__ = ["load_radiograph", "sniff_format"]

# (offset, magic bytes, format name) of formats people upload by mistake, so the refusal can name them.
_OTHER_SIGNATURES = (
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"BM", "BMP"),
    (8, b"WEBP", "WebP"),
    (4, b"ftypheic", "HEIC"),
    (4, b"ftypheix", "HEIC"),
    (4, b"ftypmif1", "HEIF"),
    (4, b"ftypavif", "AVIF"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"%PDF", "PDF"),
    (0, b"PK\x03\x04", "ZIP"),
    (0, b"\x1f\x8b", "gzip"),
)


def load_radiograph(
    source: str | os.PathLike[str] | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = DEFAULT_MIN_SIDE,
    name: str | None = None,
) -> Radiograph:
    """Load one chest radiograph from PNG, JPEG (8/16-bit) or DICOM (CR/DX/DR).

    The result is MONOCHROME2-like float32 in [0, 1] (1 = bright) whatever the file stored:
    DICOM goes through modality LUT -> VOI LUT/window -> MONOCHROME1 inversion.

    Args:
        source: a file path, or the file's bytes (e.g. an upload).
        max_pixels: largest allowed width * height, checked from the header before any
            pixel is decoded, so a decompression bomb never allocates.
        min_side: smallest allowed side length in pixels.
        name: file name to use in messages when `source` is bytes (e.g. the upload's name);
            ignored for paths. Defaults to ``"<upload>"``.

    Returns:
        The decoded `Radiograph`.

    Raises:
        RadiographError: a subclass from `rds_core.errors` whose message is one sentence naming
            the file and what to do (missing file, empty, corrupt, unsupported, colour,
            multi-frame, too small/large, no pixel data, missing codec).

    Example:
        >>> film = load_radiograph("chest.dcm")  # doctest: +SKIP
        >>> film.pixels.shape, film.modality, film.spacing_kind  # doctest: +SKIP
        ((2128, 2000), 'DX', 'calibrated')
    """
    data, label = _read_source(source, name)
    if not data:
        raise EmptyFileError(f"{who(label)} is empty (0 bytes); choose the file again or export it once more.")
    file_format = sniff_format(data)
    if file_format == "dicom":
        return load_dicom(data, label, max_pixels=max_pixels, min_side=min_side)
    if file_format in ("png", "jpeg"):
        return load_raster(data, label, file_format, max_pixels=max_pixels, min_side=min_side)
    if file_format == "unknown":
        raise UnsupportedFormatError(
            f"{who(label)} is not a PNG, JPEG or DICOM file; choose a chest X-ray saved in one of those formats."
        )
    raise UnsupportedFormatError(
        f"{who(label)} is a {file_format} file, which is not supported; save the X-ray as PNG, JPEG or DICOM."
    )


def sniff_format(data: bytes) -> str:
    """Name the format of `data` from its first bytes.

    Args:
        data: the start of a file (the whole file is fine).

    Returns:
        ``"png"``, ``"jpeg"``, ``"dicom"``, the name of another recognised format (e.g. ``"GIF"``)
        or ``"unknown"``.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[128:132] == b"DICM" or _looks_like_headerless_dicom(data):
        return "dicom"
    for offset, magic, label in _OTHER_SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return label
    return "unknown"


def _looks_like_headerless_dicom(data: bytes) -> bool:
    """ACR-NEMA style files start directly with a group 0002 or 0008 data element.

    The element must then look sane: an explicit VR (two capital letters) or an implicit
    32-bit length that fits in the file. Either byte order is accepted.
    """
    if len(data) < 8:
        return False
    for order in ("little", "big"):
        group = int.from_bytes(data[0:2], order)
        element = int.from_bytes(data[2:4], order)
        if group not in (0x0002, 0x0008) or element > 0x0FFF:
            continue
        explicit_vr = data[4:6].isalpha() and data[4:6].isupper()
        if explicit_vr or int.from_bytes(data[4:8], order) <= len(data):
            return True
    return False


def _read_source(source: str | os.PathLike[str] | bytes, name: str | None) -> tuple[bytes, str]:
    """Return the file's bytes and the name used in messages (never a directory)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), Path(name).name if name else UPLOAD_NAME
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_radiograph expects a path or bytes, not {type(source).__name__}")
    path = Path(source)
    label = path.name or str(path)
    try:
        return path.read_bytes(), label
    except FileNotFoundError as exc:
        raise RadiographError(f"{label} was not found; check the file name and folder and try again.") from exc
    except IsADirectoryError as exc:
        raise RadiographError(f"{label} is a folder, not a file; choose one image file inside it.") from exc
    except PermissionError as exc:
        raise RadiographError(f"{label} cannot be opened (permission denied); copy it somewhere readable.") from exc
    except OSError as exc:
        raise RadiographError(f"{label} could not be read ({exc.strerror}); copy the file and try again.") from exc
