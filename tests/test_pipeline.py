"""analyze() end to end on tiny random packs, the batch CLI, and the GPU path where present."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rds_core.__main__ import main as cli_main
from rds_core.imaging import load_radiograph
from rds_core.imaging.radiograph import Radiograph
from rds_core.pipeline import analyze, load_models
from tests.core_packs import make_packs

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pack_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_packs(tmp_path_factory.mktemp("weights"))


def _film(height: int = 240, width: int = 200) -> Radiograph:
    yy, xx = np.mgrid[:height, :width]
    pixels = (0.5 + 0.3 * np.sin(xx / 11.0) * np.cos(yy / 17.0)).astype(np.float32)
    return Radiograph(pixels, "film.png", "png", original_size=(height, width))


def test_analysis_is_consistent(pack_dirs: tuple[Path, Path]) -> None:
    cls_dir, seg_dir = pack_dirs
    models = load_models(str(cls_dir), str(seg_dir), "cpu")
    # No hidden cache in rds_core (the app's st.cache_resource is the only one): a second call
    # loads fresh models that give the same answer.
    again = load_models(str(cls_dir), str(seg_dir), "cpu")
    assert again is not models and again.classifier is not models.classifier
    assert analyze(_film(), again).fold_probabilities == analyze(_film(), models).fold_probabilities
    result = analyze(_film(), models)
    assert len(result.fold_probabilities) == 5
    assert result.probability == pytest.approx(float(np.mean(result.fold_probabilities)))
    assert result.spread == pytest.approx(float(np.std(result.fold_probabilities)))
    assert result.label == ("RDS" if result.probability >= result.threshold else "non-RDS")
    assert result.lung_mask.shape == (240, 200)
    assert result.cams is not None and result.cams.fused.shape == result.display.shape
    assert set(result.timings_ms) == {"segmentation", "classification", "explanation", "total"}
    assert result.device == "cpu"
    summary = result.summary()
    json.dumps(summary)  # JSON-ready
    assert summary["pack"]["name"] == "rds-demo"


def test_big_film_is_displayed_smaller_but_masked_in_full(pack_dirs: tuple[Path, Path]) -> None:
    cls_dir, seg_dir = pack_dirs
    result = analyze(_film(1600, 1200), load_models(str(cls_dir), str(seg_dir), "cpu"))
    assert result.lung_mask.shape == (1600, 1200)
    assert max(result.display.shape) == 768
    assert result.cams.per_fold.shape[1:] == result.display.shape


def test_no_cam_skips_the_explanation(pack_dirs: tuple[Path, Path]) -> None:
    cls_dir, seg_dir = pack_dirs
    result = analyze(_film(), load_models(str(cls_dir), str(seg_dir), "cpu"), with_cam=False)
    assert result.cams is None and "explanation" not in result.timings_ms


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_path_matches_cpu(pack_dirs: tuple[Path, Path]) -> None:
    cls_dir, seg_dir = pack_dirs
    cpu = analyze(_film(), load_models(str(cls_dir), str(seg_dir), "cpu"))
    gpu = analyze(_film(), load_models(str(cls_dir), str(seg_dir), "cuda"))
    assert gpu.device.startswith("cuda")
    assert np.allclose(cpu.fold_probabilities, gpu.fold_probabilities, atol=1e-3)


def test_cli_end_to_end_with_a_bad_file(pack_dirs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cls_dir, seg_dir = pack_dirs
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray((np.random.default_rng(0).random((150, 130)) * 255).astype(np.uint8)).save(inputs / "a.png")
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    dicom = REPO / "tests" / "data" / "dicom" / "derived_RG1_MONO2_explicitLE_512.dcm"
    out = tmp_path / "out"
    status = cli_main(["analyze", str(inputs), str(dicom), "--out", str(out), "--pack", str(cls_dir), "--seg-pack", str(seg_dir),
                       "--device", "cpu"])
    captured = capsys.readouterr()
    assert status == 1, "one input failed"
    assert "broken.png" in captured.err and "Traceback" not in captured.err
    assert "analysed 2 of 3 films" in captured.err
    record = json.loads((out / "a.json").read_text())
    for key in ("fold_probabilities", "probability", "label", "threshold", "lung_area_fraction", "cam_in_lung",
                "timings_ms", "device", "pack", "warnings"):
        assert key in record
    assert len(record["fold_probabilities"]) == 5 and "total" in record["timings_ms"]
    assert set(record["cam_in_lung"]) == {"folds", "fused"}
    assert Image.open(out / "a_mask.png").size == (130, 150)
    original = load_radiograph(dicom)
    assert Image.open(out / f"{dicom.stem}_mask.png").size == (original.width, original.height)
    assert (out / "a_cam.png").exists()


def test_cli_reports_a_missing_pack_without_traceback(pack_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((80, 80), np.uint8)).save(image)
    run = subprocess.run([sys.executable, "-m", "rds_core", "analyze", str(image), "--out", str(tmp_path / "o"),
                          "--pack", "no-such-pack", "--seg-pack", str(pack_dirs[1])], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 2
    assert "'no-such-pack' was not found" in run.stderr and "Traceback" not in run.stderr
