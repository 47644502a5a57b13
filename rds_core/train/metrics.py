"""Binary classification metrics with 95% confidence intervals, for model cards."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

__all__ = ["binary_metrics", "wilson_interval", "bootstrap_auc_interval", "delong_auc_interval", "cluster_bootstrap_auc_interval", "calibration_table"]


def wilson_interval(successes: int, total: int) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion (scipy's implementation)."""
    if total == 0:
        return (float("nan"), float("nan"))
    ci = stats.binomtest(int(successes), int(total)).proportion_ci(confidence_level=0.95, method="wilson")
    return (float(ci.low), float(ci.high))


def bootstrap_auc_interval(labels: np.ndarray, scores: np.ndarray, *, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the AUC, resampling within each class."""
    rng = np.random.default_rng(seed)
    pos, neg = scores[labels == 1], scores[labels == 0]
    aucs = []
    for _ in range(resamples):
        p, n = rng.choice(pos, pos.size), rng.choice(neg, neg.size)
        aucs.append((np.mean(p[:, None] > n[None, :]) + 0.5 * np.mean(p[:, None] == n[None, :])))
    return (float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5)))


def binary_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, object]:
    """Accuracy, sensitivity, specificity (Wilson CIs) and AUC (bootstrap CI) at ``threshold``."""
    labels = np.asarray(labels).astype(int)
    calls = np.asarray(scores) >= threshold
    tp, tn = int(np.sum(calls & (labels == 1))), int(np.sum(~calls & (labels == 0)))
    n_pos, n_neg = int(labels.sum()), int((labels == 0).sum())

    def entry(k: int, n: int) -> dict[str, float]:
        low, high = wilson_interval(k, n)
        return {"value": round(k / n, 4) if n else float("nan"), "ci_low": round(low, 4), "ci_high": round(high, 4)}

    low, high = bootstrap_auc_interval(labels, np.asarray(scores))
    return {
        "threshold": round(float(threshold), 4),
        "n": int(labels.size), "n_positive": n_pos, "n_negative": n_neg,
        "accuracy": entry(tp + tn, labels.size),
        "sensitivity": entry(tp, n_pos),
        "specificity": entry(tn, n_neg),
        "auc": {"value": round(float(roc_auc_score(labels, scores)), 4), "ci_low": round(low, 4), "ci_high": round(high, 4),
                "ci_method": "percentile bootstrap, 2000 resamples stratified by class"},
    }


def delong_auc_interval(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float, float]:
    """AUC and its 95% DeLong interval: (auc, low, high), clipped to [0, 1].

    DeLong, DeLong & Clarke-Pearson, Biometrics 1988, with the placement values of
    Sun & Xu, IEEE Signal Processing Letters 2014 (ties count one half).
    """
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    pos, neg = scores[labels == 1], scores[labels == 0]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("The AUC needs films of both classes.")
    # Placement values: for each positive, the share of negatives it outranks (and vice versa).
    greater = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = greater.mean(axis=1), 1.0 - greater.mean(axis=0)
    auc = float(v10.mean())
    variance = (v10.var(ddof=1) / pos.size if pos.size > 1 else 0.0) + (v01.var(ddof=1) / neg.size if neg.size > 1 else 0.0)
    half = 1.959963984540054 * float(np.sqrt(variance))
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def calibration_table(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[dict[str, object]]:
    """Reliability table: films per probability decile bin, mean predicted vs observed rate (Wilson CI)."""
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1], right=False), 0, bins - 1)
    rows: list[dict[str, object]] = []
    for b in range(bins):
        chosen = which == b
        n = int(chosen.sum())
        positives = int(labels[chosen].sum())
        low, high = wilson_interval(positives, n) if n else (None, None)
        rows.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": n,
                     "mean_predicted": round(float(scores[chosen].mean()), 4) if n else None,
                     "observed_rate": round(positives / n, 4) if n else None,
                     "observed_ci_low": None if low is None else round(low, 4),
                     "observed_ci_high": None if high is None else round(high, 4)})
    return rows


def cluster_bootstrap_auc_interval(labels: np.ndarray, scores: np.ndarray, clusters: np.ndarray, *,
                                   resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the AUC resampling whole patients (films of one baby are not independent)."""
    labels, scores, clusters = np.asarray(labels).astype(int), np.asarray(scores, dtype=float), np.asarray(clusters)
    names, members = np.unique(clusters, return_inverse=True)
    rows_of = [np.flatnonzero(members == k) for k in range(len(names))]
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(resamples):
        rows = np.concatenate([rows_of[k] for k in rng.integers(0, len(names), len(names))])
        if 0 < labels[rows].sum() < len(rows):
            aucs.append(roc_auc_score(labels[rows], scores[rows]))
    return (float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5)))
