"""Binary classification metrics with 95% confidence intervals, for model cards."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

__all__ = ["binary_metrics", "wilson_interval", "bootstrap_auc_interval"]


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
