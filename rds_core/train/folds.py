"""Cross-validation folds as the team made them: sort on lung area, deal round-robin.

Within each label the cases are sorted by lung area and dealt to folds 0, 1, 2, 3, 4, 0,
1, ... so every fold gets the same RDS / non-RDS balance and the same spread of lung
sizes. All films of one patient are dealt together as one unit (see :func:`assign_folds`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["assign_folds"]


@dataclass
class _Unit:
    """One patient: the rows dealt together."""

    rows: list[int]
    label: int
    area: float
    key: str


def assign_folds(
    labels: Sequence[int],
    areas: Sequence[float | None],
    groups: Sequence[str],
    keys: Sequence[str],
    n_folds: int = 5,
) -> list[int]:
    """Give every row a fold in ``0 .. n_folds - 1``, stratified by label, spread by area.

    Each patient (``groups``) is one unit, labelled by the majority label of its films
    (ties go to the higher label, RDS) and sized by the mean area of its films that have
    one. Within each label the units are sorted by area (units without an area last,
    ``keys`` break ties) and each goes to the fold with the fewest films of that label,
    ties going to the next fold in round-robin order. With one film per patient this is
    exactly the round-robin deal, and the folds' counts per label differ by at most 1;
    a patient with several films can make that gap as large as its film count.

    Args:
        labels: class per row (0/1).
        areas: lung area per row in pixels; None or NaN when the row has no mask.
        groups: patient id per row; rows sharing one always share a fold.
        keys: a stable, unique string per row (the output id) for deterministic ties.
        n_folds: number of folds.

    Returns:
        The fold index of each row, in row order.
    """
    if not len(labels) == len(areas) == len(groups) == len(keys):
        raise ValueError("labels, areas, groups and keys must have one entry per row.")
    if n_folds < 2:
        raise ValueError(f"Cross-validation needs at least 2 folds (got {n_folds}).")
    members: dict[str, list[int]] = defaultdict(list)
    for row, group in enumerate(groups):
        members[group].append(row)
    units = [_make_unit(rows, labels, areas, keys) for rows in members.values()]

    counts: dict[int, list[int]] = defaultdict(lambda: [0] * n_folds)
    fold_of_row = [0] * len(labels)
    for label in sorted({unit.label for unit in units}):
        stratum = sorted(
            (unit for unit in units if unit.label == label),
            key=lambda unit: (math.isnan(unit.area), unit.area if not math.isnan(unit.area) else 0.0, unit.key),
        )
        turn = 0
        for unit in stratum:
            cyclic = [(turn + step) % n_folds for step in range(n_folds)]
            fold = min(cyclic, key=lambda f: counts[label][f])  # min keeps the first of ties
            for row in unit.rows:
                fold_of_row[row] = fold
                counts[labels[row]][fold] += 1
            turn = (fold + 1) % n_folds
    return fold_of_row


def _make_unit(rows: list[int], labels: Sequence[int], areas: Sequence[float | None], keys: Sequence[str]) -> _Unit:
    votes = Counter(labels[row] for row in rows)
    top = max(votes.values())
    label = max(value for value, count in votes.items() if count == top)
    known = [float(areas[row]) for row in rows if areas[row] is not None and not math.isnan(float(areas[row]))]
    area = sum(known) / len(known) if known else math.nan
    return _Unit(rows, label, area, min(keys[row] for row in rows))
