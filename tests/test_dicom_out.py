"""DICOM out (issue 12): SEG, FRACTIONAL heatmap SEG, TID 1500 SR and SC, validated by dciodvfy and highdicom."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from rds_core.dicom_out import DicomOutputError, read_source, write_results
from rds_core.dicom_out.report import PROBABILITY_CODE, THRESHOLD_CODE, fold_code
from rds_core.imaging import load_radiograph
from rds_core.pipeline import Analysis, analyze, load_models
from tests.core_packs import make_packs
from tests.test_dicom_loader import chest_texture
from tests.test_imaging import dicom_bytes

# Patient and study attributes a result may carry only as the source has them (PS3.15 E.1-1 subset).
IDENTIFYING = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "PatientAge", "OtherPatientIDs",
               "AccessionNumber", "StudyID", "ReferringPhysicianName", "InstitutionName", "StudyDate", "StudyTime",
               "StudyDescription", "PatientComments", "PatientAddress", "PatientTelephoneNumbers")


def source_film(**extra: object) -> bytes:
    """A CR chest film with the identifiers a hospital export carries."""
    return dicom_bytes(
        chest_texture(200, 180), "MONOCHROME1", 12, modality="CR", BodyPartExamined="CHEST",
        StudyInstanceUID=generate_uid(), SeriesInstanceUID=generate_uid(), PatientName="Doe^Baby",
        PatientID="NICU-0042", PatientBirthDate="20260101", PatientSex="F", AccessionNumber="ACC123",
        StudyID="77", StudyDate="20260102", StudyTime="101500", ReferringPhysicianName="", SeriesNumber=3,
        InstanceNumber=1, PatientOrientation=["L", "F"], **extra,
    )


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Analysis, Path]:
    """One film analysed with the tiny random packs and its four outputs written."""
    cls_dir, seg_dir = make_packs(tmp_path_factory.mktemp("weights"))
    data = source_film()
    analysis = analyze(load_radiograph(data, name="film.dcm"), load_models(str(cls_dir), str(seg_dir), "cpu"))
    out = tmp_path_factory.mktemp("out")
    write_results(read_source(data, "film.dcm"), analysis, out, "film")
    return data, analysis, out


SUFFIXES = (".seg.dcm", ".heatmap.dcm", ".sr.dcm", ".sc.dcm")


def test_four_objects_are_written(analysed: tuple[bytes, Analysis, Path]) -> None:
    assert sorted(p.name for p in analysed[2].iterdir()) == sorted(f"film{s}" for s in SUFFIXES)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_dciodvfy_finds_no_errors(analysed: tuple[bytes, Analysis, Path], suffix: str) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy is not installed (Debian package dicom3tools; .ci/run installs it)")
    done = subprocess.run(["dciodvfy", str(analysed[2] / f"film{suffix}")], capture_output=True, text=True,
                          timeout=60)
    errors = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")]
    assert errors == [], "\n".join(errors)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_object_references_the_source_and_adds_no_patient_data(
    analysed: tuple[bytes, Analysis, Path], suffix: str
) -> None:
    data, _, out = analysed
    source, result = pydicom.dcmread(io.BytesIO(data)), pydicom.dcmread(out / f"film{suffix}")
    assert result.StudyInstanceUID == source.StudyInstanceUID
    assert result.SOPInstanceUID != source.SOPInstanceUID and result.SeriesInstanceUID != source.SeriesInstanceUID
    assert str(source.SOPInstanceUID) in _all_uids(result)  # the source instance is referenced
    assert_no_more_patient_data(source, result)
    assert "research use, not for clinical use" in str(result.SeriesDescription)


def assert_no_more_patient_data(source: pydicom.Dataset, result: pydicom.Dataset) -> None:
    """Each identifying value of the result is the source's, or a cut of it (over-long values), or empty."""
    for keyword in IDENTIFYING:
        if result.get(keyword):
            assert str(source.get(keyword, "")).startswith(str(result.get(keyword))), keyword


def _all_uids(ds: pydicom.Dataset) -> set[str]:
    found: set[str] = set()
    for element in ds.iterall():
        if element.VR == "UI" and element.value:
            found.add(str(element.value))
    return found


def test_lung_seg_is_binary_at_source_size_and_matches_the_mask(analysed: tuple[bytes, Analysis, Path]) -> None:
    _, analysis, out = analysed
    seg = hd.seg.segread(out / "film.seg.dcm")
    assert seg.segmentation_type == hd.seg.SegmentationTypeValues.BINARY
    assert seg.get_segment_description(1).segmented_property_type == pydicom.sr.codedict.codes.SCT.Lung
    source_uid = pydicom.dcmread(io.BytesIO(analysed[0])).SOPInstanceUID
    mask = seg.get_pixels_by_source_instance([source_uid], combine_segments=True)[0]
    assert mask.shape == (200, 180)
    np.testing.assert_array_equal(mask.astype(bool), analysis.lung_mask)


def test_heatmap_seg_is_fractional_and_keeps_the_map(analysed: tuple[bytes, Analysis, Path]) -> None:
    data, analysis, out = analysed
    seg = hd.seg.segread(out / "film.heatmap.dcm")
    assert seg.segmentation_type == hd.seg.SegmentationTypeValues.FRACTIONAL
    source_uid = pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID
    values = seg.get_pixels_by_source_instance([source_uid], rescale_fractional=True)[0, ..., 0]
    assert values.shape == (200, 180)
    fused = analysis.cams.fused
    if fused.shape == values.shape:
        np.testing.assert_allclose(values, fused, atol=1 / 255 + 1e-6)
    assert abs(float(values.mean()) - float(fused.mean())) < 0.02


def test_sr_holds_the_finding_probabilities_threshold_pack_and_notice(analysed: tuple[bytes, Analysis, Path]) -> None:
    _, analysis, out = analysed
    sr = hd.sr.srread(out / "film.sr.dcm")
    assert sr.SOPClassUID == pydicom.uid.Comprehensive3DSRStorage
    group = sr.content.get_image_measurement_groups()[0]
    values = {m.name.meaning: m.value for m in group.get_measurements()}
    assert values[PROBABILITY_CODE.meaning] == pytest.approx(analysis.probability)
    assert [values[fold_code(i).meaning] for i in range(5)] == pytest.approx(analysis.fold_probabilities)
    assert values[THRESHOLD_CODE.meaning] == pytest.approx(analysis.threshold)
    finding = group.get_qualitative_evaluations()[0]
    assert finding.value.meaning == ("Present" if analysis.positive else "Absent")
    text = str(sr)
    for needed in (analysis.pack.name, analysis.pack.version, f"device {analysis.device}",
                   "research use, not for clinical use"):
        assert needed in text


def test_sc_is_an_rgb_capture_of_the_overlay(analysed: tuple[bytes, Analysis, Path]) -> None:
    _, analysis, out = analysed
    sc = pydicom.dcmread(out / "film.sc.dcm")
    assert sc.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert sc.pixel_array.shape == (*analysis.display.shape, 3)


def test_source_without_identifiers_is_refused_in_one_sentence() -> None:
    ds = pydicom.dcmread(io.BytesIO(source_film()))
    del ds.StudyInstanceUID
    buffer = io.BytesIO()
    ds.save_as(buffer)
    with pytest.raises(DicomOutputError, match=r"^film\.dcm has no StudyInstanceUID") as caught:
        read_source(buffer.getvalue(), "film.dcm")
    assert "\n" not in str(caught.value)


def test_png_input_is_refused() -> None:
    with pytest.raises(DicomOutputError, match=r"^film\.png is not a DICOM file"):
        read_source(b"\x89PNG\r\n\x1a\n" + bytes(100), "film.png")


# ---------------------------------------------------------------- the CLI


def test_cli_dicom_out_writes_results_for_dicom_inputs_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rds_core.__main__ import main
    from tests.test_imaging import png_bytes

    cls_dir, seg_dir = make_packs(tmp_path / "weights")
    films = tmp_path / "films"
    films.mkdir()
    (films / "baby.dcm").write_bytes(source_film())
    (films / "photo.png").write_bytes(png_bytes(chest_texture(120, 100).astype(np.uint8)))
    out = tmp_path / "out"
    status = main(["analyze", str(films), "--out", str(out), "--pack", str(cls_dir), "--seg-pack", str(seg_dir),
                   "--device", "cpu", "--dicom-out"])
    assert status == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    assert {f"baby{s}" for s in SUFFIXES} <= names and "photo.json" in names
    assert not any(n.startswith("photo") and n.endswith(".dcm") for n in names)


def test_cli_stderr_is_one_line_per_fact(tmp_path: Path) -> None:
    """No pydicom warnings, no progress-bar residue, and skipped file types are named (issue 12, item 7)."""
    cls_dir, seg_dir = make_packs(tmp_path / "weights")
    films = tmp_path / "films"
    films.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(4):  # more than 3 films: the progress bar would be on
            (films / f"film{i}.dcm").write_bytes(source_film(OtherPatientIDs="Y" * 80))  # over-long: pydicom warns
    (films / "broken.dcm").write_bytes(b"DICM" * 10)
    (films / "notes.txt").write_text("not a film")
    (films / "scan.j2k").write_bytes(b"\x00\x00\x00\x0cjP  ")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "rds_core", "analyze", str(films), "--out", str(tmp_path / "out"),
                           "--pack", str(cls_dir), "--seg-pack", str(seg_dir), "--device", "cpu"],
                          capture_output=True, text=True, env=env, timeout=240)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1
    assert lines[0].startswith(f"note: skipped 2 files in {films}") and "(.j2k, .txt)" in lines[0]
    assert lines[1].startswith(f"{films / 'broken.dcm'}: ")
    assert lines[2].startswith("analysed 4 of 5 films")
    assert len(lines) == 3, done.stderr


REAL = {  # shipped public films whose headers are what real exports look like
    "966_fixed.dcm": "hashed birth date and a 56-character accession number",
    "CR-MONO1-10-chest.dcm": "ACR-NEMA style, no PatientID, no orientation",
    "derived_RG1_MONO2_explicitLE_512.dcm": "a derived film",
}


@pytest.mark.filterwarnings("ignore:The value length:UserWarning")  # this test's own read of 966_fixed
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_exports_give_valid_objects(name: str, tmp_path: Path) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy is not installed (Debian package dicom3tools; .ci/run installs it)")
    from tests.test_imaging import DICOM_DIR

    cls_dir, seg_dir = make_packs(tmp_path / "weights")
    data = (DICOM_DIR / name).read_bytes()
    analysis = analyze(load_radiograph(data, name=name), load_models(str(cls_dir), str(seg_dir), "cpu"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_results(read_source(data, name), analysis, tmp_path / "out", "film")
    assert [str(w.message) for w in caught] == []
    source = pydicom.dcmread(io.BytesIO(data), force=True)
    for path in paths:
        done = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
        errors = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("Error")]
        assert errors == [], f"{path.name}: {errors}"
        assert_no_more_patient_data(source, pydicom.dcmread(path))
