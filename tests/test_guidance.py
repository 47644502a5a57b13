"""Explanation guidance (rds_core.train.guidance): the energy loss and the (logits, CAM) training view."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import timm
import torch

from rds_core.train.cls import add_arguments, run
from rds_core.train.guidance import LogitsAndCam, energy_loss, strip_wrapper
from tests.test_train_cls import TINY, prepared  # noqa: F401 - the module fixture is reused here


def _tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return timm.create_model("test_efficientnet", num_classes=1, in_chans=1)


def test_energy_loss_is_the_share_of_positive_energy_outside_the_evidence() -> None:
    evidence = torch.zeros(3, 1, 8, 8)
    evidence[:, :, :, :4] = 1.0  # left half of the input
    cam = torch.full((3, 4, 4), -1.0)
    cam[0, :, :2] = 2.0  # all positive energy inside
    cam[1, :, 2:] = 2.0  # all outside
    cam[2] = 5.0  # a negative example: ignored whatever its map
    labels = torch.tensor([1.0, 1.0, 0.0])
    assert float(energy_loss(cam, evidence, labels)) == pytest.approx(0.5, abs=1e-5)  # mean of 0 and 1
    assert float(energy_loss(cam[:1], evidence[:1], labels[:1])) == pytest.approx(0.0, abs=1e-5)
    half = cam[1:2].clone()
    half[0, :, :2] = 2.0  # equal energy inside and outside
    assert float(energy_loss(half, evidence[:1], labels[:1])) == pytest.approx(0.5, abs=1e-5)
    none = energy_loss(cam[2:].requires_grad_(), evidence[2:], labels[2:])
    assert float(none.detach()) == 0.0 and none.requires_grad  # no positive in the batch: zero, graph kept


def test_training_view_gives_the_network_logits_and_its_exact_cam() -> None:
    network = _tiny().eval()
    view = LogitsAndCam(network).eval()
    images = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        logits, cam = view(images)
        plain = network(images)
    assert torch.allclose(logits, plain, atol=1e-6)
    bias = network.get_classifier().bias[0]
    # GAP + linear head: the logit is the map's mean plus the bias (so the map is the CAM the app shows)
    assert torch.allclose(cam.mean(dim=(1, 2)) + bias, logits[:, 0], atol=1e-5)
    fresh = _tiny()
    fresh.load_state_dict(strip_wrapper(view.state_dict()))
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), network.state_dict().values()))


def test_guidance_moves_the_map_onto_the_evidence() -> None:
    network = LogitsAndCam(_tiny())
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(8, 1, 64, 64, generator=generator)
    evidence = torch.zeros(8, 1, 64, 64)
    evidence[:, :, :, :32] = 1.0
    labels = torch.ones(8)

    def share() -> float:
        with torch.no_grad():
            return 1.0 - float(energy_loss(network.eval()(images)[1], evidence, labels))

    before = share()
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
    for _ in range(40):
        network.train()
        loss = energy_loss(network(images)[1], evidence, labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    after = share()
    assert after > max(0.8, before + 0.2), (before, after)


def test_a_guided_demo_run_stores_evidence_where_the_pattern_was_painted(prepared: Path, tmp_path: Path) -> None:  # noqa: F811
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    run_dir = tmp_path / "run"
    args = parser.parse_args([str(a) for a in ["--csv", prepared, "--out", tmp_path / "demo", "--run-dir", run_dir,
                                               "--simulate-rds", "--partial-share", "0.5", "--guide-weight", "1", *TINY]])
    assert run(args) == 0
    data = np.load(run_dir / "examples.npz")
    evidence, labels, images = data["evidence"], data["labels"], data["images"]
    assert evidence.shape == images.shape and evidence.dtype == np.uint8
    assert not evidence[labels == 0].any()  # untouched films: no evidence
    painted = evidence[labels == 1] > 127
    assert all(p.any() for p in painted)
    # partial patterns cover less of the crop than diffuse ones, and evidence lies on the lung-masked crop
    extent = data["extent"][labels == 1]
    assert painted[extent > 0].mean() < painted[extent == 0].mean()
    assert (images[labels == 1][painted] > 0).mean() > 0.98
    assert (tmp_path / "demo" / "manifest.json").exists()
