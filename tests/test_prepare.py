"""`python -m rds_core.train prepare` on a miniature dataset generated here.

The dataset mimics the research team's: DICOMs (one MONOCHROME1) and PNGs in two folders,
LabelMe and plain-list JSON next to the images, a CSV with ``filepath, rds, exist_json,
roi_area, height, width`` (+ ``patient_id``), and one bad row of every kind the tool must
reject.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid

from rds_core.train.folds import assign_folds
from rds_core.train.polygons import AnnotationError, parse_lung_annotation, rasterise
from rds_core.train.prepare import add_arguments, output_id, run

REPO = Path(__file__).resolve().parents[1]
HEIGHT, WIDTH = 96, 112
BODY, LUNG = 3000, 600  # 12-bit stored values: lungs are dark (air) on a bright body


# ---------------------------------------------------------------- data generation


def _film(lungs: list[tuple[int, int, int, int]]) -> np.ndarray:
    """A 12-bit film with dark rectangles (x0, y0, x1, y1, inclusive) as lungs."""
    film = np.full((HEIGHT, WIDTH), BODY, np.uint16)
    film[:4] = 100  # a dark border row so the value range is not just two levels
    for x0, y0, x1, y1 in lungs:
        film[y0 : y1 + 1, x0 : x1 + 1] = LUNG
    return film


def _write_dicom(path: Path, stored: np.ndarray, photometric: str = "MONOCHROME2", patient: str = "", other: str = "") -> None:
    ds = Dataset()
    if patient:
        ds.PatientID = patient
    if other:
        ds.OtherPatientIDs = other
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "DX"
    ds.set_pixel_data(stored, photometric, 12)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _rect(x0: int, y0: int, x1: int, y1: int) -> list[list[int]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def _labelme(lungs: list[tuple[int, int, int, int]], scale: int = 1) -> dict:
    shapes = [
        {"label": name, "points": [[x * scale, y * scale] for x, y in _rect(*box)], "shape_type": "polygon"}
        for name, box in zip(("right lung", "Left Lung"), lungs)
    ]
    shapes.append({"label": "heart", "points": _rect(50, 50, 60, 60), "shape_type": "polygon"})
    return {"shapes": shapes, "imageHeight": HEIGHT * scale, "imageWidth": WIDTH * scale}


def _lungs(i: int) -> list[tuple[int, int, int, int]]:
    """Two lungs whose size grows with i, so the folds have a spread of areas to deal."""
    return [(10, 12, 30 + i, 70 + i), (60, 12, 80 + i, 60 + 2 * i)]


def _box_area(lungs: list[tuple[int, int, int, int]]) -> int:
    return sum((x1 - x0 + 1) * (y1 - y0 + 1) for x0, y0, x1, y1 in lungs)


@pytest.fixture()
def dataset(tmp_path: Path) -> dict:
    """Write the miniature dataset; return paths and what each good row should become."""
    src = tmp_path / "src"
    rows: list[dict] = []
    expected: dict[str, dict] = {}

    def add(filepath: str, rds: object, exist_json: object = 1, patient: str = "") -> None:
        # height/width/roi_area are deliberately wrong: the tool recomputes them.
        rows.append({"filepath": filepath, "rds": rds, "exist_json": exist_json, "roi_area": 1, "height": 0, "width": 0, "patient_id": patient})

    for i in range(11):
        folder = "rds" if i % 2 else "normal"
        filepath = f"{folder}/d{i:02d}.dcm"
        lungs = _lungs(i)
        stored = _film(lungs)
        photometric = "MONOCHROME2"
        if i == 3:  # stored inverted: the loader must flip it back
            stored, photometric = (4095 - stored).astype(np.uint16), "MONOCHROME1"
        _write_dicom(src / filepath, stored, photometric)
        scale = 2 if i == 4 else 1  # annotated on a twice larger export: the tool must scale
        payload = _labelme(lungs, scale) if i % 2 == 0 else [_rect(*box) for box in lungs]
        (src / filepath).with_suffix(".json").write_text(json.dumps(payload))
        patient = "twins-mother" if i in (1, 9) else ""  # one patient, two films
        add(filepath, i % 2, 1, patient)
        expected[filepath] = {"lungs": lungs, "rds": i % 2, "scaled": scale != 1}
    for i, exist_json in ((11, 1), (12, 0)):
        filepath = f"png/p{i}.png"
        lungs = _lungs(i - 8)
        (src / "png").mkdir(exist_ok=True)
        cv2.imwrite(str(src / filepath), (_film(lungs) // 16).astype(np.uint8))
        if exist_json:
            (src / filepath).with_suffix(".json").write_text(json.dumps(_labelme(lungs)))
        add(filepath, i % 2, exist_json)
        expected[filepath] = {"lungs": lungs if exist_json else None, "rds": i % 2, "scaled": False}

    bad: dict[str, str] = {}

    def bad_dicom(name: str, payload: object | None, rds: object = 1, exist_json: object = 1, reason: str = "") -> None:
        filepath = f"bad/{name}.dcm"
        _write_dicom(src / filepath, _film(_lungs(0)))
        if payload is not None:
            text = payload if isinstance(payload, str) else json.dumps(payload)
            (src / filepath).with_suffix(".json").write_text(text)
        add(filepath, rds, exist_json)
        bad[filepath] = reason

    add("bad/not_there.dcm", 0)
    bad["bad/not_there.dcm"] = "Image file not found"
    (src / "bad").mkdir(exist_ok=True)
    whole = (src / "normal/d00.dcm").read_bytes()
    (src / "bad/truncated.dcm").write_bytes(whole[: len(whole) // 2])
    (src / "bad/truncated.json").write_text(json.dumps([_rect(10, 10, 20, 20)]))
    add("bad/truncated.dcm", 0)
    bad["bad/truncated.dcm"] = "truncated.dcm .*incomplete"
    bad_dicom("no_json", None, reason="exist_json is 1 but .*no_json.json does not exist")
    bad_dicom("heart_only", {"shapes": [{"label": "heart", "points": _rect(5, 5, 20, 20)}]}, reason="heart_only.json: No lung polygon.*'heart'")
    bad_dicom("outside", [_rect(10, 10, 500, 40)], reason="outside the 112 x 96 image")
    bad_dicom("label2", [_rect(10, 10, 20, 20)], rds=2, reason="rds label must be 0 or 1 \\(found '2'\\)")
    bad_dicom("broken_json", "{not json", reason="^broken_json.json: not valid JSON")
    bad_dicom("flag", [_rect(10, 10, 20, 20)], exist_json="yes", reason="exist_json must be 0 or 1")
    add("normal/d00.dcm", 0)
    bad["normal/d00.dcm#dup"] = "same filepath as row 2"

    csv = src / "labels.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return {"csv": csv, "src": src, "out": tmp_path / "out", "expected": expected, "bad": bad, "rows": rows}


def _run(*argv: str | Path) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args([str(a) for a in argv]))


def _read_png(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- end to end


def test_prepare_converts_good_rows_and_reports_every_bad_one(dataset: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(dataset["csv"], "--out", dataset["out"]) == 0
    out, expected = dataset["out"], dataset["expected"]
    table = pd.read_csv(out / "dataset.csv", keep_default_na=False)

    assert sorted(table["filepath"]) == sorted(expected)
    assert list(table.columns[:7]) == ["filepath", "rds", "exist_json", "roi_area", "height", "width", "patient_id"]
    assert {"image", "mask", "fold"} <= set(table.columns)
    for _, row in table.iterrows():
        want = expected[row["filepath"]]
        assert row["rds"] == want["rds"]
        assert (row["height"], row["width"]) == (HEIGHT, WIDTH)
        assert row["image"] == f"images/{output_id(row['filepath'])}.png"
        image = _read_png(out / row["image"])
        assert image.dtype == np.uint8 and image.shape == (HEIGHT, WIDTH)
        if want["lungs"] is None:
            assert row["mask"] == "" and row["roi_area"] == ""
            continue
        mask = _read_png(out / row["mask"])
        assert set(np.unique(mask)) == {0, 255}
        truth = np.zeros((HEIGHT, WIDTH), bool)
        for x0, y0, x1, y1 in want["lungs"]:
            truth[y0 : y1 + 1, x0 : x1 + 1] = True
        if want["scaled"]:
            # Drawn at twice the size: the scaled polygon may shift by under a pixel.
            overlap = np.logical_and(mask > 0, truth).sum() / np.logical_or(mask > 0, truth).sum()
            assert overlap > 0.95
        else:
            assert (mask[truth] == 255).all() and (mask[~truth] == 0).all(), row["filepath"]
            assert int(row["roi_area"]) == _box_area(want["lungs"])
        assert int(row["roi_area"]) == np.count_nonzero(mask)
        # LUTs applied and MONOCHROME1 inverted: lungs are dark in every output, d03 included.
        assert image[mask > 0].mean() < image[mask == 0].mean() - 50, row["filepath"]

    # Patient ids: the column where given, else the file stem; one patient stays in one fold.
    twins = table[table["patient_id"] == "twins-mother"]
    assert len(twins) == 2 and twins["fold"].nunique() == 1
    assert table.set_index("filepath").loc["normal/d02.dcm", "patient_id"] == "d02"

    rejected = pd.read_csv(out / "rejected.csv", keep_default_na=False)
    assert list(rejected.columns) == ["row", "filepath", "reason"]
    assert len(rejected) == len(dataset["bad"])
    line_of = {r["filepath"]: n + 2 for n, r in enumerate(dataset["rows"])}
    for key, pattern in dataset["bad"].items():
        filepath = key.split("#")[0]
        hits = rejected[rejected["filepath"] == filepath]
        if key.endswith("#dup"):
            hits = hits[hits["row"] == len(dataset["rows"]) + 1]
        else:
            assert list(hits["row"]) == [line_of[filepath]]
        assert len(hits) == 1 and hits["reason"].str.contains(pattern, regex=True).all(), (key, list(hits["reason"]))

    printed = capsys.readouterr().out
    assert "Rejected rows (9)" in printed
    assert "bad/heart_only.dcm" in printed and "No lung polygon" in printed
    assert "Prepared 13 of 22 rows (12 with a lung mask, 1 without); rejected 9." in printed
    assert "1 mask(s) were scaled" in printed


def test_folds_are_balanced_per_label_and_partition_the_dataset(dataset: dict) -> None:
    assert _run(dataset["csv"], "--out", dataset["out"]) == 0
    out = dataset["out"]
    table = pd.read_csv(out / "dataset.csv", keep_default_na=False)
    counts = pd.crosstab(table["fold"], table["rds"]).reindex(range(5), fill_value=0)
    assert (counts.max() - counts.min()).max() <= 1, counts
    assert table.groupby("patient_id")["fold"].nunique().max() == 1

    seen: list[str] = []
    for k in range(5):
        fold = pd.read_csv(out / f"dataset_fold_{k}_5.csv", keep_default_na=False)
        assert list(fold.columns) == list(table.columns)
        assert (fold["fold"] == k).all()
        seen += list(fold["filepath"])
    assert sorted(seen) == sorted(table["filepath"])


def test_rerun_is_idempotent_and_rewrites_only_what_changed(dataset: dict, capsys: pytest.CaptureFixture[str]) -> None:
    out = dataset["out"]
    assert _run(dataset["csv"], "--out", out) == 0
    first = _snapshot(out)
    capsys.readouterr()

    assert _run(dataset["csv"], "--out", out) == 0
    assert _snapshot(out) == first  # same bytes, and no file touched (same mtimes)
    assert "0 written" in capsys.readouterr().out

    # Shrink one lung annotation: its mask changes, no image and no other mask does.
    json_path = dataset["src"] / "rds/d05.json"
    json_path.write_text(json.dumps([_rect(10, 12, 20, 30)]))
    assert _run(dataset["csv"], "--out", out) == 0
    after = _snapshot(out)
    changed = {name for name in first if after[name] != first[name]}
    mask_name = f"masks/{output_id('rds/d05.dcm')}.png"
    assert mask_name in changed and "dataset.csv" in changed
    assert not {name for name in changed if name.startswith(("images/", "masks/"))} - {mask_name}

    # Dropping a row leaves its files in place, but the run says so.
    capsys.readouterr()
    pd.read_csv(dataset["csv"], dtype=str, keep_default_na=False).drop(index=2).to_csv(dataset["csv"], index=False)
    assert _run(dataset["csv"], "--out", out) == 0
    assert "2 PNG file(s)" in capsys.readouterr().out


def test_json_dir_mirror_and_flat_lookup(tmp_path: Path) -> None:
    src, notes = tmp_path / "src", tmp_path / "notes"
    lungs = _lungs(0)
    rows = []
    for filepath, json_at in (
        ("a/x.dcm", "a/x.json"),  # mirrored sub-folder
        ("b/y.dcm", "y.json"),  # flat, unique stem
        ("c/z.dcm", "z.json"),  # flat but the stem z is shared: ambiguous
        ("d/z.dcm", None),
    ):
        _write_dicom(src / filepath, _film(lungs))
        if json_at:
            (notes / json_at).parent.mkdir(parents=True, exist_ok=True)
            (notes / json_at).write_text(json.dumps([_rect(*box) for box in lungs]))
        rows.append({"filepath": filepath.replace("/", "\\"), "rds": 0, "exist_json": 1, "roi_area": "", "height": "", "width": ""})
    pd.DataFrame(rows).to_csv(tmp_path / "list.csv", index=False)

    assert _run(tmp_path / "list.csv", "--out", tmp_path / "out", "--root", src, "--json-dir", notes) == 0
    table = pd.read_csv(tmp_path / "out/dataset.csv", keep_default_na=False)
    assert sorted(table["filepath"]) == ["a\\x.dcm", "b\\y.dcm"]
    assert (table["roi_area"] == _box_area(lungs)).all()
    rejected = pd.read_csv(tmp_path / "out/rejected.csv")
    assert rejected.set_index("filepath")["reason"].str.contains("could belong to any of the 2 images named 'z'").all()


@pytest.mark.parametrize(
    ("make_csv", "status", "message"),
    [
        (lambda p: pd.DataFrame({"filepath": ["gone.dcm"], "rds": [1], "exist_json": [0]}).to_csv(p, index=False), 1, "Prepared 0 of 1 rows"),
        (lambda p: pd.DataFrame({"filepath": ["a.dcm"], "label": [1]}).to_csv(p, index=False), 2, "lacks the column\\(s\\) rds, exist_json"),
        (lambda p: None, 2, "does not exist"),
    ],
    ids=["nothing-prepared", "missing-columns", "no-csv"],
)
def test_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str], make_csv, status: int, message: str) -> None:
    csv = tmp_path / "in.csv"
    make_csv(csv)
    assert _run(csv, "--out", tmp_path / "out") == status
    captured = capsys.readouterr()
    assert re.search(message, captured.out + captured.err), captured


def test_module_entry_point(dataset: dict) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "rds_core.train.prepare", str(dataset["csv"]), "--out", str(dataset["out"]), "--bits", "16"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Prepared 13 of 22 rows" in done.stdout
    table = pd.read_csv(dataset["out"] / "dataset.csv")
    assert _read_png(dataset["out"] / table["image"][0]).dtype == np.uint16


# ---------------------------------------------------------------- folds


def test_folds_deal_round_robin_by_area_within_each_label() -> None:
    rng = np.random.default_rng(0)
    labels = [int(v) for v in rng.integers(0, 2, 37)]
    areas = [float(v) for v in rng.permutation(37) * 100]
    keys = [f"k{i:02d}" for i in range(37)]
    folds = assign_folds(labels, areas, keys, keys)
    for label in (0, 1):
        rows = sorted((i for i in range(37) if labels[i] == label), key=lambda i: areas[i])
        assert [folds[i] for i in rows] == [n % 5 for n in range(len(rows))]


def test_folds_keep_patients_together_and_ignore_row_order() -> None:
    rng = np.random.default_rng(1)
    n = 60
    labels = [int(v) for v in rng.integers(0, 2, n)]
    areas: list[float | None] = [float(v) for v in rng.uniform(1e4, 9e4, n)]
    areas[5] = areas[17] = None  # films without a mask
    groups = [f"p{int(g)}" for g in rng.integers(0, 40, n)]
    keys = [f"k{i:02d}" for i in range(n)]
    folds = assign_folds(labels, areas, groups, keys)
    for group in set(groups):
        assert len({folds[i] for i in range(n) if groups[i] == group}) == 1
    largest = max(groups.count(g) for g in set(groups))
    for label in (0, 1):
        per_fold = [sum(1 for i in range(n) if labels[i] == label and folds[i] == f) for f in range(5)]
        assert max(per_fold) - min(per_fold) <= largest, per_fold

    order = rng.permutation(n)
    shuffled = assign_folds([labels[i] for i in order], [areas[i] for i in order], [groups[i] for i in order], [keys[i] for i in order])
    assert {keys[i]: f for i, f in zip(order, shuffled)} == dict(zip(keys, folds))


def test_folds_refuse_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="one entry per row"):
        assign_folds([0, 1], [1.0], ["a", "b"], ["a", "b"])
    with pytest.raises(ValueError, match="at least 2 folds"):
        assign_folds([0], [1.0], ["a"], ["a"], n_folds=1)


# ---------------------------------------------------------------- polygons


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "empty list"),
        ({"version": "5"}, "without a 'shapes' list"),
        ("lungs", "holds a str"),
        ([[[1, 1], [5, 5]]], "has 2 point\\(s\\)"),
        ([[[1, "a"], [5, 5], [1, 5]]], "not a list of \\[x, y\\] number pairs"),
        ({"shapes": [{"label": "lung", "points": _rect(1, 1, 9, 9), "shape_type": "rectangle"}]}, "shapes found: 'lung \\(rectangle\\)'"),
        ({"shapes": []}, "shapes found: none"),
    ],
)
def test_bad_annotations_are_refused_with_a_reason(payload: object, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        parse_lung_annotation(payload)


@pytest.mark.parametrize("label", ["lung", "LEFT LUNG", "rt_lung", "우측 폐"])
def test_lung_labels_are_recognised(label: str) -> None:
    annotation = parse_lung_annotation({"shapes": [{"label": label, "points": _rect(1, 1, 9, 9)}]})
    assert annotation.style == "labelme" and len(annotation.polygons) == 1


def test_single_polygon_and_overlapping_polygons_are_united() -> None:
    single = parse_lung_annotation(_rect(10, 10, 19, 19))
    assert rasterise(single, (64, 64)).sum() // 255 == 100
    overlapping = parse_lung_annotation([_rect(10, 10, 19, 19), _rect(15, 10, 24, 19)])
    assert np.count_nonzero(rasterise(overlapping, (64, 64))) == 150  # no hole where they overlap


def test_rasterise_refuses_another_shape_or_a_polygon_outside() -> None:
    annotation = parse_lung_annotation({"shapes": [{"label": "lung", "points": _rect(1, 1, 9, 9)}], "imageHeight": 100, "imageWidth": 50})
    with pytest.raises(AnnotationError, match="drawn on a 50 x 100 image but the image is 100 x 50"):
        rasterise(annotation, (50, 100))
    near_edge = parse_lung_annotation([_rect(-1, 0, 64.5, 63)])
    assert np.count_nonzero(rasterise(near_edge, (64, 65))) == 64 * 65  # clicks just past the border are clipped
    with pytest.raises(AnnotationError, match="outside the 65 x 64 image"):
        rasterise(parse_lung_annotation([_rect(-5, 0, 30, 30)]), (64, 65))


# ---------------------------------------------------------------- labels, patients, team folds


def _small_set(tmp_path: Path, labels: list[object], patients: list[tuple[str, str, str]] | None = None) -> Path:
    """DICOMs ``f{i}.dcm`` without JSON (exist_json 0); ``patients[i]`` = (column, PatientID, OtherPatientIDs)."""
    rows = []
    for i, label in enumerate(labels):
        column, header, other = patients[i] if patients else ("", "", "")
        _write_dicom(tmp_path / f"src/f{i}.dcm", _film(_lungs(i)), patient=header, other=other)
        rows.append({"filepath": f"f{i}.dcm", "rds": label, "exist_json": "0", "patient_id": column})
    csv = tmp_path / "src/labels.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv


def test_labels_are_strict_and_every_spelling_is_reported(tmp_path: Path) -> None:
    spellings = ["1", "0", "1.0", "0.0", "TRUE", "false", "RDS", " non-RDS ", "yes", "2", "", "rds?"]
    csv = _small_set(tmp_path, spellings)
    assert _run(csv, "--out", tmp_path / "out") == 0
    table = pd.read_csv(tmp_path / "out/dataset.csv", keep_default_na=False)
    assert list(table["rds"]) == [1, 0, 1, 0, 1, 0, 1, 0]
    rejected = pd.read_csv(tmp_path / "out/rejected.csv", keep_default_na=False)
    assert list(rejected["filepath"]) == ["f8.dcm", "f9.dcm", "f10.dcm", "f11.dcm"]
    assert rejected["reason"].str.contains("rds label must be 0 or 1 .*accepted: 1/0, 1.0/0.0, true/false, RDS/non-RDS").all()


def test_a_single_class_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(_small_set(tmp_path, ["1", "RDS", "true"]), "--out", tmp_path / "out") == 0
    assert "WARNING: every prepared film has rds = 1" in capsys.readouterr().out


def test_patient_id_from_column_else_dicom_header_else_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patients = [("baby-a", "IGNORED", ""), ("", "P-17", ""), ("", "P-17", ""), ("", "", "OTHER-9"), ("", "", ""), ("", "", "")]
    csv = _small_set(tmp_path, [1, 0, 1, 0, 1, 0], patients)
    assert _run(csv, "--out", tmp_path / "out") == 0
    table = pd.read_csv(tmp_path / "out/dataset.csv", keep_default_na=False).set_index("filepath")
    assert list(table["patient_id"]) == ["baby-a", "P-17", "P-17", "OTHER-9", "f4", "f5"]
    assert table.loc["f1.dcm", "fold"] == table.loc["f2.dcm", "fold"]  # one baby, one fold
    assert "Patient ids from: column 1, dicom 3, file name 2" in capsys.readouterr().out


def test_folds_from_keeps_the_team_folds_and_warns_on_a_split_patient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patients = [("", f"P{i}", "") for i in range(9)] + [("", "P0", "")]  # f9 is P0's second film
    csv = _small_set(tmp_path, [i % 2 for i in range(10)] + [1], patients + [("", "", "")])
    team = {f"f{i}.dcm": (7 * i + 3) % 5 for i in range(10)}  # nothing like our own deal; f10 is in no table
    source = pd.read_csv(csv, dtype=str, keep_default_na=False)
    for k in range(5):
        rows = source[source["filepath"].map(team.get) == k].assign(filepath=lambda f: "C:\\data\\" + f["filepath"])
        rows.to_csv(tmp_path / f"src/dataset_fold_{k}_5.csv", index=False)
    assert _run(csv, "--out", tmp_path / "out", "--folds-from", "dataset_fold_{k}_5.csv", "--strip-prefix", "C:/data/") == 0
    table = pd.read_csv(tmp_path / "out/dataset.csv", keep_default_na=False)
    assert dict(zip(table["filepath"], table["fold"])) == team
    rejected = pd.read_csv(tmp_path / "out/rejected.csv", keep_default_na=False)
    assert list(rejected["filepath"]) == ["f10.dcm"] and "none of the fold tables" in rejected["reason"][0]
    assert team["f0.dcm"] != team["f9.dcm"]
    assert "WARNING: 1 patient(s) have films in more than one of the given folds (e.g. 'P0')" in capsys.readouterr().out


def test_folds_from_refuses_a_missing_table_or_a_pattern_without_k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = _small_set(tmp_path, [0, 1])
    assert _run(csv, "--out", tmp_path / "out", "--folds-from", "folds.csv") == 2
    assert "--folds-from needs '{k}'" in capsys.readouterr().err
    assert _run(csv, "--out", tmp_path / "out", "--folds-from", "dataset_fold_{k}_5.csv") == 2
    assert "dataset_fold_0_5.csv does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------- a tiny team set for the training tests


def make_team_set(folder: Path, n: int = 20, *, patients: bool = True) -> Path:
    """Write ``n`` DICOMs with LabelMe lungs and the team's CSV; RDS films have hazier (brighter) lungs.

    Films ``2i`` and ``2i + 1`` share a DICOM PatientID when ``patients`` is set. Returns the CSV.
    """
    rows = []
    for i in range(n):
        lungs = _lungs(i % 9)
        film = _film(lungs)
        rds = i % 2
        if rds:
            for x0, y0, x1, y1 in lungs:
                film[y0 : y1 + 1, x0 : x1 + 1] = LUNG + 1500  # ground-glass lungs: a signal a tiny net can find
        filepath = f"{'rds' if rds else 'normal'}/f{i:02d}.dcm"
        _write_dicom(folder / filepath, film, patient=f"B{i // 2:02d}" if patients else "")
        (folder / filepath).with_suffix(".json").write_text(json.dumps(_labelme(lungs)))
        rows.append({"filepath": filepath, "rds": float(rds), "exist_json": 1, "roi_area": "", "height": "", "width": ""})
    csv = folder / "labels.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv
