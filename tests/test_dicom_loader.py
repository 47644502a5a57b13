"""Hospital DICOM in (issue 12, fixes 1-8): one test per bug, on files generated here."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import jpeg_ls
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import JPEGLossless, JPEGLosslessSV1

from rds_core.errors import (
    ColourImageError,
    CorruptFileError,
    MissingCodecError,
    MultiFrameError,
    NotARadiographError,
    RadiographError,
    UnsupportedFormatError,
)
from rds_core.imaging import load_radiograph
from tests.test_imaging import DICOM_DIR, dicom_bytes, png_bytes, ramp12


def chest_texture(height: int = 96, width: int = 112) -> np.ndarray:
    """12-bit content with detail everywhere, so lossless round trips are checked on every pixel."""
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 37 + y * 101 + (x * y) % 97) % 4096).astype(np.uint16)


def transcode_with_gdcm(data: bytes, syntax: str, tmp_path: Path) -> bytes:
    """Re-encode a DICOM file with GDCM (the way a CR archive writes JPEG Lossless)."""
    import gdcm

    source, target = tmp_path / "in.dcm", tmp_path / "out.dcm"
    source.write_bytes(data)
    reader = gdcm.ImageReader()
    reader.SetFileName(str(source))
    assert reader.Read()
    change = gdcm.ImageChangeTransferSyntax()
    kind = {JPEGLosslessSV1: gdcm.TransferSyntax.JPEGLosslessProcess14_1, JPEGLossless: gdcm.TransferSyntax.JPEGLosslessProcess14}
    change.SetTransferSyntax(gdcm.TransferSyntax(kind[syntax]))
    change.SetInput(reader.GetImage())
    assert change.Change()
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(target))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write()
    return target.read_bytes()


def one_sentence(message: str, file_name: str = "film.dcm") -> None:
    assert message.startswith(f"{file_name} ") and message.endswith(".")
    assert "\n" not in message and ". " not in message
    assert "1.2.840" not in message  # no bare UIDs


# ---------------------------------------------------------------- 1. JPEG Lossless through python-gdcm (BSD)


@pytest.mark.parametrize("syntax", [JPEGLosslessSV1, JPEGLossless], ids=["70", "57"])
def test_jpeg_lossless_cr_decodes_bit_identical(tmp_path: Path, syntax: str) -> None:
    plain = dicom_bytes(chest_texture(), "MONOCHROME1", 12, modality="CR", BodyPartExamined="CHEST")
    compressed = transcode_with_gdcm(plain, syntax, tmp_path)
    assert pydicom.dcmread(io.BytesIO(compressed)).file_meta.TransferSyntaxUID == syntax
    film, reference = load_radiograph(compressed), load_radiograph(plain)
    np.testing.assert_array_equal(film.pixels, reference.pixels)
    assert film.modality == "CR" and film.photometric == "MONOCHROME1"


# ---------------------------------------------------------------- 2. 12-bit JPEG Extended: intact, just no decoder


def test_twelve_bit_jpeg_extended_is_refused_as_missing_decoder_not_damage() -> None:
    ds = pydicom.dcmread(get_testdata_file("JPGExtended.dcm"))  # pydicom's own 12-bit .51 file
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.51" and ds.BitsStored == 12
    ds.Modality = "CR"
    buffer = io.BytesIO()
    ds.save_as(buffer)
    with pytest.raises(MissingCodecError, match="12-bit JPEG decoder.*not damaged") as caught:
        load_radiograph(buffer.getvalue(), name="film.dcm")
    one_sentence(str(caught.value))
    assert "damaged, incomplete" not in str(caught.value)


# ---------------------------------------------------------------- 3. JPEG-signature files Pillow cannot open


@pytest.mark.parametrize("bits", [8, 12])
def test_jpeg_ls_stream_is_named_not_keyerror(bits: int) -> None:
    stream = bytes(jpeg_ls.encode((chest_texture() >> (12 - bits)).astype(np.uint16 if bits > 8 else np.uint8)))
    assert stream.startswith(b"\xff\xd8\xff")
    with pytest.raises(UnsupportedFormatError, match=r"JPEG-LS stream.*PNG or DICOM") as caught:
        load_radiograph(stream, name="film.jls")
    one_sentence(str(caught.value), "film.jls")


def test_lossless_jpeg_stream_is_named(tmp_path: Path) -> None:
    compressed = transcode_with_gdcm(dicom_bytes(chest_texture(), modality="CR"), JPEGLosslessSV1, tmp_path)
    ds = pydicom.dcmread(io.BytesIO(compressed))
    stream = pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1).__next__()
    with pytest.raises(UnsupportedFormatError, match=r"lossless JPEG \(1[26]-bit\) stream"):
        load_radiograph(stream, name="film.jpg")


# ---------------------------------------------------------------- 4. empty Modality LUT Sequence item


def test_empty_modality_lut_item_is_ignored_with_a_warning() -> None:
    stored = ramp12()
    data = dicom_bytes(stored, modality="CR", ModalityLUTSequence=Sequence([Dataset()]),
                       RescaleSlope=2, RescaleIntercept=-100)
    film = load_radiograph(data)
    np.testing.assert_allclose(film.pixels[0], stored[0] / 4095.0, atol=1e-6)  # linear rescale: same stretch
    assert any("modality LUT is empty" in w for w in film.warnings)


# ---------------------------------------------------------------- 5. CR cut before its pixel data


def test_cr_cut_before_pixel_data_is_incomplete_not_imageless() -> None:
    data = dicom_bytes(ramp12(), modality="CR")
    cut = data[: data.index(b"\xe0\x7f\x10\x00")]
    with pytest.raises(CorruptFileError, match="incomplete DICOM file") as caught:
        load_radiograph(cut, name="film.dcm")
    one_sentence(str(caught.value))


# ---------------------------------------------------------------- 6. blank after windowing


def test_window_below_every_pixel_warns_and_shows_the_values() -> None:
    stored = (ramp12() // 2 + 2000).astype(np.uint16)
    film = load_radiograph(dicom_bytes(stored, modality="CR", WindowCenter=100, WindowWidth=50))
    assert any("blank" in w and "window" in w for w in film.warnings)
    assert film.pixels.min() == 0.0 and film.pixels.max() == 1.0


@pytest.mark.parametrize("data", [dicom_bytes(np.full((80, 80), 7, np.uint16)), png_bytes(np.zeros((80, 80), np.uint16))],
                         ids=["dicom", "png16"])
def test_flat_image_warns_blank(data: bytes) -> None:
    assert any("blank" in w for w in load_radiograph(data).warnings)


# ---------------------------------------------------------------- 7. pydicom warnings stay inside the loader


def test_pydicom_warnings_do_not_leak() -> None:
    long_id = "X" * 80  # over the LO limit of 64: pydicom warns on reading and writing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = dicom_bytes(ramp12(), modality="CR", PatientID=long_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_radiograph(data)
        load_radiograph(DICOM_DIR / "966_fixed.dcm")
    assert [str(w.message) for w in caught] == []


# ---------------------------------------------------------------- 8. not a chest film: refused in plain words


def _segmentation() -> bytes:
    ds = pydicom.dcmread(io.BytesIO(dicom_bytes(np.zeros((80, 80), np.uint8), bits=1, modality="SEG")))
    ds.SOPClassUID = pydicom.uid.SegmentationStorage
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return buffer.getvalue()


REFUSED = [
    ("xa", lambda: dicom_bytes(ramp12(), modality="XA"), NotARadiographError, r"angiography image \(modality XA\)"),
    ("us", lambda: dicom_bytes(ramp12(), modality="US"), NotARadiographError, "ultrasound image"),
    ("seg", _segmentation, NotARadiographError, "a segmentation"),
    ("rtimage", lambda: dicom_bytes(ramp12(), modality="RTIMAGE"), NotARadiographError, "radiotherapy portal image"),
    ("mammogram", lambda: dicom_bytes(ramp12(), modality="MG"), NotARadiographError, "a mammogram"),
    ("breast", lambda: dicom_bytes(ramp12(), modality="DX", BodyPartExamined="BREAST"), NotARadiographError,
     r"X-ray of the breast \(Body Part Examined\), not the chest"),
    ("hip", lambda: dicom_bytes(ramp12(), modality="CR", BodyPartExamined="HIP"), NotARadiographError, "of the hip"),
    ("odd modality", lambda: dicom_bytes(ramp12(), modality="XYZ"), NotARadiographError, "modality XYZ"),
    ("colour sc", lambda: dicom_bytes(np.zeros((80, 80, 3), np.uint8), "RGB", 8, modality="OT"), ColourImageError,
     "colour DICOM image"),
    ("multi-frame ot", lambda: dicom_bytes(np.zeros((2, 80, 80), np.uint16), modality="OT"), MultiFrameError,
     "holds 2 frames"),
]


@pytest.mark.parametrize(("make", "error", "pattern"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_not_a_chest_film_is_refused(make, error: type[RadiographError], pattern: str) -> None:  # noqa: ANN001
    with pytest.raises(error, match=pattern) as caught:
        load_radiograph(make(), name="film.dcm")
    one_sentence(str(caught.value))


@pytest.mark.parametrize("modality", ["OT", "SC"])
def test_single_frame_grey_capture_is_accepted_with_a_warning(modality: str) -> None:
    data = dicom_bytes(ramp12(), modality=modality, SOPClassUID=pydicom.uid.SecondaryCaptureImageStorage)
    film = load_radiograph(data)
    assert film.modality == modality
    assert any("secondary capture" in w for w in film.warnings)


@pytest.mark.parametrize("part", ["CHEST", "ABDOMEN", "WHOLEBODY", ""])
def test_chest_and_babygram_body_parts_load(part: str) -> None:
    assert load_radiograph(dicom_bytes(ramp12(), modality="DX", BodyPartExamined=part)).modality == "DX"
