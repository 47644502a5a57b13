"""The batch engine: batched models give the single-film numbers, prefetch keeps order, failures stay local."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rds_core.__main__ import main as cli_main
from rds_core.batch import Job, prefetched, run_local
from rds_core.imaging.radiograph import Radiograph
from rds_core.pipeline import analyze, analyze_batch, load_models
from tests.core_packs import make_packs


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):
    cls_dir, seg_dir = make_packs(tmp_path_factory.mktemp("weights"), tta=(0, 90, 180, 270))
    return load_models(str(cls_dir), str(seg_dir), "cpu")


def _film(height: int, width: int, phase: float) -> Radiograph:
    yy, xx = np.mgrid[:height, :width]
    pixels = (0.5 + 0.3 * np.sin(xx / 11.0 + phase) * np.cos(yy / 17.0)).astype(np.float32)
    return Radiograph(pixels, f"film{phase}.png", "png", original_size=(height, width))


def _without_timings(record: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in record.items() if k != "timings_ms"}


def test_batched_analysis_matches_one_film_at_a_time(models) -> None:
    films = [_film(240, 200, 0.0), _film(300, 410, 1.0), _film(90, 90, 2.0)]
    batched = analyze_batch(films, models)
    for film, together in zip(films, batched):
        alone = analyze(film, models)
        np.testing.assert_allclose(together.fold_probabilities, alone.fold_probabilities, atol=1e-5)
        assert together.lung_mask.shape == film.pixels.shape
        # Batched convolutions round differently: allow a few boundary pixels to flip.
        assert np.mean(together.lung_mask != alone.lung_mask) < 0.002
        assert together.cams is not None and alone.cams is not None
        np.testing.assert_allclose(together.cams.fused, alone.cams.fused, atol=2e-3)
        assert set(together.timings_ms) == {"segmentation", "classification", "explanation", "total"}


def test_one_film_batch_is_exactly_analyze(models) -> None:
    film = _film(240, 200, 0.5)
    assert _without_timings(analyze_batch([film], models)[0].summary()) == _without_timings(analyze(film, models).summary())


def test_prefetch_keeps_input_order_and_reports_unreadable_files(tmp_path: Path) -> None:
    jobs = []
    for i in range(5):
        path = tmp_path / f"f{i}.png"
        Image.fromarray(np.full((70 + i, 80), 10 * i, np.uint8)).save(path)
        jobs.append(Job(path, f"f{i}"))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    jobs.insert(2, Job(broken, "broken"))
    items = list(prefetched(jobs, prefetch=2, workers=2))
    assert [job.stem for job, _ in items] == [job.stem for job in jobs]
    assert isinstance(items[2][1], str) and items[2][1]
    assert [r.height for _, r in items if not isinstance(r, str)] == [70, 71, 72, 73, 74]


def test_prefetch_rejects_a_zero_window() -> None:
    with pytest.raises(ValueError, match="prefetch and workers must be at least 1"):
        list(prefetched([], prefetch=0))


@pytest.mark.parametrize("batch_size", [1, 3])
def test_run_local_writes_every_film_and_isolates_a_broken_one(models, tmp_path: Path, batch_size: int) -> None:
    jobs = []
    for i, (h, w) in enumerate([(150, 130), (200, 260), (120, 120), (90, 140)]):
        path = tmp_path / f"a{i}.png"
        Image.fromarray((np.random.default_rng(i).random((h, w)) * 255).astype(np.uint8)).save(path)
        jobs.append(Job(path, f"a{i}"))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    jobs.insert(1, Job(broken, "broken"))
    out = tmp_path / f"out{batch_size}"
    out.mkdir()
    seen = []
    outcomes = run_local(jobs, out, models, batch_size=batch_size, on_outcome=seen.append)
    assert [o.job for o in outcomes] == jobs and len(seen) == len(jobs)
    assert outcomes[1].error and outcomes[1].record is None
    for outcome in outcomes[:1] + outcomes[2:]:
        assert outcome.error is None
        stem = outcome.job.stem
        assert json.loads((out / f"{stem}.json").read_text())["source"] == str(outcome.job.path)
        assert (out / f"{stem}_cam.png").exists()
        assert Image.open(out / f"{stem}_mask.png").size == Image.open(outcome.job.path).size


def test_run_local_rejects_a_zero_batch(models, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch size must be at least 1"):
        run_local([], tmp_path, models, batch_size=0)


def test_cli_batch_size_changes_no_result(models, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(3):
        Image.fromarray((np.random.default_rng(10 + i).random((140, 120 + 20 * i)) * 255).astype(np.uint8)).save(inputs / f"x{i}.png")
    packs = ["--pack", str(models.classifier.pack_dir), "--seg-pack", str(models.segmenter.pack_dir), "--device", "cpu"]
    assert cli_main(["analyze", str(inputs), "--out", str(tmp_path / "one"), "--batch-size", "1", *packs]) == 0
    assert cli_main(["analyze", str(inputs), "--out", str(tmp_path / "three"), "--batch-size", "3", *packs]) == 0
    for i in range(3):
        one = json.loads((tmp_path / "one" / f"x{i}.json").read_text())
        three = json.loads((tmp_path / "three" / f"x{i}.json").read_text())
        np.testing.assert_allclose(one["fold_probabilities"], three["fold_probabilities"], atol=1e-5)
        assert one["label"] == three["label"]


def test_cli_rejects_a_zero_batch_size(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        cli_main(["analyze", str(tmp_path), "--out", str(tmp_path / "o"), "--batch-size", "0"])
    assert "must be at least 1, got 0" in capsys.readouterr().err
