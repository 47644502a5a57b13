"""Confidence intervals for proportions (Wilson) and for a single AUC (DeLong, Wald).

- Proportions (accuracy, sensitivity, specificity, agreement): Wilson score interval
  (Wilson 1927; recommended over the Wald interval by Brown, Cai & DasGupta 2001), which stays
  inside [0, 1] and behaves at 0 % and 100 %.
- A single reader's AUC: DeLong et al. (1988) standard error with a Wald interval, clipped to
  [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from study.analysis.auc import delong_variance, empirical_auc

__all__ = ["wilson_interval", "auc_with_ci"]


def wilson_interval(successes: int, trials: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    Args:
        successes: number of successes (``0 <= successes <= trials``).
        trials: number of trials; 0 gives ``(nan, nan)``.
        alpha: 1 - confidence level.

    Returns:
        ``(low, high)``.

    Example:
        >>> [round(x, 4) for x in wilson_interval(8, 10)]
        [0.4902, 0.9433]
    """
    if trials == 0:
        return math.nan, math.nan
    if not 0 <= successes <= trials:
        raise ValueError(f"successes {successes} must lie between 0 and trials {trials}.")
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = successes / trials
    denominator = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denominator
    # At 0 % and 100 % the bound is exactly 0 or 1; floating point would land a hair inside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def auc_with_ci(
    truth: np.ndarray, scores: np.ndarray, *, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """Empirical AUC of one reader with its DeLong standard error and Wald interval.

    Args:
        truth: 0/1 per case.
        scores: rating per case (higher = more likely diseased).
        alpha: 1 - confidence level.

    Returns:
        ``(auc, se, low, high)``; NaN where undefined (a class with fewer than two cases
        leaves the SE undefined, no case of one class leaves the AUC undefined).
    """
    truth = np.asarray(truth).astype(bool)
    scores = np.asarray(scores, dtype=float)
    negatives, positives = scores[~truth], scores[truth]
    if len(negatives) == 0 or len(positives) == 0:
        return math.nan, math.nan, math.nan, math.nan
    auc = float(empirical_auc(negatives, positives))
    if len(negatives) < 2 or len(positives) < 2:
        return auc, math.nan, math.nan, math.nan
    se = math.sqrt(float(delong_variance(negatives, positives)))
    half = float(stats.norm.ppf(1 - alpha / 2)) * se
    return auc, se, max(0.0, auc - half), min(1.0, auc + half)
