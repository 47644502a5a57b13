"""``python -m rds_core.train seg`` on the tiny team set: few steps, pack name, files, resume check, starts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rds_core.train.prepare import prepare_dataset
from rds_core.train.seg import add_arguments, run
from tests.test_prepare import make_team_set

TINY = ["--encoder", "tu-mobilenetv3_small_100", "--decoder-channels", "16,8,8,8,8", "--size", "64", "--batch", "4",
        "--device", "cpu", "--threads", "1", "--no-tensorboard"]


def _seg(*argv: str | Path) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args([str(a) for a in argv]))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("team")
    prepare_dataset(make_team_set(root / "src", n=16), root / "prepared")
    return root / "prepared" / "dataset.csv"


def test_few_steps_train_and_the_pack_is_named_after_its_folder(prepared: Path, tmp_path: Path) -> None:
    # 16 films -> about 10 train films = 3 batches x 2 epochs: once a ZeroDivisionError in OneCycleLR.
    out = tmp_path / "neonatal-seg"
    assert _seg("--csv", prepared, "--out", out, *TINY, "--epochs", "2", "--val-frac", "0.2", "--test-frac", "0.15") == 0
    manifest = json.loads((out / "manifest.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in manifest"))
    assert manifest["name"] == "neonatal-seg"
    assert {"hyperparameters", "data_hash", "git_commit"} <= set(manifest["extra"])
    for path in out.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644, path

    # Fine-tune the pack just written; and a mismatched resume is refused.
    tuned = tmp_path / "tuned"
    assert _seg("--csv", prepared, "--out", tuned, *TINY, "--epochs", "1", "--init-from", str(out)) == 0
    assert _seg("--csv", prepared, "--out", tuned, *TINY, "--epochs", "3", "--resume") == 2


def test_unknown_encoder_is_refused_before_training(prepared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _seg("--csv", prepared, "--out", tmp_path / "p", *TINY, "--encoder", "tu-nope_net") == 2
    assert "'nope_net' is not a timm model" in capsys.readouterr().err
