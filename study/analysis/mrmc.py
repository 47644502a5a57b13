"""Obuchowski-Rockette (OR) MRMC analysis of the AUCs of two or more arms.

Method (the one the Iowa OR-DBM MRMC program, RJafroc and MRMCaov use with jackknife
covariances and empirical AUCs):

1. Empirical AUC per (arm, reader) (`study.analysis.auc`).
2. Jackknife covariance of the ``t * r`` AUCs over cases: leave one case out (diseased or
   not), ``cov = (K - 1) / K * sum_k (A_k - mean)(A_k - mean)'`` over the ``K`` cases.
   Averaging its entries gives ``Var`` (error variance, the diagonal), ``Cov1`` (same reader,
   different arm), ``Cov2`` (same arm, different readers), ``Cov3`` (different
   arm and reader).
3. Arm x reader ANOVA of the AUCs: ``MS(T)``, ``MS(R)``, ``MS(T*R)``.
4. Tests, ``t >= 2`` arms, ``r`` readers: a global test that all arms have the
   same AUC (F or chi-square on ``t - 1`` numerator df), and every pairwise difference
   (arm listed first minus the later one) with the *same* error term, pooled over all
   arms, exactly as OR-DBM MRMC 2.51 and RJafroc print them; for ``t = 2`` the global
   test is the test of the one difference:

   - RRRC (random readers and cases): error term ``MS(T*R) + r * max(Cov2 - Cov3, 0)``,
     ``F = MS(T) / error``, Hillis (2007) denominator df
     ``error^2 / (MS(T*R)^2 / ((t - 1)(r - 1)))``, ``SE = sqrt(2 / r * error)``, t-interval.
   - FRRC (fixed readers, random cases): ``X2 = (t - 1) MS(T) / (Var - Cov1 + (r - 1)
     max(Cov2 - Cov3, 0))`` on ``t - 1`` df, ``SE = sqrt(2 / r * that denominator)``, normal
     interval; plus z-tests per reader with ``SE = sqrt(2 (Var_j - Cov1_j))``, ``Var_j`` and
     ``Cov1_j`` averaged over the reader's arms.
   - RRFC (random readers, fixed cases): ``F = MS(T) / MS(T*R)`` on ``(1, (t - 1)(r - 1))`` df,
     ``SE = sqrt(2 / r * MS(T*R))``, t-interval.
   - Single-arm AUC intervals for each analysis (RRRC: ``SE = sqrt((MS(R)_i + r
     max(Cov2_i, 0)) / r)`` with Satterthwaite df ``(MS(R)_i + r max(Cov2_i, 0))^2 /
     (MS(R)_i^2 / (r - 1))``; FRRC: ``SE = sqrt((Var_i + (r - 1) max(Cov2_i, 0)) / r)``,
     normal; RRFC: ``SE = sqrt(MS(R)_i / r)`` on ``r - 1`` df).

The variance components reported (``Var(R) = (MS(R) - MS(T*R)) / t - Cov1 + Cov3``,
``Var(T*R) = MS(T*R) - Var + Cov1 + Cov2 - Cov3``) are the unclamped moment estimates, as
the OR-DBM MRMC output prints them; the ``max(., 0)`` clamps act only on the tests.

A single reader is allowed: only the fixed-reader (FRRC) analysis is then defined; the
random-reader numbers are NaN (null in JSON).

Validated in ``tests/test_mrmc.py`` against the published OR-DBM MRMC 2.51 and RJafroc
results on the Van Dyke et al. (1993) data (two arms), and in
``tests/test_mrmc_multiarm.py`` against OR-DBM MRMC 2.51 on the five-arm Zanca data.

References:
    Obuchowski NA, Rockette HE (1995). Hypothesis testing of diagnostic accuracy for multiple
    readers and multiple tests: an ANOVA approach with dependent observations. Commun Stat
    Simul Comput 24:285-308.
    Hillis SL (2007). A comparison of denominator degrees of freedom methods for multiple
    observer ROC analysis. Stat Med 26:596-619.
    Hillis SL, Berbaum KS, Metz CE (2008). Recent developments in the Dorfman-Berbaum-Metz
    procedure for multireader ROC study analysis. Acad Radiol 15:647-661.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from study.analysis.auc import empirical_auc, jackknife_aucs
from study.analysis.table import DEFAULT_SCALE, MrmcData, binary_column, mrmc_data, require_columns

__all__ = [
    "MeanSquares",
    "VarianceComponents",
    "DifferenceTest",
    "GlobalTest",
    "ArmEstimate",
    "ReaderDifference",
    "OrAnalysis",
    "MrmcResult",
    "ENDPOINTS",
    "figure_of_merit",
    "jackknife_covariance",
    "or_analysis",
    "mrmc",
]


@dataclass(frozen=True)
class MeanSquares:
    """Arm x reader ANOVA of the AUCs.

    Attributes:
        ms_t: mean square of arms (df ``t - 1``).
        ms_r: mean square of readers (df ``r - 1``).
        ms_tr: mean square of the interaction (df ``(t - 1)(r - 1)``).
        df_t, df_r, df_tr: their degrees of freedom.
        ms_r_by_arm: reader mean square within each arm (df ``r - 1``).
    """

    ms_t: float
    ms_r: float
    ms_tr: float
    df_t: int
    df_r: int
    df_tr: int
    ms_r_by_arm: tuple[float, ...]


@dataclass(frozen=True)
class VarianceComponents:
    """OR variance components and jackknife covariances of the AUCs.

    Attributes:
        var_r: reader variance ``Var(R)``.
        var_tr: arm x reader variance ``Var(T*R)``.
        var_error: mean jackknife variance of an AUC ``Var(error)``.
        cov1: same reader, different arm.
        cov2: same arm, different readers.
        cov3: different arm, different readers.
    """

    var_r: float
    var_tr: float
    var_error: float
    cov1: float
    cov2: float
    cov3: float

    @property
    def corr1(self) -> float:
        """``Cov1 / Var(error)``."""
        return self.cov1 / self.var_error

    @property
    def corr2(self) -> float:
        """``Cov2 / Var(error)``."""
        return self.cov2 / self.var_error

    @property
    def corr3(self) -> float:
        """``Cov3 / Var(error)``."""
        return self.cov3 / self.var_error


@dataclass(frozen=True)
class DifferenceTest:
    """Test of the mean AUC difference (first minus second arm) under one analysis.

    Attributes:
        analysis: ``"RRRC"``, ``"FRRC"`` or ``"RRFC"``.
        estimate: mean AUC difference.
        se: its standard error.
        ci_low, ci_high: the ``1 - alpha`` confidence interval.
        statistic: F (RRRC, RRFC) or chi-square (FRRC).
        statistic_name: ``"F"`` or ``"chi2"``.
        ndf: numerator df of F, or the df of the chi-square.
        df: the df printed with the statistic: denominator df of F (Hillis ddf for RRRC,
            ``(t - 1)(r - 1)`` for RRFC), or the chi-square df for FRRC (whose interval uses the
            normal distribution).
        t: ``estimate / se`` (a t statistic for RRRC and RRFC, z for FRRC).
        p: p-value (two-sided for the difference; identical to the F / chi-square p).
        error_term: the denominator of the statistic.
        arms: the two arms compared (first minus second).
    """

    analysis: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    statistic_name: str
    ndf: float
    df: float
    t: float
    p: float
    error_term: float
    arms: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class GlobalTest:
    """Test that all arms have the same mean AUC, under one analysis.

    Attributes:
        analysis: ``"RRRC"``, ``"FRRC"`` or ``"RRFC"``.
        statistic: F (RRRC, RRFC) or chi-square (FRRC).
        statistic_name: ``"F"`` or ``"chi2"``.
        ndf: numerator df ``t - 1`` (the chi-square df for FRRC).
        ddf: denominator df (Hillis ddf for RRRC, ``(t - 1)(r - 1)`` for RRFC, ``inf`` for FRRC).
        p: p-value.
        error_term: the denominator mean square.
    """

    analysis: str
    statistic: float
    statistic_name: str
    ndf: float
    ddf: float
    p: float
    error_term: float


@dataclass(frozen=True)
class ArmEstimate:
    """Mean AUC of one arm with its interval under one analysis.

    Attributes:
        arm: arm label.
        auc: reader-averaged AUC.
        se: standard error.
        df: degrees of freedom of the interval (``inf`` = normal).
        ci_low, ci_high: confidence interval.
        var_error: mean jackknife variance of the arm's AUCs.
        cov2: mean covariance of two readers' AUCs in the arm.
        ms_r: reader mean square within the arm.
    """

    arm: Hashable
    auc: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    var_error: float
    cov2: float
    ms_r: float


@dataclass(frozen=True)
class ReaderDifference:
    """Fixed-readers (FRRC) test of one reader's AUC difference.

    Attributes:
        reader: reader label.
        estimate: AUC difference (first minus second arm).
        se: ``sqrt(2 * (var_error - cov1))``.
        z: ``estimate / se``.
        p: two-sided normal p-value.
        ci_low, ci_high: normal confidence interval.
        var_error: mean jackknife variance of the reader's AUCs (all arms).
        cov1: mean jackknife covariance of the reader's AUCs in two different arms.
        arms: the two arms compared (first minus second).
    """

    reader: Hashable
    estimate: float
    se: float
    z: float
    p: float
    ci_low: float
    ci_high: float
    var_error: float
    cov1: float
    arms: tuple[Hashable, ...] = ()


@dataclass(frozen=True)
class OrAnalysis:
    """One of the three OR analyses.

    Attributes:
        difference: test of the difference of the first two arms (``pairwise[0]``).
        arms: per-arm estimates (same order as the result's arms).
        readers: per-reader differences of every pair (FRRC only; empty otherwise).
        global_test: test that all arms have the same AUC.
        pairwise: every pair ``(i, j)``, ``i < j`` in arm order, difference ``i - j``,
            all with the error term of the global test.
    """

    difference: DifferenceTest
    arms: tuple[ArmEstimate, ...]
    readers: tuple[ReaderDifference, ...] = ()
    global_test: GlobalTest | None = None
    pairwise: tuple[DifferenceTest, ...] = ()


@dataclass(frozen=True)
class MrmcResult:
    """Full OR MRMC result of a study with two or more arms.

    Attributes:
        arms: the arm labels; `difference` is first minus second.
        readers: reader labels, order of the ``auc`` columns.
        n_diseased, n_nondiseased: case counts.
        auc: AUC per (arm, reader), shape ``(t, r)``.
        covariance: jackknife covariance of the AUCs, shape ``(t, r, t, r)``.
        mean_squares: the ANOVA.
        components: variance components and covariances.
        rrrc, frrc, rrfc: the three analyses.
        alpha: significance level of the intervals.
        endpoint: the figure of merit: ``"auc"``, ``"sensitivity"`` or ``"specificity"``.
    """

    arms: tuple[Hashable, ...]
    readers: tuple[Hashable, ...]
    n_diseased: int
    n_nondiseased: int
    auc: np.ndarray
    covariance: np.ndarray
    mean_squares: MeanSquares
    components: VarianceComponents
    rrrc: OrAnalysis
    frrc: OrAnalysis
    rrfc: OrAnalysis
    alpha: float
    endpoint: str = "auc"

    @property
    def n_cases(self) -> int:
        """Number of cases."""
        return self.n_diseased + self.n_nondiseased

    @property
    def mean_auc(self) -> tuple[float, ...]:
        """Reader-averaged AUC per arm."""
        return tuple(float(a) for a in self.auc.mean(axis=1))

    @property
    def difference(self) -> float:
        """Mean AUC of the first arm minus the second."""
        return self.mean_auc[0] - self.mean_auc[1]

    def auc_table(self) -> pd.DataFrame:
        """AUCs as a long table with columns reader, arm, auc."""
        rows = [
            {"reader": reader, "arm": arm, "auc": float(self.auc[t, r])}
            for t, arm in enumerate(self.arms)
            for r, reader in enumerate(self.readers)
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (non-finite numbers become None).

        Keys: ``modalities``, ``contrast`` (text), ``n_readers``, ``n_cases``, ``n_diseased``,
        ``n_nondiseased``, ``auc_by_modality``, ``auc_by_reader``, ``difference``, ``rrrc``,
        ``frrc``, ``rrfc`` (each with ``estimate, se, ci_low, ci_high, statistic,
        statistic_name, ndf, df, t, p, error_term`` and ``modalities``; FRRC also ``readers``),
        ``variance_components``, ``mean_squares``, ``global`` (per analysis ``F, ndf, ddf, p``;
        ``F`` is the chi-square for FRRC, whose ``ddf`` is null) and ``pairwise`` (one entry
        per pair: ``modalities`` and per analysis ``estimate, se, df, p, ci_low, ci_high``).
        The JSON says *modality* for an arm, the word of the reference programs (OR-DBM MRMC,
        RJafroc, MRMCaov) whose output it mirrors: it is this package's boundary.
        """
        first, second = self.arms[:2]
        analyses = {
            key: _analysis_dict(getattr(self, key)) for key in ("rrrc", "frrc", "rrfc")
        }
        return {
            "modalities": [_label(m) for m in self.arms],
            "contrast": f"{first} - {second}",
            "endpoint": self.endpoint,
            "n_readers": len(self.readers),
            "n_cases": self.n_cases,
            "n_diseased": self.n_diseased,
            "n_nondiseased": self.n_nondiseased,
            "auc_by_modality": {str(m): _num(a) for m, a in zip(self.arms, self.mean_auc)},
            "auc_by_reader": {
                str(m): {str(r): _num(self.auc[t, j]) for j, r in enumerate(self.readers)}
                for t, m in enumerate(self.arms)
            },
            "difference": _num(self.difference),
            **analyses,
            "variance_components": {
                "var_r": _num(self.components.var_r),
                "var_tr": _num(self.components.var_tr),
                "var_error": _num(self.components.var_error),
                "cov1": _num(self.components.cov1),
                "cov2": _num(self.components.cov2),
                "cov3": _num(self.components.cov3),
            },
            "mean_squares": {
                "ms_t": _num(self.mean_squares.ms_t),
                "ms_r": _num(self.mean_squares.ms_r),
                "ms_tr": _num(self.mean_squares.ms_tr),
            },
            "global": {key: _global_dict(getattr(self, key).global_test)
                       for key in ("rrrc", "frrc", "rrfc")},
            "pairwise": self._pairwise_dicts(),
        }

    def _pairwise_dicts(self) -> list[dict[str, Any]]:
        out = []
        for index, test in enumerate(self.rrrc.pairwise):
            entry: dict[str, Any] = {"modalities": [_label(m) for m in test.arms]}
            for key in ("rrrc", "frrc", "rrfc"):
                pair = getattr(self, key).pairwise[index]
                entry[key] = {name: _num(getattr(pair, name))
                              for name in ("estimate", "se", "df", "p", "ci_low", "ci_high")}
                if key == "frrc":
                    entry[key]["df"] = None  # a z-test: normal distribution
            out.append(entry)
        return out


def _global_dict(test: GlobalTest | None) -> dict[str, Any] | None:
    if test is None:
        return None
    return {"F": _num(test.statistic), "ndf": _num(test.ndf), "ddf": _num(test.ddf),
            "p": _num(test.p), "statistic_name": test.statistic_name}


def _num(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _label(value: Hashable) -> Any:
    return value if isinstance(value, (int, float, str)) else str(value)


def _analysis_dict(analysis: OrAnalysis) -> dict[str, Any]:
    d = analysis.difference
    out: dict[str, Any] = {
        "estimate": _num(d.estimate),
        "se": _num(d.se),
        "ci_low": _num(d.ci_low),
        "ci_high": _num(d.ci_high),
        "statistic": _num(d.statistic),
        "statistic_name": d.statistic_name,
        "ndf": _num(d.ndf),
        "df": _num(d.df),
        "t": _num(d.t),
        "p": _num(d.p),
        "error_term": _num(d.error_term),
        "modalities": {
            str(m.arm): {
                "auc": _num(m.auc),
                "se": _num(m.se),
                "df": _num(m.df),
                "ci_low": _num(m.ci_low),
                "ci_high": _num(m.ci_high),
            }
            for m in analysis.arms
        },
    }
    if analysis.readers:
        out["readers"] = {
            str(r.reader): {
                "estimate": _num(r.estimate),
                "se": _num(r.se),
                "z": _num(r.z),
                "p": _num(r.p),
                "ci_low": _num(r.ci_low),
                "ci_high": _num(r.ci_high),
            }
            for r in analysis.readers
            if r.arms == analysis.difference.arms
        }
    return out


def _div(numerator: float, denominator: float) -> float:
    # Degenerate studies (e.g. identical readers) give 0 denominators; IEEE inf/nan then
    # flows into the result instead of an exception, and to_dict() turns it into null.
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(np.float64(numerator), np.float64(denominator)))


def _quantile(alpha: float, df: float) -> float:
    """Two-sided critical value: t on ``df``, normal when ``df`` is infinite."""
    if math.isinf(df):
        return float(stats.norm.ppf(1 - alpha / 2))
    return float(stats.t.ppf(1 - alpha / 2, df))


def _two_sided_p(t_value: float, df: float) -> float:
    if math.isinf(df):
        return float(2 * stats.norm.sf(abs(t_value)))
    return float(2 * stats.t.sf(abs(t_value), df))


def _f_p(statistic: float, ndf: float, ddf: float) -> float:
    if math.isinf(ddf):
        # F(ndf, inf) is chi-square(ndf) / ndf; scipy's F returns nan there.
        return float(stats.chi2.sf(statistic * ndf, ndf))
    return float(stats.f.sf(statistic, ndf, ddf))


def _interval(estimate: float, se: float, df: float, alpha: float) -> tuple[float, float]:
    half = _quantile(alpha, df) * se
    return estimate - half, estimate + half


#: Figures of merit the OR analysis can compare: the empirical AUC of the confidence ratings,
#: or sensitivity / specificity of binary calls (ratings 0/1), as MRMCaov's
#: ``empirical_auc``, ``binary_sens`` and ``binary_spec``.
ENDPOINTS: tuple[str, ...] = ("auc", "sensitivity", "specificity")


def figure_of_merit(data: MrmcData, endpoint: str = "auc") -> tuple[np.ndarray, np.ndarray]:
    """The figure of merit per (arm, reader) and its leave-one-case-out values.

    Args:
        data: the crossed study (binary endpoints: ratings are the 0/1 calls).
        endpoint: one of `ENDPOINTS`.

    Returns:
        ``(fom, pseudo)``: shapes ``(t, r)`` and ``(t, r, K)``; for the AUC ``K`` is every case
        (non-diseased first), for sensitivity the diseased, for specificity the non-diseased.
    """
    if endpoint == "auc":
        fom = np.asarray(empirical_auc(data.negatives, data.positives), dtype=float)
        return fom, jackknife_aucs(data.negatives, data.positives)
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}.")
    # Sensitivity: share of diseased cases called positive, jackknifed over the diseased
    # cases only (the others do not enter it), as MRMCaov does; specificity likewise on the
    # non-diseased cases with the calls flipped.
    own = data.positives if endpoint == "sensitivity" else 1.0 - data.negatives
    n = own.shape[-1]
    fom = own.mean(axis=-1)
    return fom, (n * fom[..., None] - own) / (n - 1)


def jackknife_covariance(data: MrmcData, endpoint: str = "auc") -> np.ndarray:
    """Jackknife covariance of all (arm, reader) figures of merit over cases.

    Args:
        data: the crossed study.
        endpoint: one of `ENDPOINTS` (default the AUC).

    Returns:
        Array ``(t, r, t, r)``: ``(K - 1) / K * sum_k`` of products of deviations of the
        leave-case-``k``-out values from their mean, ``K`` = number of cases jackknifed (all
        for the AUC; the diseased for sensitivity, the non-diseased for specificity).
    """
    _, pseudo = figure_of_merit(data, endpoint)
    n_mod, n_read, n_cases = pseudo.shape
    flat = pseudo.reshape(n_mod * n_read, n_cases)
    deviation = flat - flat.mean(axis=1, keepdims=True)
    covariance = (n_cases - 1) / n_cases * (deviation @ deviation.T)
    return covariance.reshape(n_mod, n_read, n_mod, n_read)


def _pair_mean(cov: np.ndarray, same_t: bool, same_r: bool) -> float:
    """Mean of the covariance entries with (not) the same arm and (not) the same reader.

    With one reader (or one arm) some kinds of pair do not exist; they enter the formulas
    only multiplied by ``r - 1`` (or ``t - 1``), so 0 stands in for them.
    """
    n_mod, n_read = cov.shape[:2]
    t1, r1, t2, r2 = np.ix_(range(n_mod), range(n_read), range(n_mod), range(n_read))
    mask = ((t1 == t2) == same_t) & ((r1 == r2) == same_r)
    return float(cov[mask].mean()) if mask.any() else 0.0


def or_analysis(data: MrmcData, *, alpha: float = 0.05, endpoint: str = "auc") -> MrmcResult:
    """Obuchowski-Rockette analysis (jackknife covariances, Hillis ddf) of ``t >= 2`` arms.

    Args:
        data: the crossed study, from `study.analysis.table.mrmc_data`.
        alpha: significance level; intervals are ``1 - alpha``.
        endpoint: ``"auc"`` (default), or ``"sensitivity"`` / ``"specificity"`` of 0/1
            ratings (the readers' calls); the fields named ``auc`` then hold that proportion.

    Returns:
        The `MrmcResult`: global tests, every pairwise difference (pooled error term) and the
        per-arm intervals; ``difference`` is ``data.arms[0] - data.arms[1]``.
    """
    auc, _ = figure_of_merit(data, endpoint)
    n_mod, n_read = auc.shape
    if n_mod < 2:
        raise ValueError("or_analysis compares at least two arms.")
    cov = jackknife_covariance(data, endpoint)

    var_error = _pair_mean(cov, True, True)
    cov1 = _pair_mean(cov, False, True)
    cov2 = _pair_mean(cov, True, False)
    cov3 = _pair_mean(cov, False, False)

    grand = auc.mean()
    by_mod, by_reader = auc.mean(axis=1), auc.mean(axis=0)
    df_t, df_r = n_mod - 1, n_read - 1
    df_tr = df_t * df_r
    ms_t = n_read * float(((by_mod - grand) ** 2).sum()) / df_t
    # One reader: no reader or interaction mean square (0/0 -> NaN, random-reader tests NaN).
    ms_r = _div(n_mod * float(((by_reader - grand) ** 2).sum()), df_r)
    interaction = auc - by_mod[:, None] - by_reader[None, :] + grand
    ms_tr = _div(float((interaction**2).sum()), df_tr)
    ms_r_i = [_div(float(((auc[i] - by_mod[i]) ** 2).sum()), df_r) for i in range(n_mod)]
    mean_squares = MeanSquares(ms_t, ms_r, ms_tr, df_t, df_r, df_tr, tuple(ms_r_i))

    var_tr = ms_tr - var_error + cov1 + cov2 - cov3
    var_r = (ms_r - ms_tr) / n_mod - cov1 + cov3
    components = VarianceComponents(var_r, var_tr, var_error, cov1, cov2, cov3)

    # Per-arm and per-reader pieces of the covariance matrix.
    off_diag = ~np.eye(n_read, dtype=bool)
    off_mod = ~np.eye(n_mod, dtype=bool)
    var_i = [float(np.diag(cov[i, :, i, :]).mean()) for i in range(n_mod)]
    cov2_i = [float(cov[i, :, i, :][off_diag].mean()) if n_read > 1 else 0.0 for i in range(n_mod)]
    var_j = [float(np.diag(cov[:, j, :, j]).mean()) for j in range(n_read)]
    cov1_j = [float(cov[:, j, :, j][off_mod].mean()) for j in range(n_read)]

    clamp = max(cov2 - cov3, 0.0)
    pairs = [(a, b) for a in range(n_mod) for b in range(a + 1, n_mod)]
    labels = data.arms

    def pairwise(analysis: str, error: float, df: float) -> tuple[DifferenceTest, ...]:
        """Every pairwise difference with the pooled error term (t on ``df``, normal if inf)."""
        name = "chi2" if analysis == "FRRC" else "F"
        se = math.sqrt(2.0 / n_read * error) if error >= 0 else math.nan
        out = []
        for a, b in pairs:
            diff = float(by_mod[a] - by_mod[b])
            t_value = _div(diff, se)
            low, high = _interval(diff, se, df, alpha)
            statistic = t_value**2
            p = _f_p(statistic, 1.0, df)
            out.append(DifferenceTest(analysis, diff, se, low, high, statistic, name, 1.0,
                                      math.inf if analysis == "FRRC" else float(df), t_value, p, error,
                                      (labels[a], labels[b])))
        return tuple(out)

    def global_test(analysis: str, error: float, ddf: float) -> GlobalTest:
        if analysis == "FRRC":  # chi-square on t - 1 df
            statistic = _div(df_t * ms_t, error)
            return GlobalTest(analysis, statistic, "chi2", float(df_t), math.inf,
                              float(stats.chi2.sf(statistic, df_t)), error)
        statistic = _div(ms_t, error)
        return GlobalTest(analysis, statistic, "F", float(df_t), float(ddf),
                          _f_p(statistic, df_t, ddf), error)

    def arm_estimates(se_df: Sequence[tuple[float, float]]) -> tuple[ArmEstimate, ...]:
        out = []
        for i, (se, df) in enumerate(se_df):
            low, high = _interval(float(by_mod[i]), se, df, alpha)
            # An AUC lies in [0, 1]; a symmetric interval can overshoot near the ends.
            low, high = max(low, 0.0), min(high, 1.0)
            out.append(ArmEstimate(labels[i], float(by_mod[i]), se, df, low, high,
                                        var_i[i], cov2_i[i], float(ms_r_i[i])))
        return tuple(out)

    def analysis_of(name: str, error: float, ddf: float, single: Sequence[tuple[float, float]],
                    readers: tuple[ReaderDifference, ...] = ()) -> OrAnalysis:
        tests = pairwise(name, error, ddf)
        glob = global_test(name, error, ddf)
        first = tests[0]
        if n_mod == 2:
            # The one difference carries the global statistic, as the reference programs print.
            first = DifferenceTest(name, first.estimate, first.se, first.ci_low, first.ci_high,
                                   glob.statistic, glob.statistic_name, glob.ndf,
                                   glob.ndf if name == "FRRC" else glob.ddf, first.t, first.p,
                                   error, first.arms)
            tests = (first,)
        return OrAnalysis(first, arm_estimates(single), readers, glob, tests)

    # RRRC: random readers and cases, Hillis (2007) ddf.
    error_rrrc = ms_tr + n_read * clamp
    ddf_h = math.inf if ms_tr == 0 else _div(error_rrrc**2, _div(ms_tr**2, df_tr))
    single_rrrc = []
    for i in range(n_mod):
        numerator = ms_r_i[i] + max(n_read * cov2_i[i], 0.0)
        df_i = math.inf if ms_r_i[i] == 0 else _div(numerator**2, _div(ms_r_i[i] ** 2, df_r))
        single_rrrc.append((math.sqrt(numerator / n_read), df_i))
    rrrc = analysis_of("RRRC", error_rrrc, ddf_h, single_rrrc)

    # FRRC: readers fixed, chi-square / normal.
    error_frrc = var_error - cov1 + (n_read - 1) * clamp
    single_frrc = [
        (math.sqrt((var_i[i] + (n_read - 1) * max(cov2_i[i], 0.0)) / n_read), math.inf)
        for i in range(n_mod)
    ]
    per_reader = []
    for j, reader in enumerate(data.readers):
        se = math.sqrt(max(2.0 * (var_j[j] - cov1_j[j]), 0.0))
        for a, b in pairs:
            estimate = float(auc[a, j] - auc[b, j])
            z = _div(estimate, se)
            low, high = _interval(estimate, se, math.inf, alpha)
            per_reader.append(ReaderDifference(reader, estimate, se, z, _two_sided_p(z, math.inf),
                                               low, high, var_j[j], cov1_j[j],
                                               (labels[a], labels[b])))
    frrc = analysis_of("FRRC", error_frrc, math.inf, single_frrc, tuple(per_reader))

    # RRFC: cases fixed, conventional ANOVA F.
    single_rrfc = [(math.sqrt(ms_r_i[i] / n_read), float(df_r)) for i in range(n_mod)]
    rrfc = analysis_of("RRFC", ms_tr, float(df_tr), single_rrfc)

    return MrmcResult(
        arms=tuple(labels),
        readers=tuple(data.readers),
        n_diseased=int(data.truth.sum()),
        n_nondiseased=int((~data.truth).sum()),
        auc=auc,
        covariance=cov,
        mean_squares=mean_squares,
        components=components,
        rrrc=rrrc,
        frrc=frrc,
        rrfc=rrfc,
        alpha=alpha,
        endpoint=endpoint,
    )


def mrmc(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    scale: tuple[float, float] | None = DEFAULT_SCALE,
    alpha: float = 0.05,
    endpoint: str = "auc",
) -> MrmcResult:
    """Check a tidy table of reads and run the OR MRMC analysis on it.

    Args:
        reads: table with columns reader, arm, case, truth, rating
            (see `study.analysis.table`).
        arms: the two arms, first minus second; default the two present in
            sorted order (for arms ``"aided"``/``"none"`` that is aided minus none).
        scale: inclusive rating bounds (default 0-100), or None for any finite rating.
        endpoint: ``"auc"`` of the ratings (default), or ``"sensitivity"`` / ``"specificity"``
            of the readers' binary calls: the ``call`` column (0/1) is analysed instead.
        alpha: significance level.

    Returns:
        The `MrmcResult`.

    Example:
        >>> from study.analysis.simulated_readers import simulate_study
        >>> result = mrmc(simulate_study(seed=1).reads, arms=("aided", "none"))
        >>> result.rrrc.difference.estimate > 0
        True
    """
    if endpoint != "auc":
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}.")
        require_columns(reads, ["call"], f"An MRMC analysis of {endpoint}")
        reads, scale = reads.assign(rating=binary_column(reads, "call").astype(float)), (0.0, 1.0)
    return or_analysis(mrmc_data(reads, arms=arms, scale=scale), alpha=alpha,
                       endpoint=endpoint)
