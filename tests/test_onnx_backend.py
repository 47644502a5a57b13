"""ONNX Runtime backend (rds_core.onnx_backend): the same analysis as eager PyTorch, cached exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from rds_core.imaging import load_radiograph  # noqa: E402
from rds_core.models.random_pack import write_random_classifier_pack, write_random_segmentation_pack  # noqa: E402
from rds_core.onnx_backend import BackendError  # noqa: E402
from rds_core.pipeline import analyze, load_models  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("onnx-packs")
    write_random_classifier_pack(root / "cls", model="test_efficientnet", size=64, folds=2)
    write_random_segmentation_pack(root / "seg", size=64)
    return root / "cls", root / "seg"


def test_onnx_gives_the_same_analysis_as_torch(packs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDS_ONNX_CACHE", str(tmp_path / "cache"))
    cls, seg = packs
    eager = load_models(cls, seg, "cpu")
    onnx = load_models(cls, seg, "cpu", backend="onnx")
    assert len(list((tmp_path / "cache").glob("*.onnx"))) == 2, "one export per pack, kept"
    for name in ("kermany_normal_01.png", "simulated_rds_grade3_01.png", "adult_cr_chest.dcm"):
        film = load_radiograph(SAMPLES / name)
        a, b = analyze(film, eager), analyze(film, onnx)
        assert np.abs(np.array(a.fold_probabilities) - np.array(b.fold_probabilities)).max() < 1e-4, name
        assert (a.lung_mask != b.lung_mask).mean() < 1e-3, name
        assert a.upright_turns == b.upright_turns and a.label == b.label
        assert np.abs(a.cams.fused - b.cams.fused).max() < 1e-3, name
    # a second process (here: a second load) reads the cached files instead of exporting again
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").glob("*.onnx")}
    load_models(cls, seg, "cpu", backend="onnx")
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").glob("*.onnx")} == before


def test_unknown_backend_is_one_clear_line(packs) -> None:
    cls, seg = packs
    with pytest.raises(BackendError, match="Unknown backend 'tensorrt'"):
        load_models(cls, seg, "cpu", backend="tensorrt")
