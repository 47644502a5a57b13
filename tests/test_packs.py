"""Weight packs: verified on load, clear errors for every way a pack can be wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rds_core.classification import FoldEnsemble
from rds_core.errors import WeightPackError
from rds_core.models.packs import read_manifest, resolve_pack_dir
from rds_core.models.random_pack import write_random_classifier_pack
from rds_core.segmentation import LungSegmenter
from tests.core_packs import make_packs


@pytest.fixture()
def packs(tmp_path: Path) -> tuple[Path, Path]:
    return make_packs(tmp_path)


def _edit_manifest(pack: Path, **changes: object) -> None:
    path = pack / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_pack_round_trip_loads_the_same_weights(packs: tuple[Path, Path]) -> None:
    cls_dir, seg_dir = packs
    ensemble = FoldEnsemble(cls_dir)
    assert ensemble.n_folds == 5
    assert ensemble.manifest.preprocessing.lung_masked
    assert ensemble.cam_from_features
    # Different folds were initialised differently: they are distinct models.
    first = next(iter(ensemble.networks[0].state_dict().values()))
    second = next(iter(ensemble.networks[1].state_dict().values()))
    assert not torch.equal(first, second)
    assert LungSegmenter(seg_dir).manifest.task == "segmentation"


def test_fp16_pack_halves_the_file_and_still_loads(tmp_path: Path) -> None:
    full = write_random_classifier_pack(tmp_path / "full", folds=1)
    from rds_core.models.builders import build_network, save_pack

    half = save_pack(tmp_path / "half", full, {"fold0.safetensors": build_network(full.architecture).state_dict()}, fp16=True)
    size = lambda p: (p / "fold0.safetensors").stat().st_size  # noqa: E731
    assert size(tmp_path / "half") < 0.6 * size(tmp_path / "full")
    assert FoldEnsemble(tmp_path / "half").n_folds == 1 and half.files


def test_corrupt_tensor_file_is_refused(packs: tuple[Path, Path]) -> None:
    cls_dir, _ = packs
    with open(cls_dir / "fold2.safetensors", "r+b") as handle:
        handle.seek(200)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(WeightPackError, match="fold2.safetensors.*corrupt"):
        FoldEnsemble(cls_dir)


def test_missing_tensor_file_is_named(packs: tuple[Path, Path]) -> None:
    cls_dir, _ = packs
    (cls_dir / "fold4.safetensors").unlink()
    with pytest.raises(WeightPackError, match="missing its tensor file 'fold4.safetensors'"):
        FoldEnsemble(cls_dir)


def test_architecture_mismatch_is_explained(packs: tuple[Path, Path]) -> None:
    cls_dir, _ = packs
    _edit_manifest(cls_dir, architecture={"library": "timm", "name": "resnet18", "encoder": None, "kwargs": {}})
    with pytest.raises(WeightPackError, match="does not fit the architecture"):
        FoldEnsemble(cls_dir)


def test_wrong_task_is_refused(packs: tuple[Path, Path]) -> None:
    cls_dir, seg_dir = packs
    with pytest.raises(WeightPackError, match="not a segmentation pack"):
        LungSegmenter(cls_dir)
    with pytest.raises(WeightPackError, match="not a classification pack"):
        FoldEnsemble(seg_dir)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threshold": 1.5}, "strictly between 0 and 1"),
        ({"task": "detection"}, "task 'detection'"),
        ({"format_version": 99}, "format 99"),
        ({"files": {}}, "lists no tensor files"),
        ({"files": {"../evil.safetensors": "00"}}, "outside its folder"),
    ],
)
def test_bad_manifest_fields(packs: tuple[Path, Path], change: dict, message: str) -> None:
    cls_dir, _ = packs
    _edit_manifest(cls_dir, **change)
    with pytest.raises(WeightPackError, match=message):
        FoldEnsemble(cls_dir)


def test_invalid_json_and_unknown_pack(packs: tuple[Path, Path]) -> None:
    cls_dir, _ = packs
    (cls_dir / "manifest.json").write_text("{not json")
    with pytest.raises(WeightPackError, match="not valid JSON"):
        read_manifest(cls_dir)
    with pytest.raises(WeightPackError, match="'no-such-pack' was not found"):
        resolve_pack_dir("no-such-pack")


def test_preprocessing_comes_from_the_manifest(packs: tuple[Path, Path]) -> None:
    cls_dir, _ = packs
    _edit_manifest(cls_dir, preprocessing={"size": 48, "mean": 0.4, "std": 0.2, "lung_masked": False, "crop_margin": 0.0})
    ensemble = FoldEnsemble(cls_dir)
    film = np.full((100, 80), 0.4, np.float32)
    model_input = ensemble.prepare(film, None)
    assert model_input.tensor.shape == (1, 1, 48, 48)
    # (0.4 - mean) / std == 0 inside the film; the letterbox padding is (0 - 0.4) / 0.2.
    assert float(model_input.tensor[0, 0, 24, 24]) == pytest.approx(0.0)
    assert float(model_input.tensor[0, 0, 24, 0]) == pytest.approx(-2.0)


def test_postprocessing_typo_fails_when_the_manifest_is_read(packs: tuple[Path, Path]) -> None:
    """A misspelt post-processing key is a broken pack at load time, not a surprise later."""
    _, seg_dir = packs
    _edit_manifest(seg_dir, postprocessing={"threshhold": 0.5})
    with pytest.raises(WeightPackError, match="unknown post-processing options"):
        read_manifest(seg_dir)


def test_preprocessing_normalises_and_round_trips() -> None:
    from rds_core.models.packs import Preprocessing

    pre = Preprocessing(size=4, mean=0.5, std=0.25)
    square = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    tensor = pre.to_tensor(square)
    assert tuple(tensor.shape) == (1, 1, 4, 4) and float(tensor.min()) == -2.0 and float(tensor.max()) == 2.0
    assert np.allclose(pre.denormalise(pre.normalise(square)), square)
