"""The Ray engine writes exactly what the local engine writes, on a local Ray instance."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rds_core.batch import Job, run_local
from rds_core.pipeline import load_models
from tests.core_packs import make_packs

ray = pytest.importorskip("ray", reason="ray is not installed (requirements.txt pins it)")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_ray():
    env = {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 2**20,
             runtime_env={"env_vars": env})
    yield
    ray.shutdown()


def _comparable(out: Path, stem: str) -> tuple[dict, bytes, bytes]:
    record = json.loads((out / f"{stem}.json").read_text())
    record.pop("timings_ms")
    return record, (out / f"{stem}_mask.png").read_bytes(), (out / f"{stem}_cam.png").read_bytes()


@pytest.mark.timeout(600)
def test_ray_engine_outputs_are_identical_to_the_local_engine(local_ray, tmp_path: Path) -> None:
    from rds_core.ray_engine import run_ray

    cls_dir, seg_dir = make_packs(tmp_path / "weights")
    jobs = []
    for i, (h, w) in enumerate([(150, 130), (200, 260), (120, 120), (90, 140), (180, 160)]):
        path = tmp_path / f"f{i}.png"
        Image.fromarray((np.random.default_rng(i).random((h, w)) * 255).astype(np.uint8)).save(path)
        jobs.append(Job(path, f"f{i}"))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    jobs.append(Job(tmp_path / "bad.png", "bad"))
    local_out, ray_out = tmp_path / "local", tmp_path / "ray"
    local_out.mkdir()
    # One torch thread, as each Ray actor uses, so the arithmetic is the same.
    local = run_local(jobs, local_out, load_models(str(cls_dir), str(seg_dir), "cpu"), batch_size=2, threads=1)
    remote = run_ray(jobs, ray_out, pack=cls_dir, seg_pack=seg_dir, device="cpu", batch_size=2, workers=2)
    assert [o.job for o in remote] == jobs
    assert [o.error is None for o in remote] == [o.error is None for o in local] == [True] * 5 + [False]
    for job in jobs[:-1]:
        assert _comparable(ray_out, job.stem) == _comparable(local_out, job.stem)
    assert sorted(os.listdir(ray_out)) == sorted(os.listdir(local_out))
