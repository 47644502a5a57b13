"""``python -m rds_core evaluate FILE_OR_DIR... --truth labels.csv --pack P`` - score a pack on a labelled set.

Every film goes through the deployed path (:func:`rds_core.pipeline.analyze`: lung
segmentation, the mean of the pack's fold models), so the numbers are those of the pack as
the app uses it - not out-of-fold estimates. Written to ``--out``:

- ``per_film.csv``: source path, patient id, label, ensemble probability, per-fold
  probabilities, the call at the pack's threshold;
- ``calibration.csv``: films per probability bin, mean predicted vs observed RDS rate;
- ``metrics.json``: AUC with a DeLong 95% interval (and, when a patient has several films, a
  bootstrap interval resampling patients), sensitivity / specificity / accuracy
  at the pack's threshold with Wilson intervals, Brier score, counts (strict JSON).

The truth CSV names each film in a ``filepath`` (or ``image``/``file``/``path``) column,
relative to the CSV's folder or ``--root`` (``--strip-prefix`` and backslashes as in
``prepare``), with the label in ``rds`` (or ``--label-column``), read strictly. Films
without a truth row and truth rows without a film are counted and named, not guessed.
Exit status: 0 done, 1 some films failed to load, 2 usage, truth or pack problem.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from rds_core.errors import RdsError
from rds_core.inputs import expand_inputs

__all__ = ["add_arguments", "main", "read_truth", "score_films"]



def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``evaluate`` options to ``parser``."""
    parser.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_DIR", help="films, or folders searched recursively")
    parser.add_argument("--truth", type=Path, required=True, help="CSV with filepath and rds columns")
    parser.add_argument("--pack", default="rds-demo", help="classification pack name or folder (default: rds-demo)")
    parser.add_argument("--seg-pack", default="lung-seg", help="segmentation pack name or folder (default: lung-seg)")
    parser.add_argument("--out", type=Path, default=Path("evaluation"), help="output folder (default: evaluation)")
    parser.add_argument("--label-column", default="rds", help="truth column with the label (default: rds)")
    parser.add_argument("--patient-column", default="patient_id", help="truth column with patient ids (default: patient_id)")
    parser.add_argument("--root", type=Path, default=None, help="folder the truth paths start from (default: the CSV's folder)")
    parser.add_argument("--strip-prefix", default="", help="remove this from the start of every truth path")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")


def read_truth(path: Path, *, label_column: str = "rds", patient_column: str = "patient_id", root: Path | None = None,
               strip_prefix: str = "") -> tuple[dict[Path, tuple[int, str]], list[str]]:
    """Map each film's resolved path to (label, patient id from the CSV or ""); also return the rejected rows' reasons.

    Raises:
        ValueError: the CSV is missing or lacks a path or label column.
    """
    from rds_core.train.labels import parse_label
    from rds_core.train.table import read_table

    frame = read_table(path, label_column=label_column, root=root, strip_prefix=strip_prefix)
    truth: dict[Path, tuple[int, str]] = {}
    problems: list[str] = []
    for line, row in zip(range(2, len(frame) + 2), frame.itertuples()):
        label = parse_label(row.label)
        if label is None:
            problems.append(f"{path.name} row {line}: label '{row.label}' is not 1/0, 1.0/0.0, true/false or RDS/non-RDS.")
            continue
        patient = str(getattr(row, patient_column, "") or "") if patient_column in frame.columns else ""
        truth[Path(row.image).resolve()] = (label, patient)
    return truth, problems


def score_films(files: list[Path], truth: dict[Path, tuple[int, str]], models) -> tuple[pd.DataFrame, list[str]]:
    """Run the deployed pipeline on every labelled film; return the per-film table and the failures."""
    from rds_core.imaging import load_radiograph
    from rds_core.pipeline import analyze
    from rds_core.train.labels import patient_of
    from rds_core.train.loop import progress

    rows, failures = [], []
    for path in progress(files, desc="evaluate", unit="film"):
        resolved = path.resolve()
        label, patient = truth[resolved]
        try:
            result = analyze(load_radiograph(path), models, with_cam=False)
        except RdsError as err:
            failures.append(f"{path}: {err}")
            continue
        patient, _ = patient_of(patient, resolved, str(path))
        row = {"source": str(path), "patient_id": patient, "label": label, "probability": round(result.probability, 6),
               "call": int(result.positive)}
        row.update({f"fold{k}_probability": round(p, 6) for k, p in enumerate(result.fold_probabilities)})
        rows.append(row)
    return pd.DataFrame(rows), failures


def _metrics(table: pd.DataFrame, threshold: float, pack: str) -> dict[str, object]:
    from rds_core.train.metrics import cluster_bootstrap_auc_interval, delong_auc_interval, wilson_interval

    labels, scores = table["label"].to_numpy(int), table["probability"].to_numpy(float)
    calls = scores >= threshold
    tp, tn = int(np.sum(calls & (labels == 1))), int(np.sum(~calls & (labels == 0)))
    n_pos, n_neg = int(labels.sum()), int((labels == 0).sum())

    def entry(k: int, n: int) -> dict[str, object]:
        low, high = wilson_interval(k, n)
        return {"value": round(k / n, 4) if n else None, "ci_low": round(low, 4) if n else None,
                "ci_high": round(high, 4) if n else None, "k": k, "n": n, "ci_method": "Wilson score 95%"}

    result: dict[str, object] = {
        "pack": pack, "threshold": threshold, "scores": "deployed mean of the pack's fold models",
        "n_films": int(len(table)), "n_patients": int(table["patient_id"].nunique()), "n_positive": n_pos, "n_negative": n_neg,
        "sensitivity": entry(tp, n_pos), "specificity": entry(tn, n_neg), "accuracy": entry(tp + tn, len(labels)),
        "brier": round(float(np.mean((scores - labels) ** 2)), 4),
    }
    if n_pos and n_neg:
        auc, low, high = delong_auc_interval(labels, scores)
        result["auc"] = {"value": round(auc, 4), "ci_low": round(low, 4), "ci_high": round(high, 4), "ci_method": "DeLong 95%"}
        if table["patient_id"].duplicated().any():  # DeLong assumes independent films; several per baby are not
            low, high = cluster_bootstrap_auc_interval(labels, scores, table["patient_id"].to_numpy())
            result["auc"]["patient_bootstrap_ci"] = {"ci_low": round(low, 4), "ci_high": round(high, 4),
                                                     "ci_method": "percentile bootstrap over patients, 2000 resamples"}
    else:
        result["auc"] = None  # one class only: no ranking to score
    return result


def main(argv: list[str] | None = None) -> int:
    """Run ``evaluate``; return the exit status (0 ok, 1 some films failed, 2 usage/truth/pack problem)."""
    parser = argparse.ArgumentParser(prog="python -m rds_core evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return evaluate_command(args)


def evaluate_command(args: argparse.Namespace) -> int:
    """``evaluate`` with parsed arguments (see :func:`add_arguments`)."""
    from rds_core.pipeline import load_models
    from rds_core.train.metrics import calibration_table
    from rds_core.train.run_folder import publish, strict_json, write_json

    try:
        truth, problems = read_truth(args.truth, label_column=args.label_column, patient_column=args.patient_column,
                                     root=args.root, strip_prefix=args.strip_prefix)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    files = expand_inputs(args.inputs)
    labelled = [f for f in files if f.resolve() in truth]
    unlabelled = [f for f in files if f.resolve() not in truth]
    missing = sorted(set(truth) - {f.resolve() for f in files})
    if unlabelled:
        print(f"note: {len(unlabelled)} film(s) have no truth row and are not scored, e.g. {unlabelled[0]}", file=sys.stderr)
    if missing:
        print(f"note: {len(missing)} truth row(s) name no given film, e.g. {missing[0]}", file=sys.stderr)
    if not labelled:
        print("error: none of the given films has a row in the truth CSV.", file=sys.stderr)
        return 2
    try:
        models = load_models(args.pack, args.seg_pack, args.device)
    except (RdsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    table, failures = score_films(labelled, truth, models)
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    if table.empty:
        print("error: no film could be scored.", file=sys.stderr)
        return 2
    threshold = float(models.classifier.manifest.threshold)
    metrics = _metrics(table, threshold, str(args.pack))
    metrics.update(n_unlabelled=len(unlabelled), n_truth_without_film=len(missing), n_failed=len(failures),
                   n_rejected_truth_rows=len(problems))
    calibration = calibration_table(table["label"].to_numpy(), table["probability"].to_numpy())
    metrics["calibration"] = calibration
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "per_film.csv", index=False)
    pd.DataFrame(strict_json(calibration)).to_csv(args.out / "calibration.csv", index=False)
    write_json(args.out / "metrics.json", metrics)
    publish(args.out)
    auc = metrics["auc"]
    sens, spec = metrics["sensitivity"], metrics["specificity"]
    print(f"{metrics['n_films']} films ({metrics['n_positive']} RDS, {metrics['n_negative']} non-RDS, "
          f"{metrics['n_patients']} patients); pack {args.pack}, threshold {threshold:.4f}")
    if auc:
        print(f"AUC {auc['value']:.3f} (95% CI {auc['ci_low']:.3f}-{auc['ci_high']:.3f}, DeLong)")

    def show(name: str, e: dict) -> str:
        return f"{name} {e['value']:.3f} ({e['ci_low']:.3f}-{e['ci_high']:.3f}, {e['k']}/{e['n']})" if e["n"] else f"{name} n/a"

    print(f"{show('sensitivity', sens)}; {show('specificity', spec)}; Wilson 95% CIs")
    print(f"results in {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
