"""``python -m rds_core.train seg``: train a lung U-Net from scratch and write a weight pack.

Data: a CSV with ``image`` and ``mask`` columns (aliases accepted, see
:mod:`rds_core.train.table`), split by patient (and stratified by source) into train /
validation / test. Validation drives early stopping and the choice of post-processing;
the test split is touched once, at the end, for the numbers in the model card.
Loss: Dice + BCE. Augmentation: :func:`rds_core.train.augment.augment_batch`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from rds_core.device import resolve_device
from rds_core.geometry import letterbox
from rds_core.imaging import load_radiograph
from rds_core.models.builders import build_network, save_pack
from rds_core.models.packs import Architecture, Manifest, Preprocessing
from rds_core.segmentation import (
    LungSegmenter,
    PostProcessing,
    postprocess,
    rotation_averaged_probability,
    smooth_square,
)
from rds_core.train.augment import augment_batch
from rds_core.train.loop import CsvLog, EarlyStopping, load_checkpoint, save_checkpoint, seed_everything, to_device_batches
from rds_core.train.table import patient_split, read_table

__all__ = ["add_arguments", "run", "dice"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, required=True, help="table with image and mask columns")
    parser.add_argument("--out", type=Path, required=True, help="weight pack folder to write")
    parser.add_argument("--run-dir", type=Path, default=None, help="checkpoints and log (default: <out>.run)")
    parser.add_argument("--name", default="lung-seg")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--encoder", default="tu-mobilenetv3_large_100")
    parser.add_argument("--decoder-channels", default="128,64,32,16,8")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--patience", type=int, default=8)
    parser.add_argument("--val-frac", type=float, default=0.15)
    parser.add_argument("--test-frac", type=float, default=0.15)
    parser.add_argument("--max-images", type=int, default=0, help="use only the first N rows (smoke tests)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    parser.add_argument("--training-data", default="", help="one-line description for the manifest")
    parser.add_argument("--finalize", action="store_true",
                        help="stop training: write the pack from the run folder's best checkpoint now")


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (1.0 when both are empty)."""
    total = pred.sum() + truth.sum()
    return 1.0 if total == 0 else float(2.0 * np.logical_and(pred, truth).sum() / total)


def _load_pairs(frame: pd.DataFrame, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, masks = [], []
    for row in tqdm(frame.itertuples(), total=len(frame), desc="loading", leave=False):
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
def _predict(network: torch.nn.Module, images: torch.Tensor, device: torch.device, mean: float, std: float) -> np.ndarray:
    network.eval()
    out = []
    for start in range(0, len(images), 16):
        batch = ((images[start : start + 16] - mean) / std).to(device).contiguous(memory_format=torch.channels_last)
        out.append(torch.sigmoid(network(batch)).float().cpu())
    return torch.cat(out)[:, 0].numpy()


def run(args: argparse.Namespace) -> int:
    """Train, choose post-processing on validation, write the pack, report test Dice."""
    started = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    generator = seed_everything(args.seed)
    run_dir = args.run_dir or args.out.with_name(args.out.name + ".run")
    run_dir.mkdir(parents=True, exist_ok=True)

    frame = read_table(args.csv)
    frame = frame[frame["mask"].astype(str) != ""].reset_index(drop=True)
    if args.max_images:
        frame = frame.head(args.max_images).reset_index(drop=True)
    train_frac = 1.0 - args.val_frac - args.test_frac
    frame["split"] = patient_split(frame, {"train": train_frac, "val": args.val_frac, "test": args.test_frac}, args.seed)
    frame.to_csv(run_dir / "split.csv", index=False)
    parts = {name: frame[frame["split"] == name].reset_index(drop=True) for name in ("train", "val", "test")}
    print(f"films: {', '.join(f'{k} {len(v)}' for k, v in parts.items())}; device {device}", flush=True)

    preprocessing = Preprocessing(size=args.size, mean=0.5, std=0.25)
    decoder = tuple(int(c) for c in args.decoder_channels.split(","))
    architecture = Architecture("smp", "Unet", args.encoder, {"decoder_channels": list(decoder)})
    network = build_network(architecture).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, total_steps=args.epochs * -(-len(parts["train"]) // args.batch), pct_start=0.1
    )
    stopper = EarlyStopping(args.patience)
    start_epoch, best_state = 0, None
    checkpoint_path = run_dir / "last.pt"
    if args.resume and (state := load_checkpoint(checkpoint_path)) is not None:
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        stopper = state["stopper"]
        best_state, start_epoch = state["best_state"], state["epoch"] + 1
        print(f"resumed at epoch {start_epoch} (best val Dice {stopper.best:.4f})", flush=True)

    if args.finalize:
        state = load_checkpoint(checkpoint_path)
        if state is None:
            print(f"error: no checkpoint in {run_dir} to finalize", flush=True)
            return 2
        best_state, stopper = state["best_state"], state["stopper"]
        start_epoch = args.epochs  # skip the loop
    else:
        train_x, train_y = _load_pairs(parts["train"], args.size)
        val_x, val_y = _load_pairs(parts["val"], args.size)
    log = CsvLog(run_dir / "log.csv")
    for epoch in range(start_epoch, args.epochs):
        if stopper.should_stop:
            break
        network.train()
        losses, tick = [], time.time()
        batches = to_device_batches(len(train_x), args.batch, generator)
        for index in tqdm(batches, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False):
            images, masks = augment_batch(train_x[index], train_y[index], generator)
            images = ((images - preprocessing.mean) / preprocessing.std).to(device).contiguous(memory_format=torch.channels_last)
            loss = _loss(network(images), masks.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        val_prob = _predict(network, val_x, device, preprocessing.mean, preprocessing.std)
        val_dice = float(np.mean([dice(p > 0.5, t[0].numpy() > 0.5) for p, t in zip(val_prob, val_y)]))
        improved = stopper.update(val_dice)
        if improved:
            best_state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "val_dice": val_dice,
               "lr": scheduler.get_last_lr()[0], "seconds": time.time() - tick, "best": improved}
        log.write(row)
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        save_checkpoint(checkpoint_path, model=network.state_dict(), optimizer=optimizer.state_dict(),
                        scheduler=scheduler.state_dict(), generator=generator.get_state(), stopper=stopper,
                        best_state=best_state, epoch=epoch)

    assert best_state is not None, "no epoch finished"
    network.load_state_dict(best_state)
    options = _choose_postprocessing(network, parts["val"], device, preprocessing)
    manifest = Manifest(
        name=args.name, version=args.version, task="segmentation", class_names=("background", "lung"),
        architecture=architecture, preprocessing=preprocessing, files={},
        threshold=options.threshold,
        training_data=args.training_data or f"{len(parts['train'])} films from {args.csv.name}",
        postprocessing={k: (list(v) if isinstance(v, tuple) else v) for k, v in options.__dict__.items()},
        notice="Research demo weights; not for clinical use.",
    )
    manifest = save_pack(args.out, manifest, {"model.safetensors": network.state_dict()}, fp16=True)
    metrics = evaluate_pack(args.out, parts["test"], device)
    metrics.update(val_dice_best=stopper.best, epochs_run=int(len(pd.read_csv(run_dir / "log.csv"))),
                   train_minutes=round((time.time() - started) / 60, 1), machine=f"{platform.machine()} {torch.get_num_threads()} threads, {device}",
                   n_train=len(parts["train"]), n_val=len(parts["val"]), n_test=len(parts["test"]))

    manifest = save_pack(args.out, dataclasses.replace(manifest, metrics=metrics), {"model.safetensors": network.state_dict()}, fp16=True)
    print(json.dumps(metrics, indent=2), flush=True)
    return 0


def _mask_of(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L")) > 127


def _choose_postprocessing(network: torch.nn.Module, val: pd.DataFrame, device: torch.device, pre: Preprocessing) -> PostProcessing:
    """Pick median size and rotation averaging by mean Dice on validation at full resolution."""
    films = [load_radiograph(p).pixels for p in val["image"]]
    truths = [_mask_of(p) for p in val["mask"]]
    best, best_score = PostProcessing(), -1.0
    network.eval()
    for rotations in ((0,), (0, 90, 180, 270)):
        probs = []
        for pixels in films:
            square, box = letterbox(pixels, pre.size)
            tensor = torch.from_numpy((square - pre.mean) / pre.std)[None, None]
            probs.append((box, rotation_averaged_probability(network, tensor, rotations, device)))
        for median in (0, 5, 9):
            for fill in (False, True):
                options = PostProcessing(median=median, fill_holes=fill, tta_rotations=rotations)
                score = float(np.mean([dice(postprocess(box.to_source(smooth_square(p, options)), options), t)
                                       for (box, p), t in zip(probs, truths)]))
                print(f"post-processing rotations={rotations} median={median} fill={fill}: val Dice {score:.4f}", flush=True)
                # Rotation averaging costs 4x: take it only for a real gain.
                if score > best_score + (0.002 if len(rotations) > 1 else 0.0):
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
