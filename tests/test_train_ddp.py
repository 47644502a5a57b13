"""Multi-process training: ``torchrun`` with two CPU processes (gloo), rank 0 alone writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from rds_core.train.prepare import prepare_dataset
from tests.test_prepare import make_team_set

REPO = Path(__file__).resolve().parents[1]


def test_two_process_torchrun_trains_one_pack(tmp_path: Path) -> None:
    prepare_dataset(make_team_set(tmp_path / "src", n=20), tmp_path / "prepared")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "rds_core.train", "cls",
         "--csv", str(tmp_path / "prepared/dataset.csv"), "--out", str(tmp_path / "pack"), "--model", "test_efficientnet",
         "--size", "64", "--epochs", "2", "--batch", "4", "--device", "cpu", "--threads", "1", "--no-tensorboard"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((tmp_path / "pack/manifest.json").read_text())
    assert "2 process(es)" in manifest["metrics"]["machine"]
    log = pd.read_csv(tmp_path / "pack.run/log.csv")
    assert len(log) == 5 * 2  # one row per fold and epoch: only rank 0 logs
    assert done.stdout.count("fold 0: held-out AUC") == 1
    assert "\r" not in done.stderr and "it/s" not in done.stderr  # no progress-bar noise in a redirected log
