"""``python -m rds_core.train cls``: five fold classifiers -> one weight pack.

Reads one or more tables (the ``prepare`` output, or any CSV with an image column, a label
column and optionally ``mask``, ``patient_id`` and ``fold`` columns). Each fold model is a
timm network trained from scratch on the lung-masked film cropped to the lungs (exactly
:func:`rds_core.classification.prepare_input`, so training and inference see the same
input). Per fold: class-balanced BCE (``pos_weight``), radiograph augmentation, early
stopping on an inner validation split of the training patients - the held-out fold is
predicted once, at the end, so the out-of-fold (OOF) numbers are honest.
The decision threshold maximises Youden's J (sensitivity + specificity - 1) on the OOF
predictions.

``--simulate-rds`` builds the demo task: every film appears once untouched (label 0) and
once with a simulated RDS pattern of a random grade (label 1, see
:mod:`rds_core.train.simulate`); both copies of a patient stay in one fold.
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
from sklearn.metrics import roc_auc_score, roc_curve
from tqdm import tqdm

from rds_core.classification import prepare_input
from rds_core.device import resolve_device
from rds_core.geometry import letterbox, lung_box
from rds_core.imaging import load_radiograph
from rds_core.models.builders import build_network, save_pack
from rds_core.models.packs import Architecture, Manifest, Preprocessing
from rds_core.train.augment import augment_batch
from rds_core.train.folds import assign_folds
from rds_core.train.loop import CsvLog, EarlyStopping, load_checkpoint, save_checkpoint, seed_everything, to_device_batches
from rds_core.train.metrics import binary_metrics
from rds_core.train.table import patient_split, read_table

__all__ = ["add_arguments", "run"]

NOTICE_RDS_DEMO = (
    "Demo weights trained on simulated RDS patterns on public paediatric radiographs; "
    "not validated on real RDS; not for clinical use."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, action="append", required=True, help="table(s); repeat to combine")
    parser.add_argument("--out", type=Path, required=True, help="weight pack folder to write")
    parser.add_argument("--run-dir", type=Path, default=None, help="checkpoints, log, OOF table (default <out>.run)")
    parser.add_argument("--name", default=None, help="pack name (default: the --out folder name)")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--label-column", default="rds")
    parser.add_argument("--negative-values", default="0,normal,non-rds", help="label values meaning negative (case-insensitive)")
    parser.add_argument("--class-names", default="non-RDS,RDS", help="negative,positive")
    parser.add_argument("--sources", default="", help="keep only these source values (comma list)")
    parser.add_argument("--seg-pack", default="lung-seg", help="segments films whose table row has no mask")
    parser.add_argument("--simulate-rds", action="store_true", help="label = simulated RDS pattern (demo pack)")
    parser.add_argument("--model", default="efficientnet_b0")
    parser.add_argument("--size", type=int, default=160)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--inner-val-frac", type=float, default=0.12)
    parser.add_argument("--right-angles", action="store_true",
                        help="also augment with 90/180/270 degree rotations (slower to learn; films here are upright)")
    parser.add_argument("--max-images", type=int, default=0, help="use only N films (smoke tests)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="skip finished folds, continue the unfinished one")
    parser.add_argument("--training-data", default="", help="one-line description for the manifest")


# ----------------------------------------------------------------------------- data


def _load_films(args: argparse.Namespace) -> pd.DataFrame:
    frames = [read_table(path, label_column=None if args.simulate_rds else args.label_column) for path in args.csv]
    frame = pd.concat(frames, ignore_index=True)
    if args.sources:
        frame = frame[frame["source"].isin(args.sources.split(","))]
    if args.max_images:
        frame = frame.sample(n=min(args.max_images, len(frame)), random_state=args.seed)
    frame = frame.reset_index(drop=True)
    if not args.simulate_rds:
        negatives = {v.strip().lower() for v in args.negative_values.split(",")}
        frame["label"] = [0 if str(v).strip().lower() in negatives else 1 for v in frame["label"]]
    return frame


def _mask_for(row: pd.Series, pixels: np.ndarray, segmenter) -> np.ndarray:
    path = row.get("mask", "")
    if isinstance(path, str) and path:
        mask = np.asarray(Image.open(path).convert("L")) > 127
        if mask.shape == pixels.shape:
            return mask
    return segmenter.segment(pixels).mask


def _build_examples(frame: pd.DataFrame, args: argparse.Namespace, manifest_pre: Preprocessing) -> dict[str, np.ndarray]:
    """Preprocess every film once: (images, labels, film index, grade, lung area)."""
    segmenter = None
    if "mask" not in frame.columns or (frame["mask"].astype(str) == "").any() or frame["mask"].isna().any():
        from rds_core.segmentation import LungSegmenter

        segmenter = LungSegmenter(args.seg_pack, "cpu")
    fake_manifest = Manifest("tmp", "0", "classification", ("0", "1"), Architecture("timm", args.model), manifest_pre, {"x": "y"})
    rng = np.random.default_rng(args.seed)
    images, labels, film, grades, areas = [], [], [], [], []
    if args.simulate_rds:
        from rds_core.train.simulate import simulate_rds
    for index, row in tqdm(frame.iterrows(), total=len(frame), desc="preprocessing"):
        pixels = load_radiograph(row["image"]).pixels
        mask = _mask_for(row, pixels, segmenter)
        areas.append(float(mask.mean()))
        variants = [(pixels, 0, 0)] if args.simulate_rds else [(pixels, int(row["label"]), 0)]
        if args.simulate_rds:
            grade = int(index % 4) + 1  # balanced grades I-IV over the films
            variants.append((simulate_rds(pixels, mask, grade, rng).image, 1, grade))
        for image, label, grade in variants:
            images.append(prepare_input(image, mask, fake_manifest).tensor[0, 0].numpy())
            labels.append(label)
            film.append(index)
            grades.append(grade)
    # Tensors are stored normalised: undo to [0, 1] for augmentation, renormalise later.
    stack = np.stack(images) * manifest_pre.std + manifest_pre.mean
    return {"images": stack.astype(np.float32), "labels": np.array(labels), "film": np.array(film),
            "grade": np.array(grades), "area": np.array(areas)}


# ----------------------------------------------------------------------------- training


def _predict(network, images: np.ndarray, pre: Preprocessing, device) -> np.ndarray:
    network.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), 64):
            batch = torch.from_numpy((images[start : start + 64] - pre.mean) / pre.std)[:, None]
            out.append(torch.sigmoid(network(batch.to(device).contiguous(memory_format=torch.channels_last))).float().cpu())
    return torch.cat(out)[:, 0].numpy()


def _train_fold(fold: int, train_idx: np.ndarray, inner_idx: np.ndarray, data: dict, args, pre, architecture, device, run_dir):
    """Train one fold (resumable); return its best state dict."""
    generator = seed_everything(args.seed + fold)
    network = build_network(architecture).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * -(-len(train_idx) // args.batch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    stopper, best_state, start_epoch = EarlyStopping(args.patience), None, 0
    checkpoint = run_dir / f"fold{fold}.pt"
    if args.resume and (state := load_checkpoint(checkpoint)) is not None:
        network.load_state_dict(state["model"]); optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"]); generator.set_state(state["generator"])
        stopper, best_state, start_epoch = state["stopper"], state["best_state"], state["epoch"] + 1
        print(f"fold {fold}: resumed at epoch {start_epoch}", flush=True)
    labels = data["labels"]
    positives = labels[train_idx].sum()
    pos_weight = torch.tensor((len(train_idx) - positives) / max(positives, 1), device=device)
    images_t = torch.from_numpy(data["images"])[:, None]
    log = CsvLog(run_dir / "log.csv")
    for epoch in range(start_epoch, args.epochs):
        if stopper.should_stop:
            break
        network.train()
        tick, losses = time.time(), []
        for batch in tqdm(to_device_batches(len(train_idx), args.batch, generator), desc=f"fold {fold} epoch {epoch + 1}", leave=False):
            rows = torch.from_numpy(train_idx)[batch]
            images, _ = augment_batch(images_t[rows], None, generator, right_angles=args.right_angles, max_scale=0.08)
            images = ((images - pre.mean) / pre.std).to(device).contiguous(memory_format=torch.channels_last)
            target = torch.from_numpy(labels[rows.numpy()]).float().to(device)
            loss = F.binary_cross_entropy_with_logits(network(images)[:, 0].float(), target, pos_weight=pos_weight)
            optimizer.zero_grad(set_to_none=True); loss.backward(); optimizer.step(); scheduler.step()
            losses.append(loss.item())
        inner_prob = _predict(network, data["images"][inner_idx], pre, device)
        inner_auc = float(roc_auc_score(labels[inner_idx], inner_prob)) if len(set(labels[inner_idx])) > 1 else 0.0
        improved = stopper.update(inner_auc)
        if improved:
            best_state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
        row = {"fold": fold, "epoch": epoch + 1, "train_loss": float(np.mean(losses)), "inner_val_auc": inner_auc,
               "seconds": time.time() - tick, "best": improved}
        log.write(row)
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        save_checkpoint(checkpoint, model=network.state_dict(), optimizer=optimizer.state_dict(),
                        scheduler=scheduler.state_dict(), generator=generator.get_state(), stopper=stopper,
                        best_state=best_state, epoch=epoch)
    return best_state


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold maximising sensitivity + specificity - 1 (Youden's J)."""
    fpr, tpr, thresholds = roc_curve(labels, scores)
    best = int(np.argmax(tpr - fpr))
    return float(np.clip(thresholds[best], 1e-4, 1 - 1e-4))


def run(args: argparse.Namespace) -> int:
    """Build examples, train the folds, choose the threshold on OOF, write the pack."""
    started = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    run_dir = args.run_dir or args.out.with_name(args.out.name + ".run")
    run_dir.mkdir(parents=True, exist_ok=True)
    name = args.name or args.out.name
    pre = Preprocessing(size=args.size, mean=0.5, std=0.25, lung_masked=True, crop_margin=0.05)
    architecture = Architecture("timm", args.model)

    frame = _load_films(args)
    cache = run_dir / "examples.npz"
    if args.resume and cache.exists():
        data = dict(np.load(cache))
    else:
        data = _build_examples(frame, args, pre)
        np.savez(cache, **data)
    film_labels = (pd.Series(data["labels"]).groupby(data["film"]).max()).to_numpy()
    if "fold" in frame.columns and not args.simulate_rds:
        film_fold = frame["fold"].astype(int).to_numpy()
    else:
        film_fold = np.array(assign_folds(list(film_labels), list(data["area"]), list(frame["patient_id"]),
                                          [str(p) for p in frame["image"]], args.folds))
    fold_of = film_fold[data["film"]]
    frame["fold"] = film_fold
    print(f"{len(frame)} films, {len(data['labels'])} examples ({int(data['labels'].sum())} positive); device {device}", flush=True)

    states, oof = {}, np.full(len(data["labels"]), np.nan)
    fold_metrics = []
    for fold in range(args.folds):
        held = np.flatnonzero(fold_of == fold)
        rest_films = frame[frame["fold"] != fold]
        inner = patient_split(rest_films.assign(source="all"), {"train": 1 - args.inner_val_frac, "inner": args.inner_val_frac}, args.seed)
        inner_films = set(rest_films.index[inner == "inner"])
        inner_idx = np.flatnonzero((fold_of != fold) & np.isin(data["film"], list(inner_films)))
        train_idx = np.flatnonzero((fold_of != fold) & ~np.isin(data["film"], list(inner_films)))
        best = _train_fold(fold, train_idx, inner_idx, data, args, pre, architecture, device, run_dir)
        network = build_network(architecture).to(device).to(memory_format=torch.channels_last)
        network.load_state_dict(best)
        oof[held] = _predict(network, data["images"][held], pre, device)
        states[f"fold{fold}.safetensors"] = best
        auc = float(roc_auc_score(data["labels"][held], oof[held]))
        fold_metrics.append({"fold": fold, "n": int(len(held)), "auc": round(auc, 4)})
        print(f"fold {fold}: held-out AUC {auc:.4f} on {len(held)} examples", flush=True)

    threshold = youden_threshold(data["labels"], oof)
    metrics = binary_metrics(data["labels"], oof, threshold)
    metrics["per_fold"] = fold_metrics
    if args.simulate_rds:
        negatives = data["labels"] == 0
        metrics["auc_by_grade"] = {}
        for grade in (1, 2, 3, 4):
            chosen = negatives | (data["grade"] == grade)
            metrics["auc_by_grade"][f"grade_{grade}"] = round(float(roc_auc_score(data["labels"][chosen], oof[chosen])), 4)
    metrics.update(train_minutes=round((time.time() - started) / 60, 1),
                   machine=f"{platform.machine()} CPU, {torch.get_num_threads()} threads, device {device}",
                   n_films=int(len(frame)), n_examples=int(len(data["labels"])))
    pd.DataFrame({"film": data["film"], "image": frame["image"].to_numpy()[data["film"]], "fold": fold_of,
                  "label": data["labels"], "grade": data["grade"], "oof_probability": oof}).to_csv(run_dir / "oof.csv", index=False)
    negative_name, positive_name = args.class_names.split(",")
    manifest = Manifest(
        name=name, version=args.version, task="classification", class_names=(negative_name, positive_name),
        architecture=architecture, preprocessing=pre, files={}, threshold=threshold,
        threshold_rule="maximises Youden's J (sensitivity + specificity - 1) on the out-of-fold predictions",
        training_data=args.training_data or ", ".join(p.name for p in args.csv), metrics=metrics,
        notice=NOTICE_RDS_DEMO if args.simulate_rds else "Research weights; not for clinical use.",
        extra={"folds": args.folds, "epochs_max": args.epochs, "seed": args.seed},
    )
    save_pack(args.out, manifest, states, fp16=True)
    print(json.dumps(metrics, indent=2), flush=True)
    return 0
