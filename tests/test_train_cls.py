"""``python -m rds_core.train cls`` on a tiny set in the team's format (1 epoch, a 0.1 M-parameter timm net).

Checks the behaviour a research team relies on: strict labels, rejected rows instead of
aborted runs, their folds checked at the start, a run folder that refuses a mismatched
resume, pruned checkpoints, strict JSON, readable files and an honest threshold rule.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch

from rds_core.train.cls import THRESHOLD_RULE, add_arguments, run
from rds_core.train.prepare import prepare_dataset
from tests.test_prepare import make_team_set

SEG_PACK = Path(__file__).resolve().parents[1] / "weights" / "lung-seg"
TINY = ["--model", "test_efficientnet", "--size", "64", "--epochs", "1", "--batch", "8", "--device", "cpu", "--threads", "1"]


def _cls(*argv: str | Path) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args([str(a) for a in argv]))


def _strict(path: Path) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"{path.name} holds {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared tiny set (20 films, 10 babies with two films each, five folds)."""
    root = tmp_path_factory.mktemp("team")
    report = prepare_dataset(make_team_set(root / "src"), root / "prepared")
    assert len(report.dataset) == 20
    return root / "prepared" / "dataset.csv"


@pytest.fixture(scope="module")
def trained(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pack trained once for the module (about 10 s on one thread)."""
    out = tmp_path_factory.mktemp("packs") / "team-rds"
    assert _cls("--csv", prepared, "--out", out, *TINY) == 0
    return out


def test_pack_manifest_is_strict_json_with_the_threshold_rule_and_provenance(trained: Path) -> None:
    manifest = _strict(trained / "manifest.json")
    assert manifest["name"] == "team-rds"
    assert manifest["threshold_rule"] == THRESHOLD_RULE and "held-out folds were not used" in THRESHOLD_RULE
    extra = manifest["extra"]
    assert {"hyperparameters", "data_hash", "git_commit", "start"} <= set(extra)
    assert extra["hyperparameters"]["size"] == 64 and extra["start"] == "random"
    assert extra["patient_ids_from"] == {"column": 20}  # prepare wrote the DICOM PatientIDs into patient_id
    assert manifest["metrics"]["n_films"] == 20
    _strict(trained.with_name("team-rds.run") / "metrics.json")


def test_files_are_world_readable_and_finished_folds_keep_only_best_weights(trained: Path) -> None:
    run_dir = trained.with_name("team-rds.run")
    for path in [*trained.iterdir(), *run_dir.glob("*.*")]:
        assert path.stat().st_mode & 0o777 == 0o644, path
    assert sorted(p.name for p in run_dir.glob("fold*.pt")) == [f"fold{k}_best.pt" for k in range(5)]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["arguments"]["model"] == "test_efficientnet" and len(record["data_hash"]) == 16
    assert list(run_dir.glob("tensorboard/events.out.tfevents.*")), "TensorBoard log beside log.csv"
    oof = pd.read_csv(run_dir / "oof.csv")
    assert {"patient_id", "fold", "oof_probability"} <= set(oof.columns)
    assert oof.groupby("patient_id")["fold"].nunique().max() == 1


def test_resume_reuses_finished_folds_and_refuses_other_settings_or_data(trained: Path, prepared: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "team-rds"
    shutil.copytree(trained.with_name("team-rds.run"), tmp_path / "team-rds.run")
    assert _cls("--csv", prepared, "--out", out, *TINY, "--resume") == 0
    assert "fold 4: finished earlier" in capsys.readouterr().out

    tiny_72 = [*TINY]
    tiny_72[tiny_72.index("64")] = "72"
    assert _cls("--csv", prepared, "--out", out, *tiny_72, "--resume") == 2
    assert "--resume refused" in (err := capsys.readouterr().err) and "size" in err

    edited = tmp_path / "dataset.csv"
    pd.read_csv(prepared, dtype=str, keep_default_na=False).iloc[:-1].to_csv(edited, index=False)
    shutil.copytree(prepared.parent / "images", tmp_path / "images")
    shutil.copytree(prepared.parent / "masks", tmp_path / "masks")
    assert _cls("--csv", edited, "--out", out, *TINY, "--resume", "--folds", "5") == 2
    assert "data (the table or its files changed)" in capsys.readouterr().err


def test_bad_labels_and_missing_films_reject_their_rows_not_the_run(prepared: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    table = pd.read_csv(prepared, dtype=str, keep_default_na=False)
    table["image"] = [str(prepared.parent / p) for p in table["image"]]
    table["mask"] = [str(prepared.parent / p) for p in table["mask"]]
    table.loc[0, "rds"] = "1.0"   # the value that once made every film RDS
    table.loc[1, "rds"] = "RDS"
    table.loc[2, "rds"] = "yes"   # not a label: rejected
    table.loc[3, "image"] = str(tmp_path / "gone.png")
    seg = []
    if (SEG_PACK / "manifest.json").exists():  # films without a mask are segmented by the shipped U-Net
        table.loc[[5, 6], "mask"] = ""
        seg = ["--seg-pack", str(SEG_PACK)]
    table = table.drop(columns=["fold"])
    table.to_csv(tmp_path / "t.csv", index=False)
    assert _cls("--csv", tmp_path / "t.csv", "--out", tmp_path / "p", *TINY, "--folds", "2", "--no-tensorboard", "--workers", "2", *seg) == 0
    out = capsys.readouterr().out
    assert "labels: non-RDS 8, RDS 11" in out  # rows 0 (was 0) and 1 read as positive, row 2 ("yes") gone
    assert "Rejected rows (2)" in out and "label 'yes' in column rds" in out and "gone.png" in out
    rejected = pd.read_csv(tmp_path / "p.run/rejected.csv")
    assert list(rejected["row"]) == [4, 5]
    assert _strict(tmp_path / "p/manifest.json")["metrics"]["n_rejected"] == 2


def test_a_single_class_is_refused(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = pd.read_csv(prepared, dtype=str, keep_default_na=False).assign(rds="1")
    table.to_csv(prepared.parent / "one_class.csv", index=False)
    assert _cls("--csv", prepared.parent / "one_class.csv", "--out", tmp_path / "p", *TINY) == 2
    assert "only one class (non-RDS 0, RDS 20)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--folds", "4"], r"fold column has folds \[0, 1, 2, 3, 4\], but --folds is 4"),
        (["--model", "efficientnet_b99"], "'efficientnet_b99' is not a timm model"),
        (["--device", "cuda:7"], "cuda:7"),
        (["--pretrained"], "HF_HUB_OFFLINE is set.*--init-weights FILE"),
    ],
    ids=["folds-mismatch", "unknown-model", "absent-gpu", "pretrained-offline"],
)
def test_problems_are_refused_before_any_training(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if extra[0] == "--device" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    args = [*TINY]
    for i in range(0, len(extra), 2):
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i : i + 2] if i + 1 < len(extra) else extra[i:]
    assert _cls("--csv", prepared, "--out", tmp_path / "p", *args) == 2
    import re

    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "p.run").exists() or not list((tmp_path / "p.run").glob("fold*"))


def test_init_from_a_pack_starts_every_fold_from_that_pack(trained: Path, prepared: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert _cls("--csv", prepared, "--out", tmp_path / "tuned", *TINY, "--init-from", str(trained), "--no-tensorboard") == 0
    assert "start: pack team-rds 1.0.0 (fold0.safetensors" in capsys.readouterr().out
    assert _strict(tmp_path / "tuned/manifest.json")["extra"]["start"] == f"--init-from {trained}"


def test_tables_with_and_without_masks_combine_without_rejecting_rows(prepared: Path, tmp_path: Path) -> None:
    from rds_core.train.cls import _Films, _load_films

    no_masks = pd.read_csv(prepared).drop(columns=["mask"])
    no_masks["image"] = [str((prepared.parent / p).resolve()) for p in no_masks["image"]]
    second = tmp_path / "no_masks.csv"
    no_masks.to_csv(second, index=False)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--csv", str(prepared), "--csv", str(second), "--out", str(tmp_path / "p"), *TINY])
    frame, rejected = _load_films(args)
    assert not rejected and len(frame) == 40
    assert not frame.isna().any().any()
    films = _Films(frame)
    with_mask, without = films[0], films[len(frame) - 1]
    assert with_mask[2] is not None and with_mask[3] == ""
    assert without[2] is None and without[3] == ""  # left to the segmentation pack, not opened as a path
