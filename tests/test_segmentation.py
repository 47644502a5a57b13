"""Segmentation conventions: mask at the film's resolution, post-processing, rotation, the gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rds_core.geometry import letterbox, lung_box, resize
from rds_core.segmentation import NO_LUNGS_WARNING, LungSegmenter, PostProcessing, decision_field, postprocess
from rds_core.models.random_pack import write_random_segmentation_pack
from tests.core_packs import OPEN_GATE


def _two_lungs(height: int = 200, width: int = 240) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    left = ((yy - 100) / 70) ** 2 + ((xx - 70) / 40) ** 2 < 1
    right = ((yy - 100) / 70) ** 2 + ((xx - 170) / 40) ** 2 < 1
    return left | right


@pytest.mark.parametrize("shape", [(200, 240), (300, 120), (64, 64), (517, 389)])
def test_letterbox_round_trip_restores_the_image(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    smooth = np.cumsum(np.cumsum(rng.random(shape, dtype=np.float32), 0), 1)
    smooth /= smooth.max()
    square, box = letterbox(smooth, 128)
    assert square.shape == (128, 128)
    back = box.to_source(square)
    assert back.shape == shape
    assert np.abs(back - smooth).mean() < 0.03


def test_postprocess_keeps_two_lungs_and_fills_holes() -> None:
    lungs = _two_lungs().astype(np.float32)
    lungs[95:105, 65:75] = 0  # a hole (e.g. a tube crossing a lung)
    lungs[5:9, 5:9] = 1  # a speck far away
    lungs[150:152, 200:202] = 1
    mask = postprocess(lungs, PostProcessing(median=0))
    assert mask[100, 70], "the hole is filled"
    assert not mask[6, 6] and not mask[151, 201], "specks are dropped"
    assert mask.sum() == _two_lungs().sum()


def test_lung_box_has_margin_and_empty_mask_gives_whole_film() -> None:
    mask = _two_lungs()
    box = lung_box(mask, 0.1)
    assert box.top < 30 and box.bottom > 170 and box.left < 30 and box.right > 210
    empty = lung_box(np.zeros((50, 60), bool), 0.1)
    assert (empty.top, empty.bottom, empty.left, empty.right) == (0, 50, 0, 60)


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory: pytest.TempPathFactory) -> LungSegmenter:
    pack = tmp_path_factory.mktemp("packs") / "lung-seg"
    write_random_segmentation_pack(pack, size=64, postprocessing={**OPEN_GATE, "tta_rotations": [0, 90, 180, 270]})
    return LungSegmenter(pack)


def test_mask_comes_back_at_the_original_resolution(segmenter: LungSegmenter) -> None:
    film = np.random.default_rng(1).random((333, 251), dtype=np.float32)
    result = segmenter.segment(film)
    assert result.mask.shape == (333, 251) and result.mask.dtype == bool
    assert 0.0 <= result.area_fraction <= 1.0


@pytest.mark.parametrize("k", [1, 2, 3])
def test_rotated_film_gives_the_same_mask_rotated(segmenter: LungSegmenter, k: int) -> None:
    yy, xx = np.mgrid[:192, :192]
    film = (0.5 + 0.4 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + 0.1 * (yy / 192)).astype(np.float32)
    upright = segmenter.segment(film).mask
    rotated = segmenter.segment(np.ascontiguousarray(np.rot90(film, k))).mask
    back = np.rot90(rotated, -k)
    union = np.logical_or(upright, back).sum()
    iou = np.logical_and(upright, back).sum() / union if union else 1.0
    assert iou > 0.97


def test_gate_flags_a_film_without_lungs(tmp_path: Path) -> None:
    pack = tmp_path / "lung-seg"
    write_random_segmentation_pack(pack, size=64)  # default gate: needs confident, plausible lungs
    result = LungSegmenter(pack).segment(np.zeros((128, 128), np.float32))
    assert not result.lungs_found
    assert NO_LUNGS_WARNING in result.warnings


def test_decision_field_keeps_the_cleaned_topology_at_any_size() -> None:
    prob = _two_lungs().astype(np.float32) * 0.9
    prob[5:9, 5:9] = 0.8  # a speck the post-processing drops
    options = PostProcessing(median=0, fill_holes=False)
    mask = postprocess(prob, options)
    field = decision_field(prob, mask, options.threshold)
    assert np.array_equal(field >= options.threshold, mask), "exact at its own size"
    big = resize(field, 2000, 2400) >= options.threshold
    assert not big[50:90, 50:90].any(), "the dropped speck stays dropped"
    assert big[1000, 700] and big[1000, 1700], "both lungs are there"
    assert abs(big.mean() - mask.mean()) < 0.01


def test_big_film_mask_matches_its_display_copy(segmenter: LungSegmenter) -> None:
    yy, xx = np.mgrid[:1500, :1200]
    film = (0.5 + 0.4 * np.sin(xx / 90.0) * np.cos(yy / 130.0)).astype(np.float32)
    result = segmenter.segment(film)
    assert result.mask.shape == (1500, 1200)
    assert result.decision is not None and max(result.decision.shape) <= 64, "post-processed at model size"
    display = result.mask_at((750, 600))
    assert np.mean(display != (resize(result.mask.astype(np.float32), 750, 600) > 0.5)) < 0.01
    assert result.mask_at((1500, 1200)) is result.mask


@pytest.mark.parametrize("shape", [(517, 389), (480, 512), (333, 334), (1000, 77)])
@pytest.mark.parametrize("size", [256, 160, 255])
def test_letterbox_of_a_turned_film_is_the_turned_letterbox(shape: tuple[int, int], size: int) -> None:
    rng = np.random.default_rng(1)
    film = rng.random(shape, dtype=np.float32)
    square, box = letterbox(film, size)
    assert (box.inner_height, box.inner_width) in {(size, box.inner_width), (box.inner_height, size)}
    assert (size - box.inner_height) % 2 == 0 or size % 2, "equal padding on both sides"
    for k in (1, 2, 3):
        turned, _ = letterbox(np.ascontiguousarray(np.rot90(film, k)), size)
        assert np.allclose(turned, np.rot90(square, k), atol=1e-5), (shape, size, k)
