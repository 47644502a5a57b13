"""Planning a reader study: power for J readers and K cases, or the cases needed for a power.

Method: Hillis, Obuchowski & Berbaum (2011), "Power estimation for multireader ROC methods: an
updated and unified approach", Acad Radiol 18:129-142, with the Obuchowski-Rockette variance
components of a pilot study (``K*`` cases), exactly as RJafroc's ``SsPowerGivenJK`` and
``SsSampleSizeKGivenJ`` (method ``"OR"``) compute them. For an effect ``D`` (difference of two
arms' mean AUCs), ``J`` readers and ``K`` cases, with ``c = K* / K`` and
``s = max(Cov2 - Cov3, 0)`` and ``Var(T*R)`` clamped at 0:

- RRRC: ``den = Var(T*R) + c (Var - Cov1 + (J - 1) s)``, ``ncp = D^2 J / 2 / den``,
  ``ddf = den^2 / ((Var(T*R) + c (Var - Cov1 - s))^2 / (J - 1))``; power of the
  non-central ``F(1, ddf, ncp)`` beyond the ``1 - alpha`` quantile of ``F(1, ddf)``.
- FRRC: ``den = c (Var - Cov1 + (J - 1) s)``; non-central chi-square on 1 df.
- RRFC: ``den = Var(T*R) + c (Var - Cov1 - s)``; non-central ``F(1, J - 1)``.

The smallest K for a power searches K = 2, 3, ... up to `MAX_CASES` as RJafroc does
(RRRC: first K with power strictly above the target; FRRC, RRFC: at least the target).

Validated in ``tests/test_plan.py`` against RJafroc's stored outputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from study.analysis.mrmc import MrmcResult

__all__ = [
    "ANALYSES",
    "MAX_CASES",
    "PlanComponents",
    "PowerResult",
    "VANDYKE_COMPONENTS",
    "components_from_pilot",
    "power_given_jk",
    "cases_for_power",
    "power_grid",
    "plan_dict",
]

#: The three analyses, in report order.
ANALYSES: tuple[str, ...] = ("RRRC", "FRRC", "RRFC")

#: Largest number of cases the sample-size search tries (RJafroc stops at 2000 too).
MAX_CASES = 2000


@dataclass(frozen=True)
class PlanComponents:
    """OR variance components of a pilot study, the input of the power formulas.

    Attributes:
        var_tr: arm x reader variance ``Var(T*R)`` (clamped at 0 in the formulas).
        cov1, cov2, cov3: jackknife error covariances (see `study.analysis.mrmc`).
        var_error: error variance ``Var``.
        k_star: number of cases of the pilot.
        source: where they come from, for the page and the JSON.
    """

    var_tr: float
    cov1: float
    cov2: float
    cov3: float
    var_error: float
    k_star: int
    source: str = "pilot study"


#: Van Dyke et al. (1993), 5 readers x 114 cases, cine vs spin-echo MRI: the worked example of
#: Hillis et al. (2011); OR components as printed by OR-DBM MRMC 2.51 and RJafroc (dataset02).
VANDYKE_COMPONENTS = PlanComponents(
    var_tr=0.0002004025, cov1=0.0003466137, cov2=0.0003440748, cov3=0.0002390284,
    var_error=0.0008022883, k_star=114,
    source="Van Dyke et al. (1993) MRI study, 5 readers x 114 cases (Hillis et al. 2011 example)",
)


@dataclass(frozen=True)
class PowerResult:
    """Power of one analysis for J readers and K cases.

    Attributes:
        analysis: ``"RRRC"``, ``"FRRC"`` or ``"RRFC"``.
        power: probability of rejecting H0 when the effect is real.
        cases: K (the number asked for, or the smallest reaching the power; None when
            `MAX_CASES` do not reach it).
        readers: J.
        ncp: non-centrality parameter.
        ddf: denominator df (inf for FRRC's chi-square).
    """

    analysis: str
    power: float
    cases: int | None
    readers: int
    ncp: float
    ddf: float


def components_from_pilot(result: MrmcResult) -> PlanComponents:
    """The planning components of a finished (pilot) study's OR analysis.

    Args:
        result: the pilot's `MrmcResult` (any number of arms: the components are
            pooled over all of them).
    """
    c = result.components
    return PlanComponents(c.var_tr, c.cov1, c.cov2, c.cov3, c.var_error, result.n_cases,
                          source=f"pilot: {len(result.readers)} readers x {result.n_cases} cases")


def _check(effect: float, readers: int, cases: int | None, alpha: float) -> None:
    if not math.isfinite(effect) or effect == 0:
        raise ValueError(f"The effect size must be a non-zero AUC difference, got {effect:g}.")
    if readers < 2:
        raise ValueError(f"A study needs at least 2 readers for the random-reader analyses, got {readers}.")
    if cases is not None and cases < 2:
        raise ValueError(f"A study needs at least 2 cases, got {cases}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie between 0 and 1, got {alpha:g}.")


def _check_variance(value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError("The pilot's variance components leave no positive error variance "
                         "(e.g. all readers rated identically); they cannot plan a study.")


def power_given_jk(components: PlanComponents, *, effect: float, readers: int, cases: int,
                   alpha: float = 0.05, analysis: str = "RRRC") -> PowerResult:
    """Power of one analysis for ``readers`` readers and ``cases`` cases (Hillis et al. 2011).

    Args:
        components: pilot variance components.
        effect: AUC difference to detect (its sign does not matter).
        readers: J.
        cases: K.
        alpha: significance level (two-sided test of the difference).
        analysis: ``"RRRC"``, ``"FRRC"`` or ``"RRFC"``.

    Returns:
        The `PowerResult`.

    Example:
        >>> round(power_given_jk(VANDYKE_COMPONENTS, effect=0.0438003221, readers=10,
        ...                      cases=165).power, 4)
        0.8054
    """
    _check(effect, readers, cases, alpha)
    if analysis not in ANALYSES:
        raise ValueError(f"analysis must be one of {', '.join(ANALYSES)}, got {analysis!r}.")
    c = components
    var_tr = max(c.var_tr, 0.0)
    shrink = c.k_star / cases
    spread = max(c.cov2 - c.cov3, 0.0)
    if analysis == "FRRC":
        den = shrink * (c.var_error - c.cov1 + (readers - 1) * spread)
        _check_variance(den)
        ncp = effect**2 * readers / 2 / den
        power = float(stats.ncx2.sf(stats.chi2.ppf(1 - alpha, 1), 1, ncp))
        return PowerResult(analysis, power, cases, readers, ncp, math.inf)
    if analysis == "RRRC":
        den = var_tr + shrink * (c.var_error - c.cov1 + (readers - 1) * spread)
        _check_variance(var_tr + shrink * (c.var_error - c.cov1 - spread))
        ddf = den**2 / ((var_tr + shrink * (c.var_error - c.cov1 - spread)) ** 2 / (readers - 1))
    else:
        den = var_tr + shrink * (c.var_error - c.cov1 - spread)
        ddf = float(readers - 1)
    _check_variance(den)
    ncp = effect**2 * readers / 2 / den
    power = float(stats.ncf.sf(stats.f.ppf(1 - alpha, 1, ddf), 1, ddf, ncp))
    return PowerResult(analysis, power, cases, readers, ncp, float(ddf))


def cases_for_power(components: PlanComponents, *, effect: float, readers: int, power: float,
                    alpha: float = 0.05, analysis: str = "RRRC") -> PowerResult:
    """Smallest number of cases giving ``power`` with ``readers`` readers (RJafroc's search).

    Args:
        components: pilot variance components.
        effect: AUC difference to detect.
        readers: J.
        power: target power, between 0 and 1.
        alpha: significance level.
        analysis: ``"RRRC"``, ``"FRRC"`` or ``"RRFC"``.

    Returns:
        The `PowerResult` at that K; ``cases`` is None (and the power that of `MAX_CASES`
        cases) when no K up to `MAX_CASES` reaches it, e.g. RRFC with too few readers.
    """
    if not 0 < power < 1:
        raise ValueError(f"The target power must lie between 0 and 1, got {power:g}.")
    result = None
    for cases in range(2, MAX_CASES + 1):
        result = power_given_jk(components, effect=effect, readers=readers, cases=cases,
                                alpha=alpha, analysis=analysis)
        # RJafroc: RRRC stops at power > target, the others at power >= target.
        reached = result.power > power if analysis == "RRRC" else result.power >= power
        if reached:
            return result
    assert result is not None
    return PowerResult(result.analysis, result.power, None, readers, result.ncp, result.ddf)


def power_grid(components: PlanComponents, *, effect: float, readers: Iterable[int],
               cases: Iterable[int], alpha: float = 0.05, analysis: str = "RRRC") -> np.ndarray:
    """Power over a grid of readers x cases (rows: readers, columns: cases).

    Args:
        components: pilot variance components.
        effect: AUC difference to detect.
        readers: reader counts J.
        cases: case counts K.
        alpha: significance level.
        analysis: which analysis.
    """
    readers, cases = list(readers), list(cases)
    return np.array([[power_given_jk(components, effect=effect, readers=j, cases=k, alpha=alpha,
                                     analysis=analysis).power for k in cases] for j in readers])


def _num(value: float | int | None) -> float | int | None:
    if value is None:
        return None
    return value if math.isfinite(value) else None


def plan_dict(results: dict[str, PowerResult]) -> dict[str, Any]:
    """JSON-ready ``{"rrrc": {"power", "cases", "ncp", "ddf"}, ...}`` (inf / missing -> None)."""
    return {
        key.lower(): {"power": _num(r.power), "cases": r.cases, "ncp": _num(r.ncp),
                      "ddf": _num(r.ddf), "readers": r.readers}
        for key, r in results.items()
    }
