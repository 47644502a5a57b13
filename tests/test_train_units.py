"""Small pieces of the training side: label parsing, devices, schedules, starts, run folders, CIs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from rds_core.models.packs import Architecture
from rds_core.train.labels import class_counts, parse_flag, parse_label
from rds_core.train.loop import Distributed, one_cycle
from rds_core.train.metrics import bootstrap_auc_interval, calibration_table, delong_auc_interval
from rds_core.train.run_folder import RunMismatch, prepare_run_folder, strict_json
from rds_core.train.starts import StartError, adapt_state, check_architecture, start_network, training_device


@pytest.mark.parametrize(("value", "expected"), [
    ("1", 1), ("0", 0), ("1.0", 1), ("0.0", 0), (1.0, 1), (0, 0), (True, 1), ("True", 1), ("FALSE", 0),
    ("RDS", 1), ("rds", 1), (" non-RDS ", 0), ("Non-rds", 0),
    ("2", None), ("", None), ("yes", None), ("0.5", None), ("nan", None), (None, None), ("RDS?", None),
])
def test_labels_are_read_strictly(value: object, expected: int | None) -> None:
    assert parse_label(value) == expected


def test_extra_label_values_and_flags() -> None:
    assert parse_label("Pneumonia", positive=["pneumonia"], negative=["normal"]) == 1
    assert parse_label("NORMAL", positive=["pneumonia"], negative=["normal"]) == 0
    assert parse_flag("RDS") is None and parse_flag("1.0") == 1


def test_one_class_is_refused() -> None:
    assert class_counts([0, 1, 1]) == "non-RDS 1, RDS 2"
    with pytest.raises(ValueError, match=r"only one class \(non-RDS 0, RDS 3\)"):
        class_counts([1, 1, 1])


@pytest.mark.parametrize("steps", range(1, 13))
def test_one_cycle_accepts_any_number_of_steps(steps: int) -> None:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = one_cycle(optimizer, 0.1, steps, 0.1)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()


def test_devices() -> None:
    assert training_device("cpu").type == "cpu"
    with pytest.raises(StartError, match="Unknown device 'tpu'"):
        training_device("tpu")
    if torch.cuda.device_count() < 2:
        with pytest.raises(StartError, match="cuda:1"):
            training_device("cuda:1")


def test_model_names_are_checked() -> None:
    check_architecture(Architecture("timm", "densenet201"))
    check_architecture(Architecture("smp", "Unet", "tu-efficientnet_b5"))
    check_architecture(Architecture("smp", "Unet", "resnet34"))
    with pytest.raises(StartError, match="'Unet3' is not a segmentation_models_pytorch"):
        check_architecture(Architecture("smp", "Unet3", "resnet34"))
    with pytest.raises(StartError, match="'resnet999' is not an smp encoder"):
        check_architecture(Architecture("smp", "Unet", "resnet999"))


def test_init_weights_adapts_an_rgb_imagenet_checkpoint_to_one_grey_channel(tmp_path: Path) -> None:
    import timm

    rgb = timm.create_model("test_efficientnet", pretrained=False, num_classes=1000)  # as downloaded: 3 channels, 1000 classes
    torch.save({"state_dict": rgb.state_dict()}, tmp_path / "imagenet.pth")
    network, description = start_network(Architecture("timm", "test_efficientnet"), init_weights=tmp_path / "imagenet.pth")
    stem = next(k for k, v in rgb.state_dict().items() if v.ndim == 4)
    assert torch.allclose(network.state_dict()[stem], rgb.state_dict()[stem].sum(dim=1, keepdim=True))
    total = len(network.state_dict())
    assert f"of {total} tensors" in description and int(description.split("(")[1].split()[0]) == total - 2  # head skipped
    with pytest.raises(StartError, match="no such file"):
        start_network(Architecture("timm", "test_efficientnet"), init_weights=tmp_path / "none.pth")
    with pytest.raises(StartError, match="None of the checkpoint's tensors fit"):
        adapt_state(network, {"x": torch.zeros(3)})


def test_pretrained_offline_names_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(StartError, match="HF_HUB_OFFLINE is set.*--init-weights FILE"):
        start_network(Architecture("timm", "test_efficientnet"), pretrained=True)


def test_run_folder_refuses_a_mismatched_resume_and_clears_a_fresh_start(tmp_path: Path) -> None:
    prepare_run_folder(tmp_path, {"size": 64, "folds": 5}, "abc", resume=False, stale=("*.pt",))
    (tmp_path / "fold0.pt").write_text("x")
    prepare_run_folder(tmp_path, {"size": 64, "folds": 5}, "abc", resume=True, stale=("*.pt",))
    with pytest.raises(RunMismatch, match=r"other settings \(folds, size\)"):
        prepare_run_folder(tmp_path, {"size": 96, "folds": 4}, "abc", resume=True, stale=())
    with pytest.raises(RunMismatch, match="data"):
        prepare_run_folder(tmp_path, {"size": 64, "folds": 5}, "abd", resume=True, stale=())
    prepare_run_folder(tmp_path, {"size": 96}, "abd", resume=False, stale=("*.pt",))
    assert not (tmp_path / "fold0.pt").exists()
    with pytest.raises(RunMismatch, match="no run.json"):
        prepare_run_folder(tmp_path / "old", {}, "", resume=True, stale=())


def test_strict_json_has_no_nan() -> None:
    assert strict_json({"a": float("nan"), "b": [np.float32(1.5), np.inf], "c": np.int64(3)}) == {"a": None, "b": [1.5, None], "c": 3}


def test_distributed_shards_give_every_rank_the_same_number_of_batches() -> None:
    batches = [torch.tensor([i]) for i in range(5)]
    shards = [Distributed(rank, 2).shard(batches) for rank in (0, 1)]
    assert [len(s) for s in shards] == [3, 3]
    assert {int(b) for s in shards for b in s} == set(range(5))


def test_delong_interval_matches_sklearn_auc_and_narrows_with_more_films() -> None:
    rng = np.random.default_rng(0)
    widths = []
    for n in (40, 400):
        labels = rng.integers(0, 2, n)
        scores = labels * 0.8 + rng.normal(0, 0.6, n)
        auc, low, high = delong_auc_interval(labels, scores)
        assert math.isclose(auc, roc_auc_score(labels, scores)) and low < auc < high
        widths.append(high - low)
        boot_low, boot_high = bootstrap_auc_interval(labels, scores, resamples=1000)
        assert abs((high - low) - (boot_high - boot_low)) < 0.25 * (high - low)  # two estimates of one interval
    assert widths[1] < widths[0]


def test_calibration_table_counts_every_film() -> None:
    table = calibration_table(np.array([0, 1, 1, 0]), np.array([0.05, 0.95, 1.0, 0.55]))
    assert sum(r["n"] for r in table) == 4
    assert table[9]["n"] == 2 and table[9]["observed_rate"] == 1.0 and table[5]["observed_rate"] == 0.0


@pytest.mark.parametrize(("command", "shown"), [("cls", ["--size SIZE", "(default: 160)", "(default: efficientnet_b0)"]),
                                                ("seg", ["(default: 256)", "mobilenetv3_large_100)"])])
def test_help_shows_the_defaults(command: str, shown: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from rds_core.train.__main__ import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for piece in shown:
        assert piece in text


def test_fit_resumed_after_a_cut_ends_exactly_where_an_uncut_run_ends(tmp_path: Path) -> None:
    from rds_core.train.loop import CsvLog, FitSettings, fit, seed_everything

    x, y = torch.randn(24, 3, generator=torch.Generator().manual_seed(0)), torch.rand(24, 1)
    settings = FitSettings(epochs=3, batch=5, lr=0.05, patience=10)

    def train(folder: Path, cut_at: int | None, resume: bool) -> dict[str, torch.Tensor]:
        generator = seed_everything(1)
        network = torch.nn.Linear(3, 1)
        calls = []

        def score(model: torch.nn.Module) -> float:
            calls.append(1)
            if cut_at is not None and len(calls) == cut_at:
                raise KeyboardInterrupt  # the session ends during epoch cut_at
            with torch.no_grad():
                return -float(torch.nn.functional.mse_loss(model(x), y))

        best, _ = fit(network, len(x), lambda i: (x[i], y[i]), torch.nn.functional.mse_loss, score, settings,
                      device=torch.device("cpu"), generator=generator, checkpoint=folder / "last.pt",
                      log=CsvLog(folder / "log.csv"), resume=resume)
        return best

    whole = train(tmp_path / "a", None, False)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b", 2, False)
    seed_everything(99)  # the resumed process starts with other global random state
    resumed = train(tmp_path / "b", None, True)
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key
    assert len((tmp_path / "b/log.csv").read_text().splitlines()) == 1 + 3


def test_publish_opens_files_and_folders_written_under_a_private_umask(tmp_path: Path) -> None:
    import os

    from rds_core.train.run_folder import publish

    old = os.umask(0o077)
    try:
        (tmp_path / "pack" / "sub").mkdir(parents=True)
        (tmp_path / "pack" / "manifest.json").write_text("{}")
        (tmp_path / "pack" / "sub" / "x.bin").write_bytes(b"x")
    finally:
        os.umask(old)
    publish(tmp_path / "pack")
    assert (tmp_path / "pack").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "pack" / "sub").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "pack" / "manifest.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "pack" / "sub" / "x.bin").stat().st_mode & 0o777 == 0o644


def test_data_hash_accepts_tables_without_some_masks(tmp_path) -> None:
    """Two tables concatenated, one without a mask column: the missing cells are NaN, not paths."""
    import pandas as pd

    from rds_core.train.run_folder import data_hash

    film = tmp_path / "a.png"
    film.write_bytes(b"x")
    frame = pd.concat([pd.DataFrame({"image": [str(film)], "mask": [str(film)]}), pd.DataFrame({"image": [str(film)]})],
                      ignore_index=True)
    digest = data_hash(frame, ["image", "mask"])
    assert len(digest) == 16 and digest == data_hash(frame, ["image", "mask"])
