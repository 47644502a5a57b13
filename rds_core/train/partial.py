"""Regional and asymmetric simulated RDS: the pattern in one zone, one lung, or unequal lungs.

Real RDS is often asymmetric early on or after surfactant, and a model that only ever saw
diffuse bilateral patterns has no reason to look at *where* the evidence is. This module
paints :func:`rds_core.train.simulate.simulate_rds` into part of the lungs only and says
where, so a training set can hold local evidence and the explanation benchmark
(``bench/explain.py``) can check whether a heatmap points at it (pointing game).

Zones: the lung mask is split at the mediastinum (the emptiest column in the middle of
its width) into the two lungs, and each lung at half its own height into an upper and a
lower zone. Zones are named by the side of the *image* (``left`` = smaller x), because the
film's laterality marker is not known here.

Extents (what :func:`simulate_partial_rds` paints):

* ``zone``       - one of the four zones, at one grade;
* ``lung``       - one whole lung (two zones), at one grade;
* ``asymmetric`` - both lungs, one at the drawn grade and the other two grades milder
  (grade I at least), as after unilateral surfactant distribution.

The grade of a partial pattern is the Giedion grade *of the painted part*; a whole film
with one affected zone has no Giedion grade of its own, and the model card says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rds_core.train.simulate import SimulationInputError, simulate_rds

__all__ = ["EXTENTS", "ZONES", "PartialRds", "lung_zones", "simulate_partial_rds"]

ZONES: tuple[str, ...] = ("left-upper", "left-lower", "right-upper", "right-lower")
EXTENTS: tuple[str, ...] = ("zone", "lung", "asymmetric")


@dataclass(frozen=True)
class PartialRds:
    """A film with RDS painted into part of its lungs.

    Attributes:
        image: float32 film in [0, 1].
        extent: one of :data:`EXTENTS`.
        grades: zone name -> grade painted there (zones absent were left untouched).
        painted: bool mask of the lung pixels of the painted zones.
        dominant: the zone set with the highest grade (the "evidence" a map should find).
    """

    image: np.ndarray
    extent: str
    grades: dict[str, int]
    painted: np.ndarray
    dominant: tuple[str, ...] = field(default=())


def lung_zones(mask: np.ndarray) -> dict[str, np.ndarray]:
    """Split a lung mask into four zones (image-left/right lung x upper/lower half).

    Args:
        mask: boolean lung mask of an upright film.

    Returns:
        zone name -> boolean mask; the zones are disjoint and cover the lung mask.
    """
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return {name: np.zeros_like(mask) for name in ZONES}
    c0, c1 = int(cols[0]), int(cols[-1])
    lo, hi = c0 + int(0.3 * (c1 - c0)), c0 + int(0.7 * (c1 - c0)) + 1
    mid = lo + int(np.argmin(mask[:, lo:hi].sum(axis=0))) if hi > lo else (c0 + c1) // 2
    zones: dict[str, np.ndarray] = {}
    for side, columns in (("left", slice(0, mid)), ("right", slice(mid, mask.shape[1]))):
        lung = np.zeros_like(mask)
        lung[:, columns] = mask[:, columns]
        rows = np.flatnonzero(lung.any(axis=1))
        split = (int(rows[0]) + int(rows[-1]) + 1) // 2 if rows.size else 0
        upper, lower = lung.copy(), lung.copy()
        upper[split:] = False
        lower[:split] = False
        zones[f"{side}-upper"], zones[f"{side}-lower"] = upper, lower
    return zones


def simulate_partial_rds(
    image: np.ndarray,
    lung_mask: np.ndarray,
    rng: np.random.Generator,
    *,
    extent: str | None = None,
    grade: int | None = None,
) -> PartialRds:
    """Paint simulated RDS into one zone, one lung, or both lungs at unequal grades.

    Args:
        image: float film (height, width) in [0, 1].
        lung_mask: boolean lung mask of the film (upright).
        rng: the only source of randomness.
        extent: one of :data:`EXTENTS`; drawn uniformly when None.
        grade: grade of the (most) affected part, 1-4; drawn from II-IV when None
            (a grade I haze in one zone is below what a reader would call).

    Raises:
        SimulationInputError: bad extent, or a zone too small to paint.
    """
    if extent is None:
        extent = EXTENTS[int(rng.integers(len(EXTENTS)))]
    if extent not in EXTENTS:
        raise SimulationInputError(f"extent must be one of {', '.join(EXTENTS)}, got {extent!r}.")
    if grade is None:
        grade = int(rng.integers(2, 5))
    zones = lung_zones(lung_mask)
    side = ("left", "right")[int(rng.integers(2))]
    other = "right" if side == "left" else "left"
    if extent == "zone":
        chosen = ZONES[int(rng.integers(len(ZONES)))]
        plan = {(chosen,): grade}
    elif extent == "lung":
        plan = {(f"{side}-upper", f"{side}-lower"): grade}
    else:
        plan = {(f"{side}-upper", f"{side}-lower"): grade, (f"{other}-upper", f"{other}-lower"): max(1, grade - 2)}
    out = np.asarray(image, dtype=np.float32)
    painted = np.zeros_like(lung_mask)
    grades: dict[str, int] = {}
    for names, level in plan.items():
        region = np.logical_or.reduce([zones[n] for n in names])
        out = simulate_rds(out, region, level, rng).image
        painted |= region
        grades.update({n: level for n in names})
    dominant = max(plan, key=plan.get)
    return PartialRds(out, extent, grades, painted, tuple(dominant))
