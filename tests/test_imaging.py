"""Tests for `rds_core.imaging`: real DICOM files, pinned display conventions, every refusal."""

from __future__ import annotations

import csv
import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import JPEGLSNearLossless, generate_uid

from rds_core.errors import (
    ColourImageError,
    CorruptFileError,
    EmptyFileError,
    ImageTooLargeError,
    ImageTooSmallError,
    MissingCodecError,
    MultiFrameError,
    NoPixelDataError,
    RadiographError,
    UnsupportedFormatError,
)
from rds_core.imaging import load_radiograph, sniff_format, to_uint8
from rds_core.imaging.dicom import codec_package

DICOM_DIR = Path(__file__).parent / "data" / "dicom"
MANIFEST = {row["file"]: row for row in csv.DictReader((DICOM_DIR / "manifest.csv").open())}
# Spacing is not in the manifest: RG1 stores PixelSpacing 0\0, which must count as unknown.
SPACING = {"966_fixed.dcm": ((0.16, 0.16), "calibrated")}

pytestmark = [
    pytest.mark.filterwarnings("ignore:The value length.*exceeds:UserWarning"),  # 966_fixed has over-long IDs
    pytest.mark.filterwarnings("ignore:End of file reached:UserWarning"),  # pydicom on truncated files
]


# ---------------------------------------------------------------- builders


def png_bytes(array: np.ndarray, mode: str | None = None, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def image_bytes(image: Image.Image, fmt: str, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def grey_ramp(height: int = 96, width: int = 80) -> np.ndarray:
    """Smooth 8-bit grey content (JPEG-friendly), every row different."""
    y, x = np.mgrid[0:height, 0:width]
    return (127 + 120 * np.sin(x / 9.0) * np.cos(y / 13.0)).astype(np.uint8)


def dicom_bytes(
    pixels: np.ndarray,
    photometric: str = "MONOCHROME2",
    bits: int = 12,
    *,
    modality: str = "DX",
    **attributes: object,
) -> bytes:
    """A minimal DX file written the way MACHINE_NOTES describes."""
    ds = Dataset()
    ds.SOPClassUID = pydicom.uid.DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = modality
    ds.set_pixel_data(pixels, photometric, bits)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def ramp12(height: int = 64, width: int = 128) -> np.ndarray:
    """12-bit values 0..4095 across the columns."""
    return np.tile(np.linspace(0, 4095, width).round().astype(np.uint16), (height, 1))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height but whose pixel data is a few junk bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- the five public DICOM files


@pytest.fixture(scope="module")
def films() -> dict[str, object]:
    """Each shipped DICOM decoded once (966_fixed alone takes about a second)."""
    loaded: dict[str, object] = {}
    for name in MANIFEST:
        try:
            loaded[name] = load_radiograph(DICOM_DIR / name)
        except MissingCodecError as exc:
            loaded[name] = exc
    return loaded


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_public_dicom_loads_with_metadata(films: dict[str, object], name: str) -> None:
    row = MANIFEST[name]
    ds = pydicom.dcmread(DICOM_DIR / name, force=True, stop_before_pixels=True)
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is not None and syntax.is_compressed and not get_decoder(syntax).is_available:
        assert isinstance(films[name], MissingCodecError)
        assert codec_package(str(syntax)) in str(films[name])
        return
    film = films[name]
    assert film.file_format == "dicom" and film.source == name
    assert (film.modality, film.photometric, film.bits_stored) == (row["modality"], row["photometric"], int(row["bits_stored"]))
    assert film.original_size == (int(row["rows"]), int(row["cols"])) == film.pixels.shape
    assert film.pixels.dtype == np.float32
    assert 0.0 <= film.pixels.min() < 0.2 and 0.8 < film.pixels.max() <= 1.0
    spacing, kind = SPACING.get(name, (None, None))
    assert film.spacing_kind == kind
    assert film.pixel_spacing_mm == (pytest.approx(spacing) if spacing else None)


def _downsample(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels).resize(shape[::-1], Image.Resampling.BOX))


@pytest.mark.parametrize(
    ("reference", "other"),
    [("RG1_J2KI.dcm", "RG1_JLSN.dcm"), ("RG1_J2KI.dcm", "derived_RG1_MONO2_explicitLE_512.dcm")],
)
def test_same_film_stored_differently_looks_the_same(films: dict[str, object], reference: str, other: str) -> None:
    """RG1 as MONOCHROME1 J2K, JPEG-LS and a MONOCHROME2 derivative: one inversion too many gives r < 0."""
    if isinstance(films[other], Exception) or isinstance(films[reference], Exception):
        pytest.skip("a codec for one of the files is not installed")
    a, b = films[reference].pixels, films[other].pixels
    a = _downsample(a, b.shape) if a.shape != b.shape else a
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_monochrome1_film_shows_dark_lungs(films: dict[str, object]) -> None:
    """Air is dark after inversion: the central third's lung columns are darker than the spine."""
    film = films["CR-MONO1-10-chest.dcm"].pixels
    h, w = film.shape
    band = film[h // 4 : h // 2]
    lungs = (band[:, w // 5 : w // 3].mean() + band[:, 2 * w // 3 : 4 * w // 5].mean()) / 2
    spine = band[:, 9 * w // 20 : 11 * w // 20].mean()
    assert lungs < spine - 0.1


def test_missing_codec_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate an environment without pyjpegls: pydicom then has no JPEG-LS plugin.
    monkeypatch.setattr(get_decoder(JPEGLSNearLossless), "_available", {})
    with pytest.raises(MissingCodecError, match=r"^RG1_JLSN\.dcm .*JPEG-LS.*Python package pyjpegls"):
        load_radiograph(DICOM_DIR / "RG1_JLSN.dcm")


@pytest.mark.parametrize(
    ("syntax", "package"),
    [("1.2.840.10008.1.2.4.80", "pyjpegls"), ("1.2.840.10008.1.2.4.91", "pylibjpeg-openjpeg"),
     ("1.2.840.10008.1.2.4.201", "pylibjpeg-openjpeg"), ("1.2.840.10008.1.2.4.70", "python-gdcm")],
)
def test_codec_package_suggestion(syntax: str, package: str) -> None:
    assert codec_package(syntax) == package


# ---------------------------------------------------------------- DICOM conventions


def test_monochrome1_is_inverted_monochrome2() -> None:
    stored = ramp12()
    mono2 = load_radiograph(dicom_bytes(stored, "MONOCHROME2")).pixels
    mono1 = load_radiograph(dicom_bytes(stored, "MONOCHROME1")).pixels
    np.testing.assert_allclose(mono2[0, [0, -1]], [0.0, 1.0])
    np.testing.assert_allclose(mono1, 1.0 - mono2, atol=1e-6)


def test_monochrome1_with_inverse_presentation_shape_is_inverted_once() -> None:
    stored = ramp12()
    plain = load_radiograph(dicom_bytes(stored, "MONOCHROME1")).pixels
    shaped = load_radiograph(dicom_bytes(stored, "MONOCHROME1", PresentationLUTShape="INVERSE")).pixels
    np.testing.assert_array_equal(shaped, plain)


def _linear_window(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2.1 LINEAR window onto [0, 1]."""
    return np.clip((values - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def test_window_clips_outside_and_ramps_inside() -> None:
    stored = ramp12()
    film = load_radiograph(dicom_bytes(stored, WindowCenter=2048, WindowWidth=1024)).pixels
    np.testing.assert_allclose(film, _linear_window(stored.astype(float), 2048, 1024), atol=1e-5)
    assert film[0, 0] == 0.0 and film[0, -1] == 1.0
    assert np.count_nonzero((film[0] > 0.0) & (film[0] < 1.0)) > 20  # a real ramp, not a threshold


def test_rescale_is_applied_before_the_window() -> None:
    stored = ramp12()
    slope, intercept, center, width = 0.5, -500.0, 0.0, 400.0
    film = load_radiograph(
        dicom_bytes(stored, RescaleSlope=slope, RescaleIntercept=intercept, WindowCenter=center, WindowWidth=width)
    ).pixels
    expected = _linear_window(stored * slope + intercept, center, width)
    window_first = _linear_window(stored.astype(float), center, width)
    assert np.abs(expected - window_first).max() > 0.5  # the file really tells the two orders apart
    np.testing.assert_allclose(film, expected, atol=1e-5)


def test_voi_lut_sequence_wins_over_window_and_uses_the_lut_range() -> None:
    stored = np.tile(np.arange(256, dtype=np.uint16), (64, 1))
    lut = (np.arange(256) ** 2) // 20  # tops out at 3251: not the 16-bit range the descriptor names
    item = Dataset()
    item.add_new("LUTDescriptor", "US", [256, 0, 16])
    item.add_new("LUTData", "US", lut.tolist())
    film = load_radiograph(
        dicom_bytes(stored, VOILUTSequence=pydicom.Sequence([item]), WindowCenter=10, WindowWidth=4)
    ).pixels
    np.testing.assert_allclose(film[0], lut / lut.max(), atol=1e-6)


def test_no_window_stretches_the_stored_range() -> None:
    stored = (ramp12() // 4 + 1000).astype(np.uint16)  # 1000..2023
    film = load_radiograph(dicom_bytes(stored)).pixels
    np.testing.assert_allclose(film[0], (stored[0] - 1000) / 1023, atol=1e-6)


def test_imager_spacing_and_patient_age() -> None:
    film = load_radiograph(
        dicom_bytes(ramp12(), PixelSpacing=[0, 0], ImagerPixelSpacing=[0.139, 0.14], PatientAge="003D")
    )
    assert film.pixel_spacing_mm == pytest.approx((0.139, 0.14))
    assert (film.spacing_kind, film.patient_age) == ("imager", "003D")


# ---------------------------------------------------------------- PNG / JPEG


def test_png_8bit_is_exact() -> None:
    grey = grey_ramp()
    film = load_radiograph(png_bytes(grey))
    assert (film.file_format, film.bits_stored, film.warnings) == ("png", 8, ())
    np.testing.assert_allclose(film.pixels, grey / 255.0, atol=1e-6)


def test_png_16bit_full_range() -> None:
    values = np.tile(np.linspace(0, 65535, 100).astype(np.uint16), (70, 1))
    film = load_radiograph(png_bytes(values))
    assert film.bits_stored == 16 and film.warnings == ()
    np.testing.assert_allclose(film.pixels, values / 65535.0, atol=1e-6)


def test_png_16bit_holding_12bit_values_is_scaled_to_12_bits() -> None:
    values = ramp12(70, 100)
    film = load_radiograph(png_bytes(values))
    np.testing.assert_allclose(film.pixels, values / 4095.0, atol=1e-6)
    assert any("12 bits" in w for w in film.warnings)


def test_jpeg_grey() -> None:
    grey = grey_ramp()
    film = load_radiograph(image_bytes(Image.fromarray(grey), "JPEG", quality=95))
    assert (film.file_format, film.bits_stored) == ("jpeg", 8)
    assert np.abs(film.pixels - grey / 255.0).mean() < 0.01


@pytest.mark.parametrize(
    ("fmt", "mode"), [("PNG", "RGB"), ("PNG", "RGBA"), ("JPEG", "RGB"), ("PNG", "LA"), ("PNG", "P")]
)
def test_grey_stored_in_other_modes_is_accepted(fmt: str, mode: str) -> None:
    grey = grey_ramp()
    if mode == "P":
        image = Image.fromarray(grey, "P")
        image.putpalette([level for i in range(256) for level in (i, i, i)])
    else:
        image = Image.fromarray(grey).convert(mode)
    film = load_radiograph(image_bytes(image, fmt, **({"quality": 95} if fmt == "JPEG" else {})))
    assert np.abs(film.pixels - grey / 255.0).mean() < 0.01
    if mode != "LA":
        assert any("grey stored as colour" in w for w in film.warnings)


def test_grey_with_small_coloured_mark_is_accepted() -> None:
    rgb = np.repeat(grey_ramp()[..., None], 3, axis=2)
    rgb[10:16, 10:16] = (255, 0, 0)  # an annotation arrow: 0.5 % of the pixels
    assert load_radiograph(png_bytes(rgb)).pixels.shape == rgb.shape[:2]


def test_exif_orientation_is_applied() -> None:
    image = Image.fromarray(grey_ramp(96, 80))
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    film = load_radiograph(image_bytes(image, "JPEG", exif=exif, quality=95))
    assert film.pixels.shape == (80, 96) and film.original_size == (96, 80)
    assert any("EXIF" in w for w in film.warnings)


def test_content_decides_not_the_extension(tmp_path: Path) -> None:
    jpeg_named_png = tmp_path / "film.png"
    jpeg_named_png.write_bytes(image_bytes(Image.fromarray(grey_ramp()), "JPEG"))
    no_extension = tmp_path / "film"
    no_extension.write_bytes((DICOM_DIR / "CR-MONO1-10-chest.dcm").read_bytes())
    assert load_radiograph(jpeg_named_png).file_format == "jpeg"
    assert load_radiograph(no_extension).file_format == "dicom"
    assert sniff_format((DICOM_DIR / "CR-MONO1-10-chest.dcm").read_bytes()) == "dicom"  # ACR-NEMA: no DICM


@pytest.mark.parametrize("data", [png_bytes(grey_ramp()), (DICOM_DIR / "derived_RG1_MONO2_explicitLE_512.dcm").read_bytes()])
def test_bytes_and_path_give_the_same_film(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "case.bin"
    path.write_bytes(data)
    from_path, from_bytes = load_radiograph(path), load_radiograph(data)
    np.testing.assert_array_equal(from_path.pixels, from_bytes.pixels)
    assert (from_path.source, from_bytes.source) == ("case.bin", "<upload>")
    assert load_radiograph(data, name="uploads/ward3/case.bin").source == "case.bin"


# ---------------------------------------------------------------- refusals: one sentence naming the file


def _colour_png() -> bytes:
    return png_bytes(np.random.default_rng(0).integers(0, 256, (96, 96, 3), dtype=np.uint8))


def _colour_palette_png() -> bytes:
    image = Image.fromarray(np.tile(np.arange(96, dtype=np.uint8), (96, 1)), "P")
    image.putpalette([level for i in range(256) for level in (i, 255 - i, 128)])
    return image_bytes(image, "PNG")


def _apng() -> bytes:
    frame = Image.fromarray(grey_ramp())
    return image_bytes(frame, "PNG", save_all=True, append_images=[Image.fromarray(255 - grey_ramp())])


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _no_pixel_dicom() -> bytes:
    ds = Dataset()
    ds.SOPClassUID = pydicom.uid.BasicTextSRStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "SR"
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _huge_header_dicom() -> bytes:
    """Declares 60000 x 60000 but carries 64 x 128 pixels: decoding first would say 'corrupt'."""
    ds = pydicom.dcmread(io.BytesIO(dicom_bytes(ramp12())))
    ds.Rows = ds.Columns = 60000
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


BAD_INPUTS: list[tuple[str, Callable[[], bytes], dict[str, int], type[RadiographError], str]] = [
    ("empty", lambda: b"", {}, EmptyFileError, r"is empty \(0 bytes\)"),
    ("random bytes", lambda: bytes(range(256)) * 4, {}, UnsupportedFormatError, "not a PNG, JPEG or DICOM"),
    ("gif", lambda: image_bytes(Image.fromarray(grey_ramp()), "GIF"), {}, UnsupportedFormatError, "GIF file"),
    ("tiff", lambda: image_bytes(Image.fromarray(grey_ramp()), "TIFF"), {}, UnsupportedFormatError, "TIFF file"),
    ("bmp", lambda: image_bytes(Image.fromarray(grey_ramp()), "BMP"), {}, UnsupportedFormatError, "BMP file"),
    ("half png", lambda: _half(png_bytes(grey_ramp(400, 400))), {}, CorruptFileError, "incomplete or damaged PNG"),
    ("half jpeg", lambda: _half(image_bytes(Image.fromarray(grey_ramp(400, 400)), "JPEG")), {}, CorruptFileError,
     "incomplete or damaged JPEG"),
    ("png header only", lambda: b"\x89PNG\r\n\x1a\n\0\0", {}, CorruptFileError, "header cannot be read"),
    ("half dicom native", lambda: _half((DICOM_DIR / "derived_RG1_MONO2_explicitLE_512.dcm").read_bytes()), {},
     CorruptFileError, "could not be decoded"),
    ("half dicom j2k", lambda: _half((DICOM_DIR / "RG1_J2KI.dcm").read_bytes()), {}, CorruptFileError,
     "incomplete DICOM"),
    ("half acr-nema", lambda: _half((DICOM_DIR / "CR-MONO1-10-chest.dcm").read_bytes()), {}, CorruptFileError,
     "could not be decoded"),
    ("colour png", _colour_png, {}, ColourImageError, "colour image"),
    ("colour palette", _colour_palette_png, {}, ColourImageError, "colour image"),
    ("colour dicom", lambda: dicom_bytes(np.zeros((96, 96, 3), np.uint8), "RGB", 8), {}, ColourImageError,
     r"colour DICOM image \(RGB\)"),
    ("animated png", _apng, {}, MultiFrameError, "animated PNG with 2 frames"),
    ("multi-frame dicom", lambda: dicom_bytes(np.zeros((3, 96, 96), np.uint16)), {}, MultiFrameError,
     "holds 3 frames"),
    ("ct slice", lambda: dicom_bytes(ramp12(96, 96), modality="CT"), {}, MultiFrameError,
     "looks like a CT/MR series, not a chest radiograph"),
    ("no pixel data", _no_pixel_dicom, {}, NoPixelDataError, r"without an image \(Basic Text SR Storage\)"),
    ("too small png", lambda: png_bytes(grey_ramp(40, 200)), {}, ImageTooSmallError, "200x40 pixels.*minimum of 64"),
    ("too small dicom", lambda: dicom_bytes(ramp12(64, 128)), {"min_side": 100}, ImageTooSmallError,
     "minimum of 100"),
    ("over budget", lambda: png_bytes(grey_ramp(200, 200)), {"max_pixels": 10_000}, ImageTooLargeError,
     "200x200 pixels.*limit of 0.01 megapixels"),
    ("header 80 MP png", lambda: png_header_only(10_000, 8_000), {}, ImageTooLargeError, "10000x8000 pixels"),
    ("pillow bomb png", lambda: png_header_only(30_000, 30_000), {}, ImageTooLargeError, "decompression bomb"),
    ("header 3600 MP dicom", _huge_header_dicom, {}, ImageTooLargeError, "60000x60000 pixels"),
]


@pytest.mark.parametrize(("make", "options", "error", "pattern"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_refused_with_one_sentence(
    make: Callable[[], bytes], options: dict[str, int], error: type[RadiographError], pattern: str
) -> None:
    with pytest.raises(error, match=pattern) as caught:
        load_radiograph(make(), name="C:/scans/film.xyz", **options)
    message = str(caught.value)
    assert message.startswith("film.xyz ") and message.endswith(".")
    assert "\n" not in message and ". " not in message and "scans" not in message


def test_upload_without_name_is_called_the_uploaded_file() -> None:
    with pytest.raises(EmptyFileError, match=r"^The uploaded file is empty"):
        load_radiograph(b"")


def test_missing_path_names_the_file_only(tmp_path: Path) -> None:
    with pytest.raises(RadiographError, match=r"^missing\.png was not found; check") as caught:
        load_radiograph(tmp_path / "missing.png")
    assert str(tmp_path) not in str(caught.value)
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RadiographError, match="is a folder, not a file"):
        load_radiograph(tmp_path)


def test_empty_file_on_disk(tmp_path: Path) -> None:
    (tmp_path / "zero.dcm").write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"^zero\.dcm is empty"):
        load_radiograph(tmp_path / "zero.dcm")


# ---------------------------------------------------------------- display helper


def test_to_uint8_rounds_to_levels() -> None:
    pixels = np.array([[0.0, 0.25, 0.5, 1.0]], dtype=np.float32)
    assert to_uint8(pixels).tolist() == [[0, 64, 128, 255]]
    assert to_uint8(pixels).dtype == np.uint8


@pytest.mark.parametrize("bad", [-0.01, 1.01, np.nan])
def test_to_uint8_refuses_unnormalised_pixels(bad: float) -> None:
    with pytest.raises(ValueError, match=r"expects pixels in \[0, 1\]"):
        to_uint8(np.array([[0.2, bad]], dtype=np.float32))
