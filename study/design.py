"""The study's design, pure: which arms, which halves, which flagged cases, each reader's order.

Designs (the two classic MRMC reader-study designs):

* ``sequential``: for each case, an unaided read, the answer locked, then the AI hint
  and an aided read of the same case (arms read in the order given, ``none`` first).
* ``crossover``: two sessions. The cases are split into two halves (stratified by
  truth); in session 1 one half is read in the first arm and the other half in the
  second arm, in session 2 the arms are swapped. Readers with an even index start
  half 0 in the first arm, readers with an odd index half 0 in the second arm
  (counterbalancing). Session 2 opens only after a washout (default 28 days) from
  the end of session 1 (:func:`study.plan.washout_opens_at` applies it).

Arms: ``none`` (no AI), ``score`` (probability, fold spread, label) and
``score_heatmap`` (the same plus the fused Grad-CAM heatmap), which answers the
source work's question whether the visualisation helps beyond the score.

Automation bias (optional, off by default): a seeded fraction of the study's cases is
flagged; in aided arms their shown AI output is mirrored across the decision threshold
(:mod:`study.protocol` does the mirroring when it shows a hint).

Every random choice comes from a generator seeded by sha256 of the study seed and what
is being drawn, so it is the same in every process and Python version. Nothing here
touches the database: :mod:`study.admin` computes a study's halves, flags and reading
lists with these functions and stores them, so a later change of this code can never
reorder a running study.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from study import StudyError

__all__ = ["DESIGNS", "ARMS", "UNAIDED_ARM", "StudyConfigError", "validate_design", "split_halves",
           "flagged_cases", "reading_plan"]

DESIGNS = ("sequential", "crossover")
ARMS = ("none", "score", "score_heatmap")
UNAIDED_ARM = "none"  # the arm without AI; study.analysis compares the aided arms with it


class StudyConfigError(StudyError):
    """A study cannot be created with these settings."""


def validate_design(design: str, arms: Sequence[str], flagged_fraction: float, washout_days: float) -> tuple[str, ...]:
    """Check a study's settings; return its arms as a tuple.

    Raises:
        StudyConfigError: an unknown design or arm, a repeated arm, arms the design does not
            allow, a flagged fraction outside 0-0.5, or a negative washout.
    """
    if design not in DESIGNS:
        raise StudyConfigError(f"Design must be one of {', '.join(DESIGNS)} (got {design!r}).")
    arms = tuple(arms)
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown:
        raise StudyConfigError(f"Unknown arm(s) {unknown}; arms are {', '.join(ARMS)}.")
    if len(set(arms)) != len(arms):
        raise StudyConfigError(f"Each arm may appear only once (got {list(arms)}).")
    if design == "sequential" and (len(arms) < 2 or arms[0] != UNAIDED_ARM):
        raise StudyConfigError(
            "A sequential study starts with the unaided arm 'none' followed by at least "
            f"one aided arm, e.g. ['none', 'score_heatmap'] (got {list(arms)})."
        )
    if design == "crossover" and len(arms) != 2:
        raise StudyConfigError(
            f"A crossover study compares exactly two arms (got {list(arms)})."
        )
    if not 0.0 <= flagged_fraction <= 0.5:
        raise StudyConfigError(
            f"The fraction of deliberately wrong AI outputs must be 0 to 0.5 (got {flagged_fraction})."
        )
    if washout_days < 0:
        raise StudyConfigError(f"The washout cannot be negative (got {washout_days} days).")
    return arms


def _rng(*parts: object) -> random.Random:
    # sha256 rather than hash(): stable across processes and Python versions.
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def split_halves(cases: Sequence[tuple[int, int]], seed: str) -> dict[int, int]:
    """Crossover halves, stratified by truth: RDS and non-RDS cases dealt alternately into halves 0 and 1.

    Args:
        cases: (case id, truth) pairs.
        seed: the study seed.

    Returns:
        case id -> half (0 or 1).
    """
    rng = _rng(seed, "halves")
    dealt: list[int] = []
    for truth in (1, 0):
        stratum = sorted(cid for cid, t in cases if t == truth)
        rng.shuffle(stratum)
        dealt.extend(stratum)
    return {cid: i % 2 for i, cid in enumerate(dealt)}


def flagged_cases(case_ids: Sequence[int], fraction: float, seed: str) -> set[int]:
    """The automation-bias cases: ``round(fraction * n)`` of them, drawn with the study seed."""
    return set(_rng(seed, "flagged").sample(sorted(case_ids), round(fraction * len(case_ids))))


def reading_plan(design: str, arms: Sequence[str], seed: str, study_id: int, halves: dict[int, int],
                 reader_idx: int, reader_id: int) -> list[tuple[int, int, str]]:
    """One reader's reading list: (session, case id, arm) in reading order.

    Args:
        design: ``sequential`` or ``crossover``.
        arms: the study's arms (validated).
        seed: the study seed.
        study_id: the study (part of the order's seed).
        halves: case id -> crossover half (every case of the study).
        reader_idx: the reader's 0-based index in the study (even/odd: counterbalancing group).
        reader_id: the reader's database id (part of the order's seed).
    """
    case_ids = sorted(halves)
    if design == "sequential":
        order = case_ids[:]
        _rng(seed, study_id, reader_id, "order", 1).shuffle(order)
        return [(1, cid, arm) for cid in order for arm in arms]
    group = reader_idx % 2
    plan: list[tuple[int, int, str]] = []
    for session in (1, 2):
        order = case_ids[:]
        _rng(seed, study_id, reader_id, "order", session).shuffle(order)
        shift = group + session - 1
        plan += [(session, cid, arms[(halves[cid] + shift) % 2]) for cid in order]
    return plan
