"""Empirical (trapezoidal) ROC AUC via placement values, vectorised over readers and arms.

The empirical AUC is the Mann-Whitney U statistic divided by ``m * n``: the probability that a
diseased case is rated higher than a non-diseased one, ties counting 1/2 (Bamber 1975;
Hanley & McNeil 1982). It equals the area under the trapezoidal ROC curve.

Everything here works on *placement values* (DeLong, DeLong & Clarke-Pearson 1988):

- ``v10[j]``: for diseased case ``j``, the fraction of non-diseased cases rated lower
  (ties 1/2);
- ``v01[i]``: for non-diseased case ``i``, the fraction of diseased cases rated higher
  (ties 1/2).

``AUC = mean(v10) = mean(v01)``. Placements come from mid-ranks, so a whole
(arm, reader) stack is done in one `scipy.stats.rankdata` call instead of an m x n loop,
and the leave-one-case-out AUCs of the jackknife follow in closed form:
dropping diseased case ``j`` gives ``(n * AUC - v10[j]) / (n - 1)``, dropping non-diseased case
``i`` gives ``(m * AUC - v01[i]) / (m - 1)``.

All functions take ``negatives`` with shape ``(..., m)`` (ratings of non-diseased cases) and
``positives`` with shape ``(..., n)`` (ratings of diseased cases); leading axes (e.g. arm,
reader) are carried through.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "placements",
    "empirical_auc",
    "auc_from_scores",
    "jackknife_aucs",
    "delong_variance",
]


def _as_float_arrays(negatives: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    neg = np.asarray(negatives, dtype=float)
    pos = np.asarray(positives, dtype=float)
    if neg.shape[-1] == 0 or pos.shape[-1] == 0:
        raise ValueError("AUC needs at least one non-diseased and one diseased rating.")
    if neg.shape[:-1] != pos.shape[:-1]:
        raise ValueError(
            f"negatives {neg.shape} and positives {pos.shape} differ in their leading axes."
        )
    return neg, pos


def placements(negatives: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Placement values of diseased and non-diseased cases (ties count 1/2).

    Args:
        negatives: ratings of non-diseased cases, shape ``(..., m)``.
        positives: ratings of diseased cases, shape ``(..., n)``; same leading axes.

    Returns:
        ``(v10, v01)``: ``v10`` with shape ``(..., n)`` (fraction of negatives below each
        positive) and ``v01`` with shape ``(..., m)`` (fraction of positives above each negative).

    Example:
        >>> v10, v01 = placements([1, 2], [2, 3])
        >>> v10.tolist(), v01.tolist()
        ([0.75, 1.0], [1.0, 0.75])
    """
    neg, pos = _as_float_arrays(negatives, positives)
    m, n = neg.shape[-1], pos.shape[-1]
    # Mid-rank in the pooled sample minus mid-rank within the own class counts the other
    # class's cases below (ties 1/2), for every case at once.
    pooled = rankdata(np.concatenate([neg, pos], axis=-1), axis=-1)
    below_pos = pooled[..., m:] - rankdata(pos, axis=-1)
    below_neg = pooled[..., :m] - rankdata(neg, axis=-1)
    return below_pos / m, 1.0 - below_neg / n


def empirical_auc(negatives: np.ndarray, positives: np.ndarray) -> np.ndarray | float:
    """Empirical AUC (Mann-Whitney, ties 1/2) over the last axis.

    Args:
        negatives: ratings of non-diseased cases, shape ``(..., m)``.
        positives: ratings of diseased cases, shape ``(..., n)``.

    Returns:
        AUC with the leading shape (a float for 1-D input).
    """
    v10, _ = placements(negatives, positives)
    auc = v10.mean(axis=-1)
    return float(auc) if auc.ndim == 0 else auc


def auc_from_scores(truth: np.ndarray, scores: np.ndarray) -> float:
    """Empirical AUC of one reader from a truth vector and a score vector.

    Args:
        truth: 0/1 (or bool) per case, 1 = diseased.
        scores: rating per case, higher = more likely diseased.

    Returns:
        The AUC; NaN when one class is absent.
    """
    truth = np.asarray(truth).astype(bool)
    scores = np.asarray(scores, dtype=float)
    if truth.all() or not truth.any():
        return float("nan")
    return float(empirical_auc(scores[~truth], scores[truth]))


def jackknife_aucs(negatives: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """Leave-one-case-out AUCs, all in closed form from the placement values.

    Args:
        negatives: ratings of non-diseased cases, shape ``(..., m)``, ``m >= 2``.
        positives: ratings of diseased cases, shape ``(..., n)``, ``n >= 2``.

    Returns:
        Array ``(..., m + n)``: entry ``k`` is the AUC without case ``k``; the non-diseased
        cases come first (in input order), then the diseased cases.
    """
    neg, pos = _as_float_arrays(negatives, positives)
    m, n = neg.shape[-1], pos.shape[-1]
    if m < 2 or n < 2:
        raise ValueError("The jackknife needs at least two diseased and two non-diseased cases.")
    v10, v01 = placements(neg, pos)
    auc = v10.mean(axis=-1, keepdims=True)
    without_neg = (m * auc - v01) / (m - 1)
    without_pos = (n * auc - v10) / (n - 1)
    return np.concatenate([without_neg, without_pos], axis=-1)


def delong_variance(negatives: np.ndarray, positives: np.ndarray) -> np.ndarray | float:
    """DeLong et al. (1988) variance of the empirical AUC.

    ``Var = S10 / n + S01 / m`` with ``S10``, ``S01`` the sample variances (ddof 1) of the
    placement values of the diseased and non-diseased cases.

    Args:
        negatives: ratings of non-diseased cases, shape ``(..., m)``, ``m >= 2``.
        positives: ratings of diseased cases, shape ``(..., n)``, ``n >= 2``.

    Returns:
        The variance with the leading shape (a float for 1-D input).
    """
    neg, pos = _as_float_arrays(negatives, positives)
    m, n = neg.shape[-1], pos.shape[-1]
    if m < 2 or n < 2:
        raise ValueError("The DeLong variance needs at least two cases of each class.")
    v10, v01 = placements(neg, pos)
    var = v10.var(axis=-1, ddof=1) / n + v01.var(axis=-1, ddof=1) / m
    return float(var) if var.ndim == 0 else var
