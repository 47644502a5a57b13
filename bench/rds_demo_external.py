"""External check of the shipped rds-demo pack on films it never saw.

``rds-demo`` was trained on the paediatric films of ``shared/data/lung_seg`` only. The
284 films of ``shared/data/pediatric_cxr`` (other children of the same public set) were not
used, so they give an independent check of the whole shipped path: lung-seg pack mask ->
simulated RDS (grade cycling I-IV, seeded) -> five-fold ensemble. Reports the ensemble AUC
per grade and the fraction of fused / per-fold CAM energy inside the lung mask (target >= 0.8).

Usage: ``python bench/rds_demo_external.py [--data ../shared/data/pediatric_cxr] [--limit N]``
Writes the "## rds-demo on unseen films" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.latency import write_section  # noqa: E402
from rds_core.imaging import load_radiograph  # noqa: E402
from rds_core.imaging.radiograph import Radiograph  # noqa: E402
from rds_core.pipeline import analyze, load_models  # noqa: E402
from rds_core.train.metrics import bootstrap_auc_interval  # noqa: E402
from rds_core.train.simulate import simulate_rds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "pediatric_cxr")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()

    labels = pd.read_csv(args.data / "labels.csv")
    if args.limit:
        labels = labels.head(args.limit)
    models = load_models("rds-demo", "lung-seg", "auto")
    rng = np.random.default_rng(args.seed)
    rows, started = [], time.time()
    for index, row in enumerate(labels.itertuples()):
        film = load_radiograph(args.data / row.file)
        clean = analyze(film, models)
        grade = index % 4 + 1
        if not clean.lungs_found:
            rows.append({"file": row.file, "grade": 0, "probability": clean.probability, "lungs_found": False})
            continue
        simulated = simulate_rds(film.pixels, clean.lung_mask, grade, rng).image
        sick = analyze(Radiograph(simulated, film.source, film.file_format, original_size=film.original_size), models)
        for result, g in ((clean, 0), (sick, grade)):
            rows.append({"file": row.file, "grade": g, "probability": result.probability, "lungs_found": True,
                         "in_lung_fused": result.cams.in_lung_fused,
                         **{f"in_lung_fold{k}": v for k, v in enumerate(result.cams.in_lung_folds)}})
    table = pd.DataFrame(rows)
    found = table[table["lungs_found"]]
    negatives = found[found["grade"] == 0]
    lines = ["## rds-demo on unseen films", "",
             f"- Films: {len(labels)} from `pediatric_cxr` (never used to train rds-demo); lungs found on "
             f"{int(negatives.shape[0])}; each of those analysed untouched and with a simulated RDS pattern "
             f"(grades cycling I-IV, seed {args.seed}). Command: `python bench/rds_demo_external.py`; "
             f"{(time.time() - started) / 60:.1f} min.", "",
             "| positives | n | ensemble AUC (95% bootstrap CI) |", "|---|---|---|"]
    for grade in (1, 2, 3, 4, None):
        chosen = found[(found["grade"] == 0) | ((found["grade"] == grade) if grade else (found["grade"] > 0))]
        y = (chosen["grade"] > 0).to_numpy().astype(int)
        p = chosen["probability"].to_numpy()
        low, high = bootstrap_auc_interval(y, p)
        name = f"grade {grade}" if grade else "all grades"
        lines.append(f"| {name} | {int(y.sum())} | {roc_auc_score(y, p):.3f} ({low:.3f}-{high:.3f}) |")
    threshold = models.classifier.manifest.threshold
    y = (found["grade"] > 0).to_numpy()
    calls = found["probability"].to_numpy() >= threshold
    lines += ["", f"- At the pack's threshold {threshold:.3f}: sensitivity {np.mean(calls[y]):.3f}, "
              f"specificity {np.mean(~calls[~y]):.3f}.",
              "", "Fraction of CAM energy inside the lung mask (mean over all analysed films; target >= 0.8):", "",
              "| map | mean | 10th percentile |", "|---|---|---|"]
    for column in ["in_lung_fused"] + [c for c in found.columns if c.startswith("in_lung_fold")]:
        values = found[column].to_numpy()
        lines.append(f"| {column.replace('in_lung_', '')} | {values.mean():.3f} | {np.percentile(values, 10):.3f} |")
    lines.append("")
    write_section(args.results, "## rds-demo on unseen films", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
