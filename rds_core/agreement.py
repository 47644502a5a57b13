"""Whether the fold models of an ensemble agree on one film.

A demo that shows one fused score must also say when the five fold models behind it do not
agree: their scores spread wide, or some call the film positive and others negative. The
rule lives here, with the analysis result (:attr:`rds_core.pipeline.Analysis.disagreement`),
so every page and the CLI apply the same limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SPREAD_LIMIT", "Disagreement", "fold_disagreement"]

SPREAD_LIMIT = 0.15  # fold scores further apart than this (std) get a "models disagree" note


@dataclass(frozen=True)
class Disagreement:
    """How far the fold scores are apart, and whether that deserves a note."""

    spread: float
    above: int
    below: int
    spread_limit: float

    @property
    def too_spread(self) -> bool:
        return self.spread > self.spread_limit

    @property
    def split(self) -> bool:
        """Some folds at or above the threshold and some below it."""
        return self.above > 0 and self.below > 0

    @property
    def disagree(self) -> bool:
        return self.too_spread or self.split


def fold_disagreement(probabilities: list[float] | np.ndarray, threshold: float,
                      spread_limit: float = SPREAD_LIMIT) -> Disagreement:
    """Whether the fold models disagree: scores spread wide, or on both sides of the threshold.

    Args:
        probabilities: one score per fold.
        threshold: the pack's decision threshold.
        spread_limit: largest standard deviation still counted as agreement.
    """
    scores = np.asarray(probabilities, dtype=np.float64)
    above = int((scores >= threshold).sum())
    return Disagreement(float(scores.std()), above, int(scores.size - above), spread_limit)
