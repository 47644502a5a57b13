"""Case-set import: untrusted CSV paths, corrupt files, de-identification, hints."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image, PngImagePlugin
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from rds_core.imaging import Radiograph, load_radiograph
from study.cases import (
    AiHint,
    CaseImportError,
    import_case_set,
    list_case_sets,
    parse_truth,
)
from study.db import connect
from study.deid import UidMapper, deidentify
from tests.study_helpers import fake_hint, film, write_films


def make_dicom(path: Path, *, study_uid: str, burned_in: str = "NO", seed: int = 0) -> Dataset:
    """A CR DICOM full of identifying data, saved to ``path``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "HOSPITAL_PACS"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CR"
    ds.PatientName = "Kim^Minsu"
    ds.PatientID = "PID-7731"
    ds.PatientBirthDate = "20240105"
    ds.PatientSex = "M"
    ds.PatientAge = "002D"
    ds.PatientAddress = "12 Hanuri-ro, Sejong"
    ds.InstitutionName = "Sejong Childrens Hospital"
    ds.InstitutionAddress = "34 Gareum-ro, Sejong"
    ds.ReferringPhysicianName = "Park^Jiyeon"
    ds.PerformingPhysicianName = "Lee^Daeho"
    ds.OperatorsName = "Choi^Tech"
    ds.AccessionNumber = "ACC998877"
    ds.StudyDate = "20240106"
    ds.StudyTime = "031500"
    ds.ContentDate = "20240106"
    ds.StudyDescription = "NICU chest Kim Minsu"
    ds.BurnedInAnnotation = burned_in
    ds.BodyPartExamined = "CHEST"
    item = Dataset()
    item.CodeValue = "R-10206"
    item.ScheduledPerformingPhysicianName = "Nested^Doctor"  # PN inside a kept sequence
    ds.ViewCodeSequence = DicomSequence([item])
    block = ds.private_block(0x0011, "ACME PACS", create=True)
    block.add_new(0x01, "LO", "Kim Minsu private copy")
    ds.set_pixel_data(film(seed, (96, 80)).astype(np.uint16) * 16, "MONOCHROME2", 12)
    ds.save_as(path, enforce_file_format=True)
    return ds


# --- tests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("RDS", 1), ("yes", 1), ("True", 1), (" rds ", 1),
     ("0", 0), ("non-RDS", 0), ("No", 0), ("non_rds", 0), ("false", 0), ("NON RDS", 0)],
)
def test_truth_spellings(text: str, expected: int) -> None:
    assert parse_truth(text) == expected


@pytest.mark.parametrize("text", ["", "maybe", "2", "RDS?"])
def test_truth_rejects_other_values(text: str) -> None:
    with pytest.raises(ValueError, match="not one of"):
        parse_truth(text)


def test_import_stores_renamed_metadata_free_pngs_with_hints(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    folder = tmp_path / "in"
    csv = write_films(folder, 3)
    # A PNG carrying a name in a text chunk, and a JPEG with EXIF: both must be scrubbed.
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Kim Minsu")
    Image.fromarray(film(10)).save(folder / "tagged.png", pnginfo=info)
    exif = Image.Exif()
    exif[0x013B] = "Kim Minsu"  # Artist
    Image.fromarray(film(11)).save(folder / "photo.jpg", exif=exif, quality=95)
    with csv.open("a") as handle:
        handle.write("tagged.png,RDS\nphoto.jpg,no\n")
    calls: list[tuple[int, int]] = []

    def hint(radiograph: Radiograph) -> AiHint:
        calls.append(radiograph.pixels.shape)
        return fake_hint(radiograph)

    report = import_case_set(db, folder, csv, storage_dir=tmp_path / "store", hint_fn=hint)

    assert report.skipped == ()
    assert [c.file for c in report.imported] == [f"case_{i:02d}.png" for i in range(3)] + ["tagged.png", "photo.jpg"]
    assert len(calls) == 5
    for case in report.imported:
        assert case.stored_path.parent == (tmp_path / "store").resolve()
        assert len(case.stored_path.stem) == 32 and case.stored_path.suffix == ".png"
        data = case.stored_path.read_bytes()
        assert b"Kim Minsu" not in data and b"tEXt" not in data and b"eXIf" not in data
    tagged = load_radiograph(report.imported[3].stored_path)
    original = load_radiograph(folder / "tagged.png")
    assert np.array_equal(tagged.pixels, original.pixels)  # lossless for 8-bit grey
    rows = list(db.query("SELECT c.truth, h.pack_name, h.heatmap_png IS NOT NULL AS heat FROM cases c "
                         "JOIN ai_hints h ON h.case_id = c.id ORDER BY c.position"))
    assert [r["truth"] for r in rows] == [0, 1, 0, 1, 0]
    assert all(r["pack_name"] == "fake-pack" and r["heat"] for r in rows)
    # Nothing in the database names the source files.
    dump = "\n".join(db.conn.iterdump())
    assert "case_00.png" not in dump and "tagged.png" not in dump
    [info_row] = list_case_sets(db)
    assert (info_row.status, info_row.n_cases, info_row.n_rds, info_row.n_hints) == ("ready", 5, 2, 5)


def test_untrusted_paths_are_rejected_with_reasons(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    folder = tmp_path / "in"
    outside = tmp_path / "secret.png"
    Image.fromarray(film(99)).save(outside)
    (folder / "sub").mkdir(parents=True)
    os.symlink(outside, folder / "sub" / "link.png")
    Image.fromarray(film(98)).save(folder / "sub" / "inside.png")
    csv = write_films(folder, 2, extra_rows=[
        "../secret.png,1",
        f"{outside},1",
        "sub/../../secret.png,0",
        "C:\\images\\x.png,1",
        "sub/link.png,1",
        "sub\\inside.png,0",
        "missing.png,1",
        ",1",
    ])

    report = import_case_set(db, folder, csv, storage_dir=tmp_path / "store")

    reasons = dict(report.skipped)
    assert "'..' is not allowed" in reasons["../secret.png"]
    assert "'..' is not allowed" in reasons["sub/../../secret.png"]
    assert "absolute paths are not allowed" in reasons[str(outside)]
    assert "absolute paths are not allowed" in reasons["C:\\images\\x.png"]
    assert "outside the case folder" in reasons["sub/link.png"]
    assert "no such file" in reasons["missing.png"]
    assert "no file name" in reasons["row 11"]
    assert [c.file for c in report.imported] == ["case_00.png", "case_01.png", "sub\\inside.png"]
    assert len(list((tmp_path / "store").iterdir())) == 3
    secret = hashlib.sha256(outside.read_bytes()).hexdigest()
    assert secret not in {r["source_sha256"] for r in db.query("SELECT source_sha256 FROM cases")}


def test_corrupt_files_are_reported_and_skipped(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    folder = tmp_path / "in"
    folder.mkdir()
    whole = io.BytesIO()
    Image.fromarray(film(50)).save(whole, format="PNG")
    (folder / "truncated.png").write_bytes(whole.getvalue()[:200])
    (folder / "notes.png").write_text("this is not an image")
    (folder / "empty.png").write_bytes(b"")
    (folder / "tiny.png").write_bytes(_png(np.zeros((10, 10), np.uint8)))
    Image.fromarray(film(0)).save(folder / "copy.png")
    Image.fromarray(film(60)).save(folder / "odd.png")
    csv = write_films(folder, 3, extra_rows=[
        "truncated.png,1", "notes.png,0", "empty.png,1", "tiny.png,0", "copy.png,1",
        "case_00.png,1", "odd.png,maybe",
    ])

    report = import_case_set(db, folder, csv, storage_dir=tmp_path / "store")

    reasons = dict(report.skipped)
    assert set(reasons) == {"truncated.png", "notes.png", "empty.png", "tiny.png", "copy.png",
                            "case_00.png", "odd.png"}
    assert "damaged" in reasons["truncated.png"] or "incomplete" in reasons["truncated.png"]
    assert "not a PNG, JPEG or DICOM" in reasons["notes.png"]
    assert "empty" in reasons["empty.png"]
    assert "minimum" in reasons["tiny.png"]
    assert "same image as 'case_00.png'" in reasons["copy.png"]
    assert "listed twice" in reasons["case_00.png"]
    assert "not one of" in reasons["odd.png"]
    assert len(report.imported) == 3


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_dicom_is_deidentified_before_storage(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    folder = tmp_path / "in"
    folder.mkdir()
    study_uid = generate_uid()
    originals = [make_dicom(folder / f"im{i}.dcm", study_uid=study_uid, seed=i,
                            burned_in="YES" if i == 1 else "NO") for i in range(2)]
    (folder / "truth.csv").write_text("file,truth\nim0.dcm,1\nim1.dcm,0\n")

    refused = import_case_set(db, folder, folder / "truth.csv", name="default", storage_dir=tmp_path / "store",
                              hint_fn=fake_hint)
    assert [file for file, _ in refused.skipped] == ["im1.dcm"]  # burned-in text refused by default
    assert "Burned In Annotation = YES" in refused.skipped[0][1]
    report = import_case_set(db, folder, folder / "truth.csv", storage_dir=tmp_path / "store",
                             hint_fn=fake_hint, accept_burned_in=True)

    assert report.skipped == ()
    assert report.warnings == (("im1.dcm", report.warnings[0][1]),)
    assert "burned into the pixels" in report.warnings[0][1]
    stored = [pydicom.dcmread(case.stored_path) for case in report.imported]
    for case, ds, original in zip(report.imported, stored, originals):
        raw = case.stored_path.read_bytes()
        assert case.stored_path.suffix == ".dcm"
        for secret in (b"Kim", b"PID-7731", b"20240105", b"20240106", b"Sejong", b"Park^Jiyeon",
                       b"Lee^Daeho", b"Choi^Tech", b"ACC998877", b"Nested^Doctor", b"HOSPITAL_PACS",
                       original.SOPInstanceUID.encode(), study_uid.encode()):
            assert secret not in raw, secret
        assert ds.PatientName == "" and ds.PatientID == "" and ds.PatientBirthDate == ""
        assert "PatientAge" not in ds and "InstitutionAddress" not in ds
        assert "PerformingPhysicianName" not in ds and "StudyDescription" not in ds
        assert ds.StudyDate == "" and ds.AccessionNumber == ""
        assert not any(elem.tag.is_private for elem in ds)
        assert "ScheduledPerformingPhysicianName" not in ds.ViewCodeSequence[0]
        assert ds.ViewCodeSequence[0].CodeValue == "R-10206"  # non-identifying content kept
        assert ds.SOPInstanceUID != original.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        assert ds.BurnedInAnnotation == original.BurnedInAnnotation
        assert np.array_equal(ds.pixel_array, original.pixel_array)
    # UIDs are replaced consistently: both films still share one (new) study.
    assert stored[0].StudyInstanceUID == stored[1].StudyInstanceUID != study_uid
    assert stored[0].SOPInstanceUID != stored[1].SOPInstanceUID


def test_uid_mapper_is_consistent_and_keyed() -> None:
    first, second = UidMapper(), UidMapper()
    uid = "1.2.826.0.1.3680043.8.498.1"
    assert first(uid) == first(uid) != first(uid + "1")
    assert first(uid) != second(uid)  # a random key per mapper: not reversible by hashing
    assert first(uid).startswith("2.25.") and len(first(uid)) <= 64


def test_deidentify_refuses_non_dicom() -> None:
    from study.deid import DeidentificationError

    with pytest.raises(DeidentificationError, match="could not be read as DICOM"):
        deidentify(b"\0" * 128 + b"DICM" + b"\xff" * 7)


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [("name,label\na.png,1\n", "needs the columns 'file' and 'truth'; missing: file, truth"),
     ("", "is empty")],
)
def test_bad_csv_is_refused(tmp_path: Path, csv_text: str, message: str) -> None:
    db = connect(tmp_path / "s.sqlite")
    (tmp_path / "t.csv").write_text(csv_text)
    with pytest.raises(CaseImportError, match=message):
        import_case_set(db, tmp_path, tmp_path / "t.csv", storage_dir=tmp_path / "store")


def test_nothing_importable_leaves_no_case_set(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    (tmp_path / "t.csv").write_text("file,truth\n../x.png,1\n")
    with pytest.raises(CaseImportError, match="No case could be imported") as caught:
        import_case_set(db, tmp_path, tmp_path / "t.csv", storage_dir=tmp_path / "store")
    assert caught.value.skipped[0][0] == "../x.png"
    assert list_case_sets(db) == []


def test_case_set_names_are_unique(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    csv = write_films(tmp_path / "in", 2)
    import_case_set(db, csv.parent, csv, name="set", storage_dir=tmp_path / "store")
    with pytest.raises(CaseImportError, match="already exists"):
        import_case_set(db, csv.parent, csv, name="set", storage_dir=tmp_path / "store")


# --- issue 14: nothing a reader sees follows the truth order -----------------------------


def _auc(scores: list[float], truths: list[int]) -> float:
    """Mann-Whitney AUC of ``scores`` as a predictor of ``truths`` (0.5: no information)."""
    pos = [s for s, t in zip(scores, truths) if t == 1]
    neg = [s for s, t in zip(scores, truths) if t == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_no_reader_visible_token_predicts_truth_when_imported_in_truth_order(tmp_path: Path) -> None:
    from study.admin import create_readers, create_study
    from study.cases import reader_case_number
    from study.protocol import next_task

    db = connect(tmp_path / "s.sqlite")
    n = 60
    truths = [0] * (n // 2) + [1] * (n // 2)  # the CSV lists every non-RDS film first
    csv = write_films(tmp_path / "films", n, truths=truths)
    report = import_case_set(db, csv.parent, csv, storage_dir=tmp_path / "store", hint_fn=fake_hint)
    study = create_study(db, name="s", case_set_id=report.case_set_id, design="sequential",
                         arms=("none", "score"), seed="x")
    [reader] = create_readers(db, study.study_id, 1)
    truth_of = dict(db.conn.execute("SELECT id, truth FROM cases").fetchall())
    ids = sorted(truth_of)
    assert ids != list(range(1, n + 1)) and max(ids) > 2**32  # not a sequence
    task = next_task(db, study.study_id, reader.reader_id)
    # The reader-visible tokens of each case: its id (keys, classes, URLs), the stored file
    # name, and the "Case k of n" number.
    stored = dict(db.conn.execute("SELECT id, stored_path FROM cases").fetchall())
    tokens = {
        "case id": {cid: cid for cid in ids},
        "stored name": {cid: int(Path(stored[cid]).stem, 16) for cid in ids},
        "case number": {cid: reader_case_number(db, study.study_id, reader.reader_id, cid).number for cid in ids},
    }
    for name, token in tokens.items():
        auc = _auc([token[cid] for cid in ids], [truth_of[cid] for cid in ids])
        assert 0.1 < auc < 0.9, (name, auc)  # a sequential id gives 1.0; chance beyond 0.9 is ~1e-7
    first = reader_case_number(db, study.study_id, reader.reader_id, task.key.case_id)
    assert (first.number, first.total) == (1, n)  # "Case 1 of 60"
    with pytest.raises(ValueError, match="not in the reading list"):
        reader_case_number(db, study.study_id, reader.reader_id, -1)


def test_case_numbers_restart_in_each_crossover_session(tmp_path: Path) -> None:
    from study.admin import create_readers, create_study
    from study.cases import reader_case_number

    db = connect(tmp_path / "s.sqlite")
    csv = write_films(tmp_path / "films", 6)
    report = import_case_set(db, csv.parent, csv, storage_dir=tmp_path / "store", hint_fn=fake_hint)
    study = create_study(db, name="x", case_set_id=report.case_set_id, design="crossover",
                         arms=("none", "score"), seed="s")
    [reader] = create_readers(db, study.study_id, 1)
    for session in (1, 2):
        plan = [row[0] for row in db.conn.execute(
            "SELECT case_id FROM plan WHERE reader_id = ? AND session = ? ORDER BY position",
            (reader.reader_id, session))]
        numbers = [reader_case_number(db, study.study_id, reader.reader_id, cid, session=session)
                   for cid in plan]
        assert [(n.number, n.total) for n in numbers] == [(i + 1, len(plan)) for i in range(len(plan))]


def test_a_deeply_nested_dicom_is_skipped_and_the_set_completes(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    folder = tmp_path / "in"
    folder.mkdir()
    make_dicom(folder / "good.dcm", study_uid=generate_uid())
    make_dicom(folder / "deep.dcm", study_uid=generate_uid(), seed=3)
    # Digital Signatures Sequence (FFFA,FFFA) nested 5000 items deep, undefined lengths,
    # appended after the pixels (its tag sorts last): far past Python's recursion limit.
    sq, item = b"\xfa\xff\xfa\xffSQ\0\0\xff\xff\xff\xff", b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    item_end, sq_end = b"\xfe\xff\x0d\xe0\0\0\0\0", b"\xfe\xff\xdd\xe0\0\0\0\0"
    depth = 5000
    with open(folder / "deep.dcm", "ab") as handle:
        handle.write((sq + item) * depth + (item_end + sq_end) * depth)
    (folder / "truth.csv").write_text("file,truth\ndeep.dcm,1\ngood.dcm,0\n")
    report = import_case_set(db, folder, folder / "truth.csv", storage_dir=tmp_path / "store")
    assert [f for f, _ in report.skipped] == ["deep.dcm"]
    assert "nest" in report.skipped[0][1] and len(report.imported) == 1
    assert [cs.status for cs in list_case_sets(db)] == ["ready"]


def test_a_failed_import_can_be_retried_under_the_same_name(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    csv = write_films(tmp_path / "films", 3)
    calls = {"n": 0}

    def broken_hint(radiograph: Radiograph) -> AiHint:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("a bug in the hint function")
        return fake_hint(radiograph)

    with pytest.raises(RuntimeError, match="a bug"):
        import_case_set(db, csv.parent, csv, name="set", storage_dir=tmp_path / "store", hint_fn=broken_hint)
    assert list_case_sets(db) == [] and list((tmp_path / "store").iterdir()) == []
    report = import_case_set(db, csv.parent, csv, name="set", storage_dir=tmp_path / "store", hint_fn=fake_hint)
    assert len(report.imported) == 3


def test_hard_links_and_special_files_are_refused(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    csv = write_films(tmp_path / "films", 2, extra_rows=["linked.png,1", "fifo.png,0"])
    outside = tmp_path / "outside.png"
    Image.fromarray(film(99)).save(outside)
    os.link(outside, csv.parent / "linked.png")
    os.mkfifo(csv.parent / "fifo.png")
    report = import_case_set(db, csv.parent, csv, storage_dir=tmp_path / "store")
    reasons = dict(report.skipped)
    assert "hard link" in reasons["linked.png"] and "not a regular file" in reasons["fifo.png"]


def test_database_and_case_files_are_private_to_their_owner(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = connect(tmp_path / "s.sqlite")
        csv = write_films(tmp_path / "films", 1)
        report = import_case_set(db, csv.parent, csv, storage_dir=tmp_path / "store")
    finally:
        os.umask(old)
    for path in (tmp_path / "s.sqlite", tmp_path / "s.sqlite-wal", report.imported[0].stored_path):
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_a_set_left_importing_by_a_killed_process_can_be_imported_again(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    db.conn.execute("INSERT INTO case_sets (name, storage_dir, status, created_at) "
                    "VALUES ('set', 'x', 'importing', '2026-01-01T00:00:00.000+00:00')")
    db.conn.commit()
    csv = write_films(tmp_path / "films", 2)
    report = import_case_set(db, csv.parent, csv, name="set", storage_dir=tmp_path / "store")
    assert [(cs.name, cs.status, cs.n_cases) for cs in list_case_sets(db)] == [("set", "ready", 2)]
    with pytest.raises(CaseImportError, match="already exists"):  # a finished set is never replaced
        import_case_set(db, csv.parent, csv, name="set", storage_dir=tmp_path / "store")
    assert report.name == "set"
