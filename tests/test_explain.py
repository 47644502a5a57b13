"""Class activation maps: forward-only CAM equals pytorch_grad_cam's Grad-CAM; fusion conventions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rds_core.classification import FoldEnsemble
from rds_core.explain import build_cam_set, energy_inside, gradcam_maps, minmax
from rds_core.models.random_pack import write_random_classifier_pack


@pytest.mark.parametrize(("model", "kwargs"), [("resnet10t", {}), ("efficientnet_b0", {}),
                                               ("efficientnet_b0", {"output_stride": 16})])
def test_forward_cam_equals_pytorch_grad_cam(tmp_path: Path, model: str, kwargs: dict) -> None:
    """Selvaraju et al. 2017, sec. 3.1: with GAP + linear head, Grad-CAM == CAM (after scaling)."""
    write_random_classifier_pack(tmp_path / "p", model=model, size=96, folds=2, model_kwargs=kwargs)
    ensemble = FoldEnsemble(tmp_path / "p")
    assert ensemble.cam_from_features
    # Random heads give maps of ~1e-5; pytorch_grad_cam divides by (max + 1e-7), an epsilon
    # that would then dominate the comparison. Scaling the head leaves both maps' shape alone.
    with torch.no_grad():
        for network in ensemble.networks:
            network.get_classifier().weight.mul_(1000.0)
    torch.manual_seed(0)
    tensor = torch.randn(1, 1, 96, 96)
    film_input = ensemble.prepare(np.random.default_rng(0).random((96, 96), dtype=np.float32), None)
    film_input = type(film_input)(tensor, film_input.box, film_input.letterbox, film_input.film_shape)
    ours = ensemble.predict(film_input).cams
    reference = gradcam_maps(ensemble.networks, tensor)  # ReLU, upsampled, min-max per map
    upsampled = torch.nn.functional.interpolate(torch.from_numpy(np.maximum(ours, 0))[:, None], size=(96, 96),
                                                mode="bilinear", align_corners=False)[:, 0].numpy()
    for fold in range(2):
        assert np.abs(minmax(upsampled[fold]) - reference[fold]).max() < 2e-3
    # output_stride=16 dilates the last stage instead of striding it: twice the map resolution
    assert ours.shape[1:] == ((6, 6) if kwargs.get("output_stride") == 16 else (3, 3))


def test_shipped_rds_pack_maps_are_at_least_10x10() -> None:
    """The shipped demo pack's fold maps resolve at least 10 x 10 cells over the lung box."""
    ensemble = FoldEnsemble("rds-demo")
    size = ensemble.manifest.preprocessing.size
    outputs = ensemble.predict(ensemble.prepare(np.full((size, size), 0.5, np.float32), None))
    assert outputs.cams is not None and min(outputs.cams.shape[1:]) >= 10


def test_fused_maps_shapes_ranges_and_energy(tmp_path: Path) -> None:
    write_random_classifier_pack(tmp_path / "p", size=64)
    ensemble = FoldEnsemble(tmp_path / "p")
    film = np.random.default_rng(2).random((180, 150), dtype=np.float32)
    mask = np.zeros((180, 150), bool)
    mask[30:150, 20:130] = True
    model_input = ensemble.prepare(film, mask)
    outputs = ensemble.predict(model_input)
    cams = build_cam_set(outputs.cams, model_input, (90, 75), mask[::2, ::2])
    assert cams.per_fold.shape == (5, 90, 75) and cams.fused.shape == (90, 75)
    for name in ("per_fold", "shared_scale", "fused", "agreement", "spread"):
        values = getattr(cams, name)
        assert values.min() >= 0.0 and values.max() <= 1.0 + 1e-6, name
    assert cams.shared_scale.max() == pytest.approx(1.0)
    assert all(0.0 <= x <= 1.0 for x in cams.in_lung_folds) and 0.0 <= cams.in_lung_fused <= 1.0
    # The classifier saw only the lung box: nothing of the map lies outside it.
    box = model_input.box
    outside = np.ones((90, 75), bool)
    outside[round(box.top / 2) : round(box.bottom / 2), round(box.left / 2) : round(box.right / 2)] = False
    assert cams.fused[outside].max() == 0.0
    assert np.allclose(cams.agreement * 5, np.round(cams.agreement * 5), atol=1e-5)


def test_energy_inside_and_minmax_conventions() -> None:
    cam = np.zeros((10, 10), np.float32)
    cam[:5] = 1.0
    mask = np.zeros((10, 10), bool)
    mask[:5, :5] = True
    assert energy_inside(cam, mask) == pytest.approx(0.5)
    assert energy_inside(np.zeros((4, 4)), mask[:4, :4]) == 0.0
    assert minmax(np.full((3, 3), 7.0)).max() == 0.0
    assert minmax(np.array([[1.0, 3.0]])).tolist() == [[0.0, 1.0]]

