"""The study's multiplicity plan for its three arms, stated before the data are seen.

The reader study has three arms (no AI, AI score, AI score + heatmap), hence three pairwise
comparisons. Testing each at 5 % would let the chance of at least one false "the AI helps"
claim rise towards 14 %. The plan (a closed testing procedure, so the family-wise error rate
stays at ``alpha`` in the strong sense):

1. **Gate**: the RRRC global F test that all arms have the same mean AUC (Obuchowski-Rockette,
   Hillis ddf; `study.analysis.mrmc`). If it is not significant at ``alpha``, no pairwise
   difference is claimed.
2. **Pairwise**: if the gate passes, the three RRRC pairwise tests (pooled error term) with
   Holm's (1979) step-down adjustment at family-wise ``alpha``. With three arms the global
   test plus Holm is a closed procedure (Hochberg & Tamhane 1987, ch. 2).

Confidence intervals are reported unadjusted (95 %) beside the adjusted p-values.

References:
    Holm S (1979). A simple sequentially rejective multiple test procedure. Scand J Stat 6:65-70.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from study.analysis.mrmc import MrmcResult

__all__ = ["PLAN_TEXT", "PairDecision", "holm_adjust", "multiplicity_plan"]

#: The plan in one paragraph, for the results page and the report.
PLAN_TEXT = (
    "Multiplicity plan (fixed before the study): the three arms are first compared by the RRRC "
    "global F test of equal mean AUC at alpha = 0.05. Only if it is significant are the three "
    "pairwise differences tested, each with the pooled RRRC error term and Holm-adjusted "
    "p-values (family-wise alpha = 0.05). Intervals are unadjusted 95% CIs."
)


def holm_adjust(p_values: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as given; NaN stays NaN).

    Args:
        p_values: raw p-values.

    Returns:
        ``min(1, max_{j <= i} (m - j + 1) p_(j))`` for the ``i``-th smallest, in input order.

    Example:
        >>> holm_adjust([0.01, 0.04, 0.03]).round(3).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class PairDecision:
    """One pairwise comparison under the plan.

    Attributes:
        arms: ``(a, b)``; the estimate is AUC(a) - AUC(b).
        estimate, ci_low, ci_high: RRRC difference and its unadjusted interval.
        p: raw RRRC p-value.
        p_holm: Holm-adjusted p-value.
        significant: True only if the gate passed and ``p_holm < alpha``.
    """

    arms: tuple
    estimate: float
    ci_low: float
    ci_high: float
    p: float
    p_holm: float
    significant: bool


def multiplicity_plan(result: MrmcResult) -> tuple[bool, tuple[PairDecision, ...]]:
    """Apply the plan to an MRMC result of two or more arms.

    Args:
        result: an `MrmcResult` (its ``alpha`` is the family-wise level).

    Returns:
        ``(gate passed, one decision per pair)``. With two arms the gate is the one test.
    """
    gate = result.rrrc.global_test
    passed = bool(gate is not None and np.isfinite(gate.p) and gate.p < result.alpha)
    tests = result.rrrc.pairwise
    adjusted = holm_adjust([t.p for t in tests])
    return passed, tuple(
        PairDecision(t.arms, t.estimate, t.ci_low, t.ci_high, t.p, float(q),
                     passed and bool(q < result.alpha))
        for t, q in zip(tests, adjusted)
    )
