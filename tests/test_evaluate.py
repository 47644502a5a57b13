"""``python -m rds_core evaluate``: the deployed fold mean scored on a labelled set in the team's format."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import pytest

from rds_core.__main__ import main as rds_main
from rds_core.train.cls import add_arguments, run
from rds_core.train.prepare import prepare_dataset
from tests.test_prepare import make_team_set

REPO = Path(__file__).resolve().parents[1]
SEG_PACK = REPO / "weights" / "lung-seg"  # the real U-Net finds the generated films' lungs; a random one would not

pytestmark = pytest.mark.skipif(not (SEG_PACK / "manifest.json").exists(), reason="needs the shipped weights/lung-seg pack")


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("team")
    csv = make_team_set(root / "src", n=20)
    prepare_dataset(csv, root / "prepared")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    pack = root / "pack"
    args = ["--csv", str(root / "prepared/dataset.csv"), "--out", str(pack), "--model", "test_efficientnet", "--size", "64",
            "--epochs", "1", "--batch", "8", "--device", "cpu", "--threads", "1", "--no-tensorboard"]
    assert run(parser.parse_args(args)) == 0
    return {"src": root / "src", "csv": csv, "pack": pack, "root": root}


def test_evaluate_scores_the_fold_mean_with_intervals_and_per_film_rows(team: dict[str, Path], tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    truth = pd.read_csv(team["csv"], dtype=str, keep_default_na=False)
    truth["filepath"] = "D:\\films\\" + truth["filepath"].str.replace("/", "\\")  # a sheet written on Windows
    truth.loc[0, "rds"] = "maybe"  # not a label: that film is skipped, not counted as RDS
    truth.to_csv(tmp_path / "truth.csv", index=False)
    (team["src"] / "extra").mkdir(exist_ok=True)
    (team["src"] / "extra/unlabelled.dcm").write_bytes((team["src"] / "normal/f00.dcm").read_bytes())

    status = rds_main(["evaluate", str(team["src"]), "--truth", str(tmp_path / "truth.csv"), "--root", str(team["src"]),
                       "--strip-prefix", "D:/films/", "--pack", str(team["pack"]), "--seg-pack", str(SEG_PACK),
                       "--out", str(tmp_path / "ev"), "--device", "cpu"])
    assert status == 0
    captured = capsys.readouterr()
    assert "19 films (10 RDS, 9 non-RDS, 10 patients)" in captured.out and "DeLong" in captured.out
    assert "label 'maybe'" in captured.err and "2 film(s) have no truth row" in captured.err  # the rejected row and the extra film

    metrics = json.loads((tmp_path / "ev/metrics.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    manifest = json.loads((team["pack"] / "manifest.json").read_text())
    assert metrics["threshold"] == manifest["threshold"]
    assert metrics["auc"]["ci_method"] == "DeLong 95%" and 0 <= metrics["auc"]["ci_low"] <= metrics["auc"]["value"] <= metrics["auc"]["ci_high"] <= 1
    assert metrics["sensitivity"]["n"] == 10 and metrics["specificity"]["n"] == 9
    assert "over patients" in metrics["auc"]["patient_bootstrap_ci"]["ci_method"]  # two films per baby
    assert metrics["sensitivity"]["ci_method"] == "Wilson score 95%"

    films = pd.read_csv(tmp_path / "ev/per_film.csv")
    assert len(films) == 19 and {"source", "patient_id", "label", "probability", "call", "fold4_probability"} <= set(films.columns)
    assert set(films["patient_id"]) == {f"B{i:02d}" for i in range(10)}  # from the DICOM header
    folds = films[[f"fold{k}_probability" for k in range(5)]].mean(axis=1)
    assert (abs(folds - films["probability"]) < 1e-5).all()  # the deployed mean of five folds
    assert (films["call"] == (films["probability"] >= metrics["threshold"]).astype(int)).all()
    calibration = pd.read_csv(tmp_path / "ev/calibration.csv")
    assert len(calibration) == 10 and calibration["n"].sum() == 19


def test_evaluate_refuses_a_truth_table_that_names_no_given_film(team: dict[str, Path], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    pd.DataFrame({"filepath": ["elsewhere/x.dcm"], "rds": [1]}).to_csv(tmp_path / "truth.csv", index=False)
    assert rds_main(["evaluate", str(team["src"] / "rds"), "--truth", str(tmp_path / "truth.csv"),
                     "--pack", str(team["pack"]), "--seg-pack", str(SEG_PACK), "--out", str(tmp_path / "ev")]) == 2
    assert "none of the given films has a row in the truth CSV" in capsys.readouterr().err


def test_analyze_summary_csv(team: dict[str, Path], tmp_path: Path) -> None:
    assert rds_main(["analyze", str(team["src"] / "rds"), "--out", str(tmp_path / "out"), "--pack", str(team["pack"]),
                     "--seg-pack", str(SEG_PACK), "--no-cam", "--device", "cpu", "--summary", str(tmp_path / "s.csv")]) == 0
    summary = pd.read_csv(tmp_path / "s.csv")
    assert len(summary) == 10 and {"source", "probability"} <= set(summary.columns)
