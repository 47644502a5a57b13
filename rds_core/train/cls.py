"""``python -m rds_core.train cls``: five fold classifiers -> one weight pack.

Reads one or more tables (the ``prepare`` output, or any CSV with an image column, a label
column and optionally ``mask``, ``patient_id`` and ``fold`` columns). Labels are read
strictly (:func:`rds_core.train.labels.parse_label`); a row with another label, or whose
film or mask cannot be read, is rejected with its reason (``rejected.csv`` in the run
folder) and the run goes on. The patient comes from the table, else the DICOM header,
else the file name; all films of a patient stay in one fold. A ``fold`` column (the
team's folds, kept by ``prepare --folds-from``) is used as it is and must match ``--folds``.

Each fold model is a timm network (random, ``--pretrained``, ``--init-weights`` or
``--init-from``) trained on the lung-masked film cropped to the lungs (exactly
:func:`rds_core.classification.prepare_input`, so training and inference see the same
input), with class-balanced BCE, radiograph augmentation on the training device, and early
stopping on an inner validation split of the training patients (stratified by label).

Threshold: Youden's J on the pooled inner-validation predictions (each film scored by the
fold model that did not train on it). The held-out folds are not used to choose it, so the
out-of-fold (OOF) sensitivity and specificity at that threshold are honest estimates. OOF
scores come from the single fold model that did not see a film; the deployed pack averages
all five, which only a separate labelled set can score: ``python -m rds_core evaluate``.

``--simulate-rds`` builds the demo task: every film appears once untouched (label 0) and
once with a simulated RDS pattern of a random grade (label 1, see
:mod:`rds_core.train.simulate`); both copies of a patient stay in one fold.
``--partial-share`` paints a share of them in one zone / one lung / unequal lungs
(:mod:`rds_core.train.partial`), and ``--guide-weight`` adds the energy loss that asks a
positive example's CAM to lie where the pattern was painted (:mod:`rds_core.train.guidance`).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from sklearn.metrics import roc_auc_score, roc_curve

from rds_core.classification import prepare_input
from rds_core.errors import RdsError
from rds_core.imaging import load_radiograph
from rds_core.models.builders import build_network, save_pack
from rds_core.models.packs import Architecture, Manifest, Preprocessing
from rds_core.train.augment import augment_batch
from rds_core.train.folds import assign_folds
from rds_core.train.guidance import LogitsAndCam, energy_loss, strip_wrapper
from rds_core.train.labels import class_counts, parse_label
from rds_core.train.loop import CsvLog, Distributed, FitSettings, fit, progress, seed_everything, tensorboard_writer
from rds_core.train.metrics import binary_metrics
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

__all__ = ["add_arguments", "run", "youden_threshold", "THRESHOLD_RULE"]

NOTICE_RDS_DEMO = (
    "Demo weights trained on simulated RDS patterns on public paediatric radiographs; "
    "not validated on real RDS; not for clinical use."
)
THRESHOLD_RULE = (
    "maximises Youden's J (sensitivity + specificity - 1) on the pooled inner-validation predictions "
    "(each fold's early-stopping patients, scored by that fold's model); the held-out folds were not used"
)
_STALE = ("fold*.pt", "examples.npz", "log.csv", "oof.csv", "rejected.csv", "metrics.json", "tensorboard/**/events.out.tfevents.*")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``cls`` options to ``parser``."""
    parser.add_argument("--csv", type=Path, action="append", required=True, help="table(s); repeat to combine")
    add_path_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="weight pack folder to write")
    parser.add_argument("--run-dir", type=Path, default=None, help="checkpoints, logs, OOF table (default: <out>.run)")
    parser.add_argument("--name", default=None, help="pack name (default: the --out folder name)")
    parser.add_argument("--version", default="1.0.0", help="pack version")
    parser.add_argument("--label-column", default="rds", help="column holding the label")
    parser.add_argument("--positive-values", default="", help="extra label values meaning positive (comma list), beside 1/1.0/true/RDS")
    parser.add_argument("--negative-values", default="", help="extra label values meaning negative (comma list), beside 0/0.0/false/non-RDS")
    parser.add_argument("--class-names", default="non-RDS,RDS", help="negative,positive")
    parser.add_argument("--sources", default="", help="keep only these source values (comma list; default: all)")
    parser.add_argument("--seg-pack", default="lung-seg", help="segments films whose table row has no mask")
    parser.add_argument("--simulate-rds", action="store_true", help="label = simulated RDS pattern (demo pack)")
    parser.add_argument("--model", default="efficientnet_b0", help="any timm model name, e.g. efficientnet_b5, densenet201")
    add_start_options(parser, "fold k from its fold k")
    parser.add_argument("--size", type=int, default=160, help="input side in pixels")
    parser.add_argument("--folds", type=int, default=5, help="number of folds (must match a fold column)")
    parser.add_argument("--epochs", type=int, default=10, help="maximum epochs per fold")
    parser.add_argument("--batch", type=int, default=16, help="batch size (per process under torchrun)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle)")
    parser.add_argument("--patience", type=int, default=4, help="epochs without inner-validation gain before stopping")
    parser.add_argument("--inner-val-frac", type=float, default=0.12, help="share of each fold's training patients for early stopping and the threshold")
    parser.add_argument("--output-stride", type=int, default=0,
                        help="timm output_stride: 16 halves the last stage's stride, doubling the CAM resolution (0 = the model's own)")
    parser.add_argument("--partial-share", type=float, default=0.0,
                        help="with --simulate-rds: share of simulated films painted in one zone / one lung / unequal lungs")
    parser.add_argument("--guide-weight", type=float, default=0.0,
                        help="with --simulate-rds: weight of the energy loss asking the CAM of a positive example to lie "
                             "where the pattern was painted (Rao et al. 2023; rds_core.train.guidance); 0 = off")
    parser.add_argument("--devices-prob", type=float, default=0.0,
                        help="probability per training crop of drawing simulated tubes, catheters and ECG leads")
    parser.add_argument("--right-angles", action="store_true",
                        help="also augment with 90/180/270 degree rotations (slower to learn; films here are upright)")
    parser.add_argument("--max-images", type=int, default=0, help="use only N films (smoke tests; 0 = all)")
    add_run_options(parser)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader processes decoding films (0 = in the main process)")
    parser.add_argument("--training-data", default="", help="one-line description for the manifest")


# ----------------------------------------------------------------------------- data


def _load_films(args: argparse.Namespace) -> tuple[pd.DataFrame, list[dict]]:
    """Read the tables; parse labels strictly; return the usable rows and the rejected ones."""
    frames = []
    for path in args.csv:
        frame = read_table(path, label_column=None if args.simulate_rds else args.label_column,
                           root=args.root, strip_prefix=args.strip_prefix)
        frames.append(frame.assign(table=path.name, table_row=np.arange(len(frame)) + 2))
    # A column one table lacks (a mask column, the team's folds) is "" in its rows, not NaN:
    # every later check reads "" as "absent" (a NaN mask path was opened as a file once).
    frame = pd.concat(frames, ignore_index=True).fillna("")
    if args.sources:
        frame = frame[frame["source"].isin(args.sources.split(","))]
    if args.max_images:
        frame = frame.sample(n=min(args.max_images, len(frame)), random_state=args.seed)
    frame = frame.reset_index(drop=True)
    rejected: list[dict] = []
    if args.simulate_rds:
        return frame, rejected
    positive, negative = _values(args.positive_values), _values(args.negative_values)
    parsed = [parse_label(v, positive=positive, negative=negative) for v in frame["label"]]
    for (_, row), label in zip(frame.iterrows(), parsed):
        if label is None:
            rejected.append(_rejection(row, f"label '{row['label']}' in column {args.label_column} is not 1/0, 1.0/0.0, "
                                            "true/false or RDS/non-RDS (add others with --positive-values / --negative-values)."))
    frame = frame[[label is not None for label in parsed]].assign(label=[label for label in parsed if label is not None])
    return frame.reset_index(drop=True), rejected


def _values(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _rejection(row: pd.Series, reason: str) -> dict:
    return {"table": row["table"], "row": int(row["table_row"]), "image": row["image"], "reason": reason}


def _check_folds(frame: pd.DataFrame, n_folds: int) -> np.ndarray | None:
    """The table's folds as integers, or None without a fold column; ValueError when they disagree with --folds."""
    if "fold" not in frame.columns:
        return None
    try:
        folds = np.array([int(float(v)) for v in frame["fold"]])
    except ValueError as err:
        raise ValueError(f"The fold column holds a value that is not a whole number ({err}).") from err
    found = sorted(set(folds.tolist()))
    if found != list(range(n_folds)):
        raise ValueError(f"The table's fold column has folds {found}, but --folds is {n_folds} (folds 0..{n_folds - 1}); "
                         "pass the matching --folds.")
    split = frame.assign(fold=folds).groupby("patient_id")["fold"].nunique()
    split = sorted(split[split > 1].index)
    if split:
        print(f"WARNING: {len(split)} patient(s) have films in more than one fold of the table (e.g. '{split[0]}'); "
              "their films leak between training and held-out data.", flush=True)
    return folds


class _Films(torch.utils.data.Dataset):
    """Decode each film and its mask file (in DataLoader workers): (row, pixels, mask or None, error)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.images = list(frame["image"])
        self.masks = list(frame["mask"]) if "mask" in frame.columns else [""] * len(frame)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[int, np.ndarray | None, np.ndarray | None, str]:
        name = Path(self.images[index]).name
        try:
            pixels = load_radiograph(self.images[index]).pixels
            mask = None
            if self.masks[index]:
                mask = np.asarray(Image.open(self.masks[index]).convert("L")) > 127
                if mask.shape != pixels.shape:
                    raise ValueError(f"the mask {Path(self.masks[index]).name} is {mask.shape[1]} x {mask.shape[0]}, "
                                     f"the film {pixels.shape[1]} x {pixels.shape[0]}")
        except Exception as err:  # noqa: BLE001 - one bad film rejects its row, not the run
            return index, None, None, str(err) if name in str(err) else f"{name}: {err}"
        return index, pixels, mask, ""


def _as_is(sample: object) -> object:
    """DataLoader collate that keeps numpy arrays (a module function, so workers can pickle it)."""
    return sample


def _build_examples(frame: pd.DataFrame, args: argparse.Namespace, pre: Preprocessing, device: torch.device,
                    rejected: list[dict]) -> dict[str, np.ndarray]:
    """Preprocess every film once: (images, labels, film row, grade, lung area, extent, evidence).

    ``evidence`` (uint8, 255 = painted) is the simulated pattern's region in the crop, for
    explanation guidance; all zero on untouched films and without ``--simulate-rds``.
    Bad films go to ``rejected``.
    """
    segmenter = None
    if "mask" not in frame.columns or (frame["mask"] == "").any():
        from rds_core.segmentation import LungSegmenter

        segmenter = LungSegmenter(args.seg_pack, device)
    rng = np.random.default_rng(args.seed)
    images, labels, film, grades, areas, rows = [], [], [], [], [], []
    if args.simulate_rds:
        from rds_core.train.partial import EXTENTS, simulate_partial_rds
        from rds_core.train.simulate import simulate_rds
    extents: list[int] = []  # 0 diffuse (or not simulated), else 1 + index in EXTENTS
    evidence: list[np.ndarray] = []
    films = torch.utils.data.DataLoader(_Films(frame), batch_size=None, num_workers=args.workers, collate_fn=_as_is)
    for index, pixels, mask, error in progress(films, total=len(frame), desc="preprocessing"):
        row = frame.loc[index]
        if error:
            rejected.append(_rejection(row, error))
            continue
        if mask is None:  # no mask file: the segmentation pack, on the training device
            try:
                mask = segmenter.segment(pixels).mask
            except RdsError as err:
                rejected.append(_rejection(row, f"{Path(row['image']).name}: no usable lung mask ({err})"))
                continue
        nothing = np.zeros(mask.shape, bool)
        variants = [(pixels, int(row["label"]), 0, 0, nothing)] if not args.simulate_rds else [(pixels, 0, 0, 0, nothing)]
        if args.simulate_rds:
            grade = int(index % 4) + 1  # balanced grades I-IV over the films
            if rng.random() < args.partial_share:  # local evidence; grade of the painted part, II-IV
                partial = simulate_partial_rds(pixels, mask, rng, grade=max(2, grade))
                variants.append((partial.image, 1, max(2, grade), 1 + EXTENTS.index(partial.extent), partial.painted))
            else:
                variants.append((simulate_rds(pixels, mask, grade, rng).image, 1, grade, 0, mask))
        rows.append(index)
        areas.append(float(mask.mean()))
        for image, label, grade, extent, painted in variants:
            images.append(prepare_input(image, mask, pre).tensor[0, 0].numpy())
            region = pre.denormalise(prepare_input(painted.astype(np.float32), mask, pre).tensor[0, 0].numpy())
            evidence.append(np.clip(np.rint(region * 255), 0, 255).astype(np.uint8))
            labels.append(label)
            film.append(len(rows) - 1)
            grades.append(grade)
            extents.append(extent)
    if not images:
        raise ValueError("No film could be read; see the rejected rows.")
    # Tensors are stored normalised: undo to [0, 1] for augmentation, renormalise later.
    stack = pre.denormalise(np.stack(images))
    return {"images": stack.astype(np.float32), "labels": np.array(labels), "film": np.array(film),
            "grade": np.array(grades), "area": np.array(areas), "rows": np.array(rows), "extent": np.array(extents),
            "evidence": np.stack(evidence)}


# ----------------------------------------------------------------------------- training


def _predict(network: torch.nn.Module, images: np.ndarray, pre: Preprocessing, device: torch.device) -> np.ndarray:
    network.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), 64):
            batch = torch.from_numpy(pre.normalise(images[start : start + 64]))[:, None]
            out.append(torch.sigmoid(network(batch.to(device).contiguous(memory_format=torch.channels_last))).float().cpu())
    return torch.cat(out)[:, 0].numpy() if out else np.zeros(0)


Augment = Callable[[torch.Tensor, "torch.Tensor | None", torch.Generator], "tuple[torch.Tensor, torch.Tensor | None]"]


def training_augmentation(args: argparse.Namespace) -> Augment:
    """The augmentation of training batches: ([0, 1] films, evidence masks or None) -> both augmented.

    The evidence masks follow the films' geometry (devices are drawn on the films only).
    One place to extend (e.g. simulated tubes and leads) without touching the loop.
    """
    def augment(images: torch.Tensor, evidence: torch.Tensor | None,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        if args.devices_prob > 0:
            images = with_devices(images, args.devices_prob, generator)
        return augment_batch(images, evidence, generator, right_angles=args.right_angles, max_scale=0.08)

    return augment


def with_devices(images: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """Draw simulated tubes and leads into some lung-masked crops of a batch (inside the lungs only).

    Devices are drawn on the CPU (OpenCV) and the batch goes back to its device; the
    numpy generator is seeded from the torch one, so runs stay reproducible.
    """
    from rds_core.train.devices import draw_devices

    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    out = images.detach().to("cpu", copy=True)
    for i in range(out.shape[0]):
        if rng.random() < probability:
            crop = out[i, 0].numpy()
            out[i, 0] = torch.from_numpy(draw_devices(crop, rng, region=crop > 0)[0])
    return out.to(images.device)


def _train_fold(fold: int, train_idx: np.ndarray, inner_idx: np.ndarray, data: dict, args: argparse.Namespace,
                pre: Preprocessing, architecture: Architecture, device: torch.device, run_dir: Path,
                distributed: Distributed, tensorboard) -> dict[str, torch.Tensor]:
    """Train one fold (resumable) and return its best state; a finished fold keeps only its best weights."""
    best_path = run_dir / f"fold{fold}_best.pt"
    if args.resume and best_path.exists():
        print(f"fold {fold}: finished earlier, using its best weights", flush=True)
        return torch.load(best_path, map_location="cpu", weights_only=True)
    generator = seed_everything(args.seed + fold)
    network, start = start_network(architecture, pretrained=args.pretrained, init_weights=args.init_weights,
                                   init_from=args.init_from, fold_file=f"fold{fold}.safetensors")
    if fold == 0 and distributed.is_main:
        print(f"start: {start}", flush=True)
    network = network.to(device).to(memory_format=torch.channels_last)
    guided = args.guide_weight > 0 and "evidence" in data
    trained = LogitsAndCam(network) if guided else network
    if distributed.world > 1:
        trained = torch.nn.parallel.DistributedDataParallel(network, device_ids=[device.index] if device.type == "cuda" else None)
    labels = data["labels"]
    positives = labels[train_idx].sum()
    pos_weight = torch.tensor((len(train_idx) - positives) / max(positives, 1), device=device)
    images_t = torch.from_numpy(data["images"])[:, None]
    evidence_t = torch.from_numpy(data["evidence"])[:, None] if guided else None
    if device.type == "cuda":
        images_t = images_t.pin_memory()
    augment, rows_t = training_augmentation(args), torch.from_numpy(train_idx)

    def batch_of(index: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor | None]]:
        rows = rows_t[index]
        evidence = None if evidence_t is None else evidence_t[rows].to(device).float() / 255.0
        images, evidence = augment(images_t[rows].to(device, non_blocking=True), evidence, generator)
        images = pre.normalise(images).contiguous(memory_format=torch.channels_last)
        return images, (torch.from_numpy(labels[rows.numpy()]).float().to(device), evidence)

    def loss_of(output: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
                target: tuple[torch.Tensor, torch.Tensor | None]) -> torch.Tensor:
        truth, evidence = target
        logits, cam = output if guided else (output, None)
        loss = F.binary_cross_entropy_with_logits(logits.float()[:, 0], truth, pos_weight=pos_weight)
        if cam is not None:
            loss = loss + args.guide_weight * energy_loss(cam, evidence, truth)
        return loss

    def score(_trained: torch.nn.Module) -> float:
        truth = labels[inner_idx]
        if len(set(truth.tolist())) < 2:
            return 0.0  # an inner split with one class cannot rank; the first epoch's weights are kept
        # the plain network, not the training view (whose output is (logits, cam))
        return float(roc_auc_score(truth, _predict(network, data["images"][inner_idx], pre, device)))

    settings = FitSettings(args.epochs, args.batch, args.lr, args.patience, pct_start=0.15,
                           label=f"fold {fold}", log_fields={"fold": fold})
    best, _ = fit(trained, len(train_idx), batch_of, loss_of, score, settings,
                  device=device, generator=generator, checkpoint=run_dir / f"fold{fold}.pt",
                  log=CsvLog(run_dir / "log.csv"), resume=args.resume, distributed=distributed, tensorboard=tensorboard)
    best = strip_wrapper(best) if guided else best
    if distributed.is_main:
        torch.save(best, best_path)
        (run_dir / f"fold{fold}.pt").unlink(missing_ok=True)  # optimizer state is dead weight once a fold is done
    return best


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold maximising sensitivity + specificity - 1 (Youden's J)."""
    fpr, tpr, thresholds = roc_curve(labels, scores)
    best = int(np.argmax(tpr - fpr))
    return float(np.clip(thresholds[best], 1e-4, 1 - 1e-4))


def _inner_split(rest: pd.DataFrame, film_labels: np.ndarray, fraction: float, seed: int) -> set[int]:
    """Film rows of the inner-validation patients, stratified by the patient's label."""
    patient_label = pd.Series(film_labels[rest.index]).groupby(rest["patient_id"].to_numpy()).max()
    strata = rest.assign(source=[str(patient_label[p]) for p in rest["patient_id"]])
    split = patient_split(strata, {"train": 1 - fraction, "inner": fraction}, seed)
    return set(rest.index[split == "inner"])


def _print_rejected(rejected: list[dict], run_dir: Path | None) -> None:
    if not rejected:
        return
    where = f", also in {run_dir / 'rejected.csv'}" if run_dir else ""
    print(f"Rejected rows ({len(rejected)}){where}:", flush=True)
    for r in rejected:
        print(f"  {r['table']} row {r['row']}: {r['reason']}", flush=True)


def run(args: argparse.Namespace) -> int:
    """Check everything, build examples, train the folds, choose the threshold, write the pack."""
    started = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    distributed = Distributed.from_environment()
    architecture = Architecture("timm", args.model, kwargs={"output_stride": args.output_stride} if args.output_stride else {})
    try:
        device = training_device(args.device)
        if distributed.world > 1 and device.type == "cuda":
            device = torch.device("cuda", distributed.rank % torch.cuda.device_count())
        check_architecture(architecture)
        if args.pretrained:
            require_hub()
        frame, rejected = _load_films(args)
        if not args.simulate_rds:
            print(f"labels: {class_counts(frame['label'], tuple(args.class_names.split(',')))}", flush=True)
        table_folds = None if args.simulate_rds else _check_folds(frame, args.folds)
    except (StartError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sources = Counter(frame["patient_source"])
    print("patient ids from: " + ", ".join(f"{k} {v}" for k, v in sources.items()), flush=True)
    run_dir = args.run_dir or args.out.with_name(args.out.name + ".run")
    name = args.name or args.out.name
    pre = Preprocessing(size=args.size, mean=0.5, std=0.25, lung_masked=True, crop_margin=0.05)
    digest = data_hash(frame, ["image", "mask", "label", "patient_id", "fold", "source"])
    try:
        if distributed.is_main:
            prepare_run_folder(run_dir, run_arguments(args), digest, resume=args.resume, stale=_STALE)
    except RunMismatch as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    _barrier(distributed)

    cache = run_dir / "examples.npz"
    try:
        if args.resume and cache.exists():
            data = dict(np.load(cache))
            rejected = list(pd.read_csv(run_dir / "rejected.csv").to_dict("records")) if (run_dir / "rejected.csv").exists() else rejected
        else:
            data = _build_examples(frame, args, pre, device, rejected)
            if distributed.is_main:
                np.savez(cache, **data)
                pd.DataFrame(rejected, columns=["table", "row", "image", "reason"]).to_csv(run_dir / "rejected.csv", index=False)
        frame = frame.loc[data["rows"]].reset_index(drop=True)
        _print_rejected(rejected, run_dir)
        if not args.simulate_rds:
            counts = class_counts(data["labels"], tuple(args.class_names.split(",")))
            print(f"usable films: {counts}", flush=True)
        film_labels = pd.Series(data["labels"]).groupby(data["film"]).max().to_numpy()
        if table_folds is not None:
            film_fold = table_folds[data["rows"]]
            if sorted(set(film_fold.tolist())) != list(range(args.folds)):
                raise ValueError(f"After rejecting rows, the folds left are {sorted(set(film_fold.tolist()))}; every fold needs films.")
        else:
            film_fold = np.array(assign_folds(list(film_labels), list(data["area"]), list(frame["patient_id"]),
                                              [str(p) for p in frame["image"]], args.folds))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    fold_of = film_fold[data["film"]]
    frame["fold"] = film_fold
    print(f"{len(frame)} films, {len(data['labels'])} examples ({int(data['labels'].sum())} positive); "
          f"device {device}; {distributed.world} process(es)", flush=True)

    tensorboard = tensorboard_writer(run_dir / "tensorboard", args.tensorboard and distributed.is_main)
    states, oof = {}, np.full(len(data["labels"]), np.nan)
    inner_scores, inner_labels, fold_metrics = [], [], []
    for fold in range(args.folds):
        held = np.flatnonzero(fold_of == fold)
        rest = frame[frame["fold"] != fold]
        inner_films = _inner_split(rest, film_labels, args.inner_val_frac, args.seed)
        in_inner = np.isin(data["film"], list(inner_films))
        inner_idx = np.flatnonzero((fold_of != fold) & in_inner)
        train_idx = np.flatnonzero((fold_of != fold) & ~in_inner)
        best = _train_fold(fold, train_idx, inner_idx, data, args, pre, architecture, device, run_dir, distributed, tensorboard)
        network = build_network(architecture).to(device).to(memory_format=torch.channels_last)
        network.load_state_dict(best)
        oof[held] = _predict(network, data["images"][held], pre, device)
        inner_scores.append(_predict(network, data["images"][inner_idx], pre, device))
        inner_labels.append(data["labels"][inner_idx])
        states[f"fold{fold}.safetensors"] = best
        truth = data["labels"][held]
        auc = float(roc_auc_score(truth, oof[held])) if len(set(truth.tolist())) > 1 else None
        fold_metrics.append({"fold": fold, "n": int(len(held)), "auc": None if auc is None else round(auc, 4)})
        if distributed.is_main:
            print(f"fold {fold}: held-out AUC {'n/a (one class)' if auc is None else f'{auc:.4f}'} on {len(held)} examples", flush=True)
    if not distributed.is_main:
        return 0

    pooled_scores, pooled_labels = np.concatenate(inner_scores), np.concatenate(inner_labels)
    if len(set(pooled_labels.tolist())) > 1:
        threshold, rule = youden_threshold(pooled_labels, pooled_scores), THRESHOLD_RULE
    else:
        threshold, rule = 0.5, "0.5: the inner-validation splits held one class only, so no threshold could be chosen"
    metrics = binary_metrics(data["labels"], oof, threshold)
    metrics["per_fold"] = fold_metrics
    metrics["oof_scores"] = "each film scored by the one fold model that did not train on it (not the five-fold mean)"
    if args.simulate_rds:
        negatives = data["labels"] == 0
        metrics["auc_by_grade"] = {
            f"grade_{grade}": round(float(roc_auc_score(data["labels"][negatives | (data["grade"] == grade)],
                                                        oof[negatives | (data["grade"] == grade)])), 4)
            for grade in (1, 2, 3, 4) if (data["grade"] == grade).any()}
        metrics.update(_simulation_metrics(data, oof, threshold))
    metrics.update(train_minutes=round((time.time() - started) / 60, 1),
                   machine=f"{platform.machine()}, {torch.get_num_threads()} CPU threads, device {device}, "
                           f"{distributed.world} process(es)",
                   n_films=int(len(frame)), n_examples=int(len(data["labels"])), n_rejected=len(rejected))
    oof_table = pd.DataFrame({"film": data["film"], "image": frame["image"].to_numpy()[data["film"]],
                              "patient_id": frame["patient_id"].to_numpy()[data["film"]], "fold": fold_of,
                              "label": data["labels"], "grade": data["grade"],
                              "extent": data["extent"] if "extent" in data else 0, "oof_probability": oof})
    oof_table.to_csv(run_dir / "oof.csv", index=False)
    negative_name, positive_name = args.class_names.split(",")
    start = ("ImageNet (hub)" if args.pretrained else f"--init-weights {args.init_weights}" if args.init_weights
             else f"--init-from {args.init_from}" if args.init_from else "random")
    manifest = Manifest(
        name=name, version=args.version, task="classification", class_names=(negative_name, positive_name),
        architecture=architecture, preprocessing=pre, files={}, threshold=threshold, threshold_rule=rule,
        training_data=args.training_data or ", ".join(p.name for p in args.csv), metrics=strict_json(metrics),
        notice=NOTICE_RDS_DEMO if args.simulate_rds else "Research weights; not for clinical use.",
        extra=strict_json({"folds": args.folds, "epochs_max": args.epochs, "seed": args.seed, "start": start,
                           "hyperparameters": run_arguments(args), "data_hash": digest, "git_commit": git_commit(),
                           "patient_ids_from": dict(sources)}),
    )
    save_pack(args.out, manifest, states, fp16=True)
    publish(args.out)
    publish(run_dir)
    if tensorboard is not None:
        tensorboard.add_text("hyperparameters", "\n".join(f"    {k}: {v}" for k, v in run_arguments(args).items()))
        tensorboard.add_scalar("oof/auc", float(metrics["auc"]["value"]))
        tensorboard.close()
    write_json(run_dir / "metrics.json", metrics)
    print((run_dir / "metrics.json").read_text(encoding="utf-8"), flush=True)
    return 0


def _simulation_metrics(data: dict[str, np.ndarray], oof: np.ndarray, threshold: float) -> dict[str, object]:
    """Out-of-fold AUC per pattern extent and the share of calls the issue's targets name."""
    from rds_core.train.partial import EXTENTS

    labels, negatives = data["labels"], data["labels"] == 0
    extent = data["extent"] if "extent" in data else np.zeros_like(labels)
    by_extent = {}
    for code, name in enumerate(("diffuse",) + EXTENTS):
        chosen = negatives | ((labels == 1) & (extent == code))
        if (chosen & (labels == 1)).any():
            by_extent[name] = round(float(roc_auc_score(labels[chosen], oof[chosen])), 4)
    return {"auc_by_extent": by_extent,
            "called_rds_grade_2_4": round(float((oof[data["grade"] >= 2] >= threshold).mean()), 4),
            "called_non_rds_untouched": round(float((oof[negatives] < threshold).mean()), 4)}


def _barrier(distributed: Distributed) -> None:
    if distributed.world > 1:
        import torch.distributed as dist

        dist.barrier()
