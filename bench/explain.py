"""Explanation benchmark of the rds-demo pack on films it never saw.

Films: ``shared/data/pediatric_cxr`` (284 paediatric films; rds-demo trained on the
``lung_seg`` films only). Lung masks come from the shipped lung-seg pack. Everything runs
through :func:`rds_core.pipeline.analyze`, i.e. the deployed path (mask -> upright crop ->
five folds -> fused map). Measured:

1. **Pointing game over lung zones** (Zhang et al. 2018, "Top-down neural attention by
   excitation backprop"): a simulated pattern is painted into *one* of the four lung zones
   (:mod:`rds_core.train.partial`); a hit is when the fused map's maximum - over the whole
   film, not only the lungs - lies in that zone (15 px tolerance at 512 px, as in the
   original). Chance is about 0.25. Also reported for one-lung patterns (chance 0.5).
2. **Energy inside the lungs**: the share of the fused map's energy inside the lung mask on
   positive (simulated diffuse, grades I-IV) films.
3. **Model-randomisation check** (Adebayo et al. 2018, "Sanity checks for saliency maps"):
   the fold weights are re-initialised and the maps recomputed; the Spearman rank
   correlation with the trained maps (inside the lung box, where the map is defined) must be
   low - a map that survives randomisation shows the image, not the model.
4. **Devices**: tubes, catheters and leads drawn across the whole film
   (:mod:`rds_core.train.devices`): mean |score change| and whether the map follows the
   device (the map's mean on device pixels with the device / without it).
5. **Orientation**: films turned by 90/180/270 degrees: mean |score change| and the share
   with the same label; AUC on upright films with the upright-crop estimate (deployed),
   with the fold scores averaged over the four rotations, and as filmed.
6. **Calls**: share of simulated grade II-IV films called RDS and of untouched films called
   non-RDS at the pack threshold.

No deletion/insertion or ROAD curve is reported: they favour blurry maps (Song, Cha & Seo
2023) and need many forward passes per film.

Usage: ``python bench/explain.py [--limit N] [--pack rds-demo]``; writes the
"## Explanation benchmark" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.latency import write_section  # noqa: E402
from rds_core.geometry import lung_box, resize  # noqa: E402
from rds_core.imaging import load_radiograph  # noqa: E402
from rds_core.imaging.radiograph import Radiograph  # noqa: E402
from rds_core.pipeline import analyze, load_models  # noqa: E402
from rds_core.train.devices import draw_devices  # noqa: E402
from rds_core.train.partial import lung_zones, simulate_partial_rds  # noqa: E402
from rds_core.train.simulate import simulate_rds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _film(pixels: np.ndarray, like: Radiograph) -> Radiograph:
    return Radiograph(np.ascontiguousarray(pixels, dtype=np.float32), like.source, like.file_format, original_size=pixels.shape)


def _down(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return resize(mask.astype(np.float32), *shape) > 0.5


def pointing_hit(fused: np.ndarray, target: np.ndarray, tolerance_px: int) -> bool:
    """True when the map's maximum lies within ``tolerance_px`` of the target region."""
    if fused.max() <= 0:
        return False
    y, x = np.unravel_index(int(np.argmax(fused)), fused.shape)
    grown = ndi.binary_dilation(target, iterations=tolerance_px) if tolerance_px else target
    return bool(grown[y, x])


def randomised(models):
    """A copy of the loaded packs whose fold networks have freshly initialised weights."""
    import torch

    twin = copy.copy(models)
    twin.classifier = copy.copy(models.classifier)
    twin.classifier.networks = []
    torch.manual_seed(0)
    for network in models.classifier.networks:
        clone = copy.deepcopy(network)
        for module in clone.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
            if hasattr(module, "reset_running_stats"):
                module.reset_running_stats()
        twin.classifier.networks.append(clone.eval())
    return twin


def rank_correlation(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    """Spearman correlation of two maps inside ``region``; 0 when either is flat there."""
    x, y = a[region], b[region]
    if x.std() < 1e-9 or y.std() < 1e-9:
        return 0.0
    return float(spearmanr(x, y).statistic)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "pediatric_cxr")
    parser.add_argument("--pack", default="rds-demo")
    parser.add_argument("--seg-pack", default="lung-seg")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--randomise", type=int, default=30, help="films for the randomisation check")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--csv", type=Path, default=None, help="also write the per-film table here")
    args = parser.parse_args()

    labels = pd.read_csv(args.data / "labels.csv")
    if args.limit:
        labels = labels.head(args.limit)
    models = load_models(args.pack, args.seg_pack, "cpu")
    random_models = randomised(models)
    threshold = models.classifier.manifest.threshold
    rng = np.random.default_rng(args.seed)
    rows, started = [], time.time()
    for index, row in enumerate(labels.itertuples()):
        film = load_radiograph(args.data / row.file)
        clean = analyze(film, models)
        record: dict[str, object] = {"file": row.file, "lungs_found": clean.lungs_found, "p_clean": clean.probability}
        if not clean.lungs_found:
            rows.append(record)
            continue
        mask, shape = clean.lung_mask, clean.display.shape
        mask_display = clean.lung_mask_display
        tolerance = max(1, round(15 * max(shape) / 512))
        grade = index % 4 + 1
        diffuse = analyze(_film(simulate_rds(film.pixels, mask, grade, rng).image, film), models)
        zone = simulate_partial_rds(film.pixels, mask, rng, extent="zone")
        zone_result = analyze(_film(zone.image, film), models)
        lung = simulate_partial_rds(film.pixels, mask, rng, extent="lung")
        lung_result = analyze(_film(lung.image, film), models)
        devices, coverage = draw_devices(film.pixels, rng)
        device_result = analyze(_film(devices, film), models)
        on_device = _down(coverage > 0.3, shape)
        record.update(
            grade=grade, p_diffuse=diffuse.probability, in_lung_diffuse=diffuse.cams.in_lung_fused,
            p_zone=zone_result.probability, zone_grade=max(zone.grades.values()),
            zone_hit=pointing_hit(zone_result.cams.fused, _down(zone.painted, shape), tolerance),
            p_lung=lung_result.probability,
            lung_hit=pointing_hit(lung_result.cams.fused, _down(lung.painted, shape), tolerance),
            in_lung_zone=zone_result.cams.in_lung_fused,
            p_devices=device_result.probability,
            device_map_ratio=(float(device_result.cams.fused[on_device].mean()) + 1e-6)
            / (float(clean.cams.fused[on_device].mean()) + 1e-6) if on_device.any() else np.nan,
        )
        for turns in (1, 2, 3):
            turned = analyze(_film(np.rot90(diffuse.radiograph.pixels, turns), film), models, with_cam=False)
            record[f"p_turn{turns}"] = turned.probability
        model_input = models.classifier.prepare(diffuse.radiograph.pixels, diffuse.lung_mask, 0)
        record["p_as_filmed"] = float(models.classifier.predict(model_input, with_cam=False).probabilities.mean())
        record["p_rot_avg"] = float(np.mean([
            models.classifier.predict(models.classifier.prepare(diffuse.radiograph.pixels, diffuse.lung_mask, k),
                                      with_cam=False).probabilities.mean() for k in range(4)]))
        clean_input = models.classifier.prepare(film.pixels, mask, 0)
        record["p_clean_as_filmed"] = float(models.classifier.predict(clean_input, with_cam=False).probabilities.mean())
        record["p_clean_rot_avg"] = float(np.mean([
            models.classifier.predict(models.classifier.prepare(film.pixels, mask, k), with_cam=False).probabilities.mean()
            for k in range(4)]))
        if index < args.randomise:
            shuffled = analyze(_film(diffuse.radiograph.pixels, film), random_models)
            box = lung_box(mask_display, 0.05)
            region = np.zeros(shape, bool)
            region[box.top:box.bottom, box.left:box.right] = True
            record["rank_corr_random"] = rank_correlation(diffuse.cams.fused, shuffled.cams.fused, region)
        rows.append(record)
        if index % 20 == 0:
            print(f"{index + 1}/{len(labels)} films, {time.time() - started:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    found = table[table["lungs_found"]].copy()
    minutes = (time.time() - started) / 60

    def auc(neg: str, pos: str, data: pd.DataFrame = found) -> float:
        y = np.r_[np.zeros(len(data)), np.ones(len(data))]
        return float(roc_auc_score(y, np.r_[data[neg], data[pos]]))

    turned = found[[f"p_turn{k}" for k in (1, 2, 3)]].to_numpy()
    base = found["p_diffuse"].to_numpy()[:, None]
    change = np.abs(turned - base)
    same = ((turned >= threshold) == (base >= threshold)).mean()
    rank = found["rank_corr_random"].dropna()
    positive_called = found["p_diffuse"] >= threshold
    lines = [
        "## Explanation benchmark (rds-demo on unseen films)", "",
        f"- Films: {len(labels)} from `pediatric_cxr` (never used to train {args.pack}); lungs found on {len(found)}. "
        f"Masks from `{args.seg_pack}`. Command: `python bench/explain.py`; {minutes:.1f} min on this CPU.",
        f"- Pack: {models.classifier.manifest.name} {models.classifier.manifest.version}, threshold {threshold:.3f}.", "",
        "| measure | value | target |", "|---|---|---|",
        f"| pointing game, pattern in one of four zones (grades II-IV) | {found['zone_hit'].mean():.3f} | >= 0.8 (chance ~0.25) |",
        f"| pointing game, pattern in one lung | {found['lung_hit'].mean():.3f} | (chance ~0.5) |",
        f"| fused-map energy inside the lungs, simulated diffuse positives (all) | {found['in_lung_diffuse'].mean():.3f} | >= 0.8 |",
        f"| same, positives called RDS (n={int(positive_called.sum())}) | {found.loc[positive_called, 'in_lung_diffuse'].mean():.3f} | |",
        f"| randomised-weights map vs trained map, Spearman rank correlation (median, n={len(rank)}) | {rank.median():.3f} (max {rank.max():.3f}) | low (check passed if median < 0.5) |",
        f"| devices drawn across the film: mean abs score change | {np.abs(found['p_devices'] - found['p_clean']).mean():.4f} | <= 0.03 |",
        f"| devices: map mean on device pixels, with / without device (median) | {found['device_map_ratio'].median():.2f} | ~1 (map does not follow the device) |",
        f"| turned 90/180/270: mean abs score change | {change.mean():.4f} (max {change.max():.4f}) | <= 0.02 |",
        f"| turned 90/180/270: same label | {same:.4f} | >= 0.99 |",
        f"| AUC diffuse vs clean, upright crop (deployed) | {auc('p_clean', 'p_diffuse'):.3f} | |",
        f"| AUC diffuse vs clean, folds averaged over 4 rotations | {auc('p_clean_rot_avg', 'p_rot_avg'):.3f} | |",
        f"| AUC diffuse vs clean, crop as filmed (no orientation step) | {auc('p_clean_as_filmed', 'p_as_filmed'):.3f} | |",
        f"| AUC one-zone pattern vs clean | {auc('p_clean', 'p_zone'):.3f} | |",
        f"| simulated grade II-IV called RDS | {(found.loc[found['grade'] >= 2, 'p_diffuse'] >= threshold).mean():.3f} | >= 0.90 |",
        f"| untouched films called non-RDS | {(found['p_clean'] < threshold).mean():.3f} | >= 0.90 |",
    ]
    for grade in (1, 2, 3, 4):
        chosen = found[found["grade"] == grade]
        lines.append(f"| AUC grade {grade} vs clean (n={len(chosen)}) | {auc('p_clean', 'p_diffuse', chosen):.3f} | |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    write_section(args.results, "## Explanation benchmark (rds-demo on unseen films)", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
