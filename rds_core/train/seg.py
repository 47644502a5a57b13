"""``python -m rds_core.train seg``: train a lung U-Net from scratch and write a weight pack.

Data: a CSV with ``image`` and ``mask`` columns (aliases accepted, see
:mod:`rds_core.train.table`), split by patient (and stratified by source) into train /
validation / test. Validation drives early stopping and the choice of post-processing;
the test split is touched once, at the end, for the numbers in the model card.
Loss: Dice + BCE. Augmentation: :func:`rds_core.train.augment.augment_batch`, on the
training device. The loop is :func:`rds_core.train.loop.fit` (shared with ``cls``); the run
folder records the arguments and a data hash, and ``--resume`` refuses a mismatch.
Starts: random, ``--pretrained`` (ImageNet encoder), ``--init-weights FILE`` or
``--init-from PACK`` (e.g. the shipped lung-seg, fine-tuned on neonatal masks).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image

from rds_core.geometry import letterbox
from rds_core.imaging import load_radiograph
from rds_core.models.builders import build_network, save_pack
from rds_core.orientation import fit_template
from rds_core.models.packs import Architecture, Manifest, Preprocessing
from rds_core.segmentation import (
    LungSegmenter,
    PostProcessing,
    postprocess,
    rotation_averaged_probability,
    smooth_square,
)
from rds_core.train.augment import augment_batch
from rds_core.train.loop import CsvLog, Distributed, FitSettings, fit, load_checkpoint, progress, seed_everything, tensorboard_writer
from rds_core.train.options import add_path_options, add_run_options, add_start_options
from rds_core.train.run_folder import (
    RunMismatch,
    data_hash,
    git_commit,
    prepare_run_folder,
    publish,
    run_arguments,
    strict_json,
    write_json,
)
from rds_core.train.starts import StartError, check_architecture, require_hub, start_network, training_device
from rds_core.train.table import patient_split, read_table

__all__ = ["add_arguments", "run", "dice"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``seg`` options to ``parser``."""
    parser.add_argument("--csv", type=Path, required=True, help="table with image and mask columns")
    add_path_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="weight pack folder to write")
    parser.add_argument("--run-dir", type=Path, default=None, help="checkpoints and log (default: <out>.run)")
    parser.add_argument("--name", default=None, help="pack name (default: the --out folder name)")
    parser.add_argument("--version", default="1.0.0", help="pack version")
    parser.add_argument("--architecture", default="Unet", help="smp architecture, e.g. Unet, UnetPlusPlus, FPN")
    parser.add_argument("--encoder", default="tu-mobilenetv3_large_100", help="smp encoder name or tu-<timm model>")
    parser.add_argument("--decoder-channels", default="128,64,32,16,8", help="decoder widths (Unet family)")
    add_start_options(parser, "e.g. lung-seg to fine-tune it")
    parser.add_argument("--size", type=int, default=256, help="input side in pixels")
    parser.add_argument("--epochs", type=int, default=40, help="maximum epochs")
    parser.add_argument("--batch", type=int, default=8, help="batch size (per process under torchrun)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    parser.add_argument("--patience", type=int, default=8, help="epochs without validation gain before stopping")
    parser.add_argument("--val-frac", type=float, default=0.15, help="share of patients for validation")
    parser.add_argument("--test-frac", type=float, default=0.15, help="share of patients for the test split")
    parser.add_argument("--max-images", type=int, default=0, help="use only the first N rows (smoke tests; 0 = all)")
    add_run_options(parser)
    parser.add_argument("--training-data", default="", help="one-line description for the manifest")
    parser.add_argument("--finalize", action="store_true",
                        help="stop training: write the pack from the run folder's best checkpoint now")


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (1.0 when both are empty)."""
    total = pred.sum() + truth.sum()
    return 1.0 if total == 0 else float(2.0 * np.logical_and(pred, truth).sum() / total)


def _load_pairs(frame: pd.DataFrame, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, masks = [], []
    for row in progress(frame.itertuples(), total=len(frame), desc="loading"):
        pixels = load_radiograph(row.image).pixels
        mask = np.asarray(Image.open(row.mask).convert("L"), dtype=np.float32) / 255.0
        images.append(letterbox(pixels, size)[0])
        masks.append(letterbox(mask, size)[0] > 0.5)
    return torch.from_numpy(np.stack(images))[:, None], torch.from_numpy(np.stack(masks)).float()[:, None]


def _loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    prob = torch.sigmoid(logits)
    inter = (prob * masks).sum(dim=(1, 2, 3))
    soft_dice = 1 - (2 * inter + 1) / (prob.sum(dim=(1, 2, 3)) + masks.sum(dim=(1, 2, 3)) + 1)
    return soft_dice.mean() + F.binary_cross_entropy_with_logits(logits, masks)


@torch.no_grad()
def _predict(network: torch.nn.Module, images: torch.Tensor, device: torch.device, pre: Preprocessing) -> np.ndarray:
    network.eval()
    out = []
    for start in range(0, len(images), 16):
        batch = pre.normalise(images[start : start + 16]).to(device).contiguous(memory_format=torch.channels_last)
        out.append(torch.sigmoid(network(batch)).float().cpu())
    return torch.cat(out)[:, 0].numpy()


def run(args: argparse.Namespace) -> int:
    """Train, choose post-processing on validation, write the pack, report test Dice."""
    started = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    distributed = Distributed.from_environment()
    decoder = tuple(int(c) for c in args.decoder_channels.split(","))
    kwargs = {"decoder_channels": list(decoder)} if args.architecture.startswith("Unet") else {}
    architecture = Architecture("smp", args.architecture, args.encoder, kwargs)
    try:
        device = training_device(args.device)
        if distributed.world > 1 and device.type == "cuda":
            device = torch.device("cuda", distributed.rank % torch.cuda.device_count())
        check_architecture(architecture)
        if args.pretrained:
            require_hub()
        frame = read_table(args.csv, root=args.root, strip_prefix=args.strip_prefix)
        if "mask" not in frame.columns:
            raise ValueError(f"{args.csv.name} has no mask column; seg trains on films with lung masks.")
    except (StartError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    run_dir = args.run_dir or args.out.with_name(args.out.name + ".run")
    frame = frame[frame["mask"] != ""].reset_index(drop=True)
    if args.max_images:
        frame = frame.head(args.max_images).reset_index(drop=True)
    train_frac = 1.0 - args.val_frac - args.test_frac
    frame["split"] = patient_split(frame, {"train": train_frac, "val": args.val_frac, "test": args.test_frac}, args.seed)
    digest = data_hash(frame, ["image", "mask", "patient_id", "source", "split"])
    try:
        if distributed.is_main and not args.finalize:
            prepare_run_folder(run_dir, run_arguments(args), digest, resume=args.resume,
                               stale=("last.pt", "log.csv", "split.csv", "tensorboard/**/events.out.tfevents.*"))
    except RunMismatch as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if distributed.is_main:
        frame.to_csv(run_dir / "split.csv", index=False)
    parts = {name: frame[frame["split"] == name].reset_index(drop=True) for name in ("train", "val", "test")}
    print(f"films: {', '.join(f'{k} {len(v)}' for k, v in parts.items())}; device {device}", flush=True)
    if len(parts["train"]) == 0 or len(parts["val"]) == 0:
        print("error: the train or validation split is empty; give more films or other --val-frac/--test-frac.", file=sys.stderr)
        return 2

    preprocessing = Preprocessing(size=args.size, mean=0.5, std=0.25)
    checkpoint_path = run_dir / "last.pt"
    if args.finalize:
        state = load_checkpoint(checkpoint_path)
        if state is None:
            print(f"error: no checkpoint in {run_dir} to finalize", file=sys.stderr)
            return 2
        best_state, best_score = state["best_state"], state["stopper"].best
        network = build_network(architecture).to(device)
    else:
        try:
            network, start = start_network(architecture, pretrained=args.pretrained, init_weights=args.init_weights,
                                           init_from=args.init_from)
        except StartError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"start: {start}", flush=True)
        network = network.to(device).to(memory_format=torch.channels_last)
        best_state, best_score = _train(network, parts, args, preprocessing, device, run_dir, distributed)
    if not distributed.is_main:
        return 0

    network.load_state_dict(best_state)
    options = _choose_postprocessing(network, parts["val"], device, preprocessing)
    manifest = Manifest(
        name=args.name or args.out.name, version=args.version, task="segmentation", class_names=("background", "lung"),
        architecture=architecture, preprocessing=preprocessing, files={},
        threshold=options.threshold,
        training_data=args.training_data or f"{len(parts['train'])} films from {args.csv.name}",
        postprocessing=options,
        notice="Research demo weights; not for clinical use.",
        extra=strict_json({"hyperparameters": run_arguments(args), "data_hash": digest, "git_commit": git_commit(),
                           # which way up a film is, from its mask (rds_core.orientation); training masks only
                           "upright_template": fit_template(_mask_of(m) for m in parts["train"]["mask"]).to_manifest_extra()}),
    )
    manifest = save_pack(args.out, manifest, {"model.safetensors": network.state_dict()}, fp16=True)
    metrics = evaluate_pack(args.out, parts["test"], device) if len(parts["test"]) else {"test_n": 0}
    metrics.update(val_dice_best=best_score, epochs_run=int(len(pd.read_csv(run_dir / "log.csv"))) if (run_dir / "log.csv").exists() else 0,
                   train_minutes=round((time.time() - started) / 60, 1), machine=f"{platform.machine()} {torch.get_num_threads()} threads, {device}",
                   n_train=len(parts["train"]), n_val=len(parts["val"]), n_test=len(parts["test"]))
    manifest = save_pack(args.out, dataclasses.replace(manifest, metrics=strict_json(metrics)), {"model.safetensors": network.state_dict()}, fp16=True)
    publish(args.out)
    publish(run_dir)
    write_json(run_dir / "metrics.json", metrics)
    print((run_dir / "metrics.json").read_text(encoding="utf-8"), flush=True)
    return 0


def _train(network: torch.nn.Module, parts: dict[str, pd.DataFrame], args: argparse.Namespace, pre: Preprocessing,
           device: torch.device, run_dir: Path, distributed: Distributed) -> tuple[dict[str, torch.Tensor], float]:
    """Run :func:`fit` on the train split, scored by validation Dice; return the best state and its Dice."""
    generator = seed_everything(args.seed)
    train_x, train_y = _load_pairs(parts["train"], args.size)
    val_x, val_y = _load_pairs(parts["val"], args.size)
    if device.type == "cuda":
        train_x, train_y = train_x.pin_memory(), train_y.pin_memory()
    trained = network
    if distributed.world > 1:
        trained = torch.nn.parallel.DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)

    def batch_of(index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        images, masks = augment_batch(train_x[index].to(device, non_blocking=True), train_y[index].to(device, non_blocking=True), generator)
        return pre.normalise(images).contiguous(memory_format=torch.channels_last), masks

    def score(model: torch.nn.Module) -> float:
        val_prob = _predict(model, val_x, device, pre)
        return float(np.mean([dice(p > 0.5, t[0].numpy() > 0.5) for p, t in zip(val_prob, val_y)]))

    tensorboard = tensorboard_writer(run_dir / "tensorboard", args.tensorboard and distributed.is_main)
    settings = FitSettings(args.epochs, args.batch, args.lr, args.patience, pct_start=0.1)
    best, stopper = fit(trained, len(train_x), batch_of, _loss, score, settings, device=device, generator=generator,
                        checkpoint=run_dir / "last.pt", log=CsvLog(run_dir / "log.csv"), resume=args.resume,
                        distributed=distributed, tensorboard=tensorboard)
    if tensorboard is not None:
        tensorboard.close()
    return best, stopper.best


def _mask_of(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L")) > 127


def _choose_postprocessing(network: torch.nn.Module, val: pd.DataFrame, device: torch.device, pre: Preprocessing) -> PostProcessing:
    """Pick median size and rotation averaging by mean Dice on validation at full resolution."""
    films = [load_radiograph(p).pixels for p in val["image"]]
    truths = [_mask_of(p) for p in val["mask"]]
    best, best_score = PostProcessing(), -1.0
    network.eval()
    # Rotation averaging first: it makes the mask exactly rotation-equivariant (the upright
    # estimate and an orientation-invariant score rely on that), so a single pass replaces
    # it only for a clear gain.
    for rotations in ((0, 90, 180, 270), (0,)):
        probs = []
        for pixels in films:
            square, box = letterbox(pixels, pre.size)
            tensor = pre.to_tensor(square)
            probs.append((box, rotation_averaged_probability(network, tensor, rotations, device)))
        for median in (0, 5, 9):
            for fill in (False, True):
                options = PostProcessing(median=median, fill_holes=fill, tta_rotations=rotations)
                score = float(np.mean([dice(postprocess(box.to_source(smooth_square(p, options)), options), t)
                                       for (box, p), t in zip(probs, truths)]))
                print(f"post-processing rotations={rotations} median={median} fill={fill}: val Dice {score:.4f}", flush=True)
                if score > best_score + (0.002 if len(rotations) == 1 and best_score >= 0 else 0.0):
                    best, best_score = options, score
    print(f"chosen: {best}", flush=True)
    return best


def evaluate_pack(pack_dir: Path, frame: pd.DataFrame, device: torch.device) -> dict[str, object]:
    """Dice of the written pack (through the inference code path) per source and overall."""
    segmenter = LungSegmenter(pack_dir, device)
    rows = []
    for row in frame.itertuples():
        pred = segmenter.segment(load_radiograph(row.image).pixels).mask
        truth = _mask_of(row.mask)
        inter, union = np.logical_and(pred, truth).sum(), np.logical_or(pred, truth).sum()
        rows.append({"source": row.source, "dice": dice(pred, truth), "iou": float(inter / union) if union else 1.0})
    scores = pd.DataFrame(rows)
    result: dict[str, object] = {"test_dice_mean": round(float(scores["dice"].mean()), 4),
                                 "test_iou_mean": round(float(scores["iou"].mean()), 4), "test_n": len(scores)}
    for source, group in scores.groupby("source"):
        result[f"test_dice_{source}"] = round(float(group["dice"].mean()), 4)
        result[f"test_dice_{source}_min"] = round(float(group["dice"].min()), 4)
        result[f"test_n_{source}"] = int(len(group))
    return result
