"""MRMC (Obuchowski-Rockette) analysis: AUC building blocks, the Van Dyke validation against
the published Iowa OR-DBM MRMC and RJafroc results, degenerate inputs, the simulated study,
the export round trip and the ``python -m study mrmc`` command."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from study.__main__ import main
from study.analysis import (
    ReadTableError,
    SimulationSettings,
    auc_from_scores,
    delong_variance,
    empirical_auc,
    jackknife_aucs,
    mrmc,
    read_imrmc,
    read_long_csv,
    simulate_study,
    to_long_format,
    write_imrmc,
    write_long_csv,
)
from study.analysis.export import LONG_COLUMNS, to_imrmc_text
from study.analysis.mrmc import MrmcResult

ROOT = Path(__file__).resolve().parents[1]
VANDYKE = ROOT / "tests" / "data" / "mrmc" / "vandyke_1993.csv"


@pytest.fixture(scope="module")
def vandyke() -> pd.DataFrame:
    return pd.read_csv(VANDYKE).rename(columns={"modality": "arm"})  # the file uses the reference programs' word


@pytest.fixture(scope="module")
def result(vandyke: pd.DataFrame) -> MrmcResult:
    return mrmc(vandyke)


# --------------------------------------------------------------------------- AUC building blocks


def _brute_psi(neg: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """psi[i, j] = 1 if pos[j] > neg[i], 1/2 if equal, else 0 (the Mann-Whitney kernel)."""
    return (pos[None, :] > neg[:, None]) + 0.5 * (pos[None, :] == neg[:, None])


@pytest.mark.parametrize("m, n", [(2, 2), (7, 3), (30, 45)])
def test_empirical_auc_equals_mann_whitney_with_ties(m: int, n: int) -> None:
    rng = np.random.default_rng(m * 100 + n)
    neg = rng.integers(1, 6, size=(2, 3, m)).astype(float)  # 5-point scale: many ties
    pos = rng.integers(2, 7, size=(2, 3, n)).astype(float)
    auc = empirical_auc(neg, pos)
    assert auc.shape == (2, 3)
    for t in range(2):
        for r in range(3):
            assert auc[t, r] == pytest.approx(_brute_psi(neg[t, r], pos[t, r]).mean(), abs=1e-15)


def test_auc_matches_scipy_mann_whitney_u() -> None:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 200).astype(bool)
    scores = np.round(rng.normal(truth, 1.0), 1)  # rounding makes ties
    u = stats.mannwhitneyu(scores[truth], scores[~truth]).statistic
    assert auc_from_scores(truth, scores) == pytest.approx(u / (truth.sum() * (~truth).sum()))


def test_auc_from_scores_is_nan_without_one_class() -> None:
    assert np.isnan(auc_from_scores([1, 1, 1], [0.2, 0.4, 0.9]))


def test_jackknife_aucs_equal_explicit_leave_one_out() -> None:
    rng = np.random.default_rng(11)
    neg, pos = rng.integers(1, 6, 9).astype(float), rng.integers(2, 7, 6).astype(float)
    pseudo = jackknife_aucs(neg, pos)
    explicit = [empirical_auc(np.delete(neg, i), pos) for i in range(len(neg))]
    explicit += [empirical_auc(neg, np.delete(pos, j)) for j in range(len(pos))]
    np.testing.assert_allclose(pseudo, explicit, rtol=0, atol=1e-14)


def test_delong_variance_equals_its_definition() -> None:
    rng = np.random.default_rng(3)
    neg, pos = rng.normal(0, 1, 12), rng.normal(1, 1, 8)
    psi = _brute_psi(neg, pos)
    v10, v01 = psi.mean(axis=0), psi.mean(axis=1)  # per diseased / per non-diseased case
    expected = v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)
    assert delong_variance(neg, pos) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("neg, pos", [([1.0], [2.0, 3.0]), ([1.0, 2.0], [3.0])])
def test_jackknife_needs_two_cases_per_class(neg: list[float], pos: list[float]) -> None:
    with pytest.raises(ValueError, match="at least two diseased and two non-diseased"):
        jackknife_aucs(neg, pos)


# --------------------------------------------------------------------------- Van Dyke validation

Getter = Callable[[MrmcResult], float]


def _auc(t: int, r: int) -> Getter:
    return lambda res: res.auc[t, r]


def _mod(analysis: str, i: int, field: str) -> Getter:
    return lambda res: getattr(getattr(res, analysis).arms[i], field)


def _diff(analysis: str, field: str) -> Getter:
    return lambda res: getattr(getattr(res, analysis).difference, field)


def _reader(j: int, field: str) -> Getter:
    return lambda res: getattr(res.frrc.readers[j], field)


def _comp(field: str) -> Getter:
    return lambda res: getattr(res.components, field)


def _ms(field: str) -> Getter:
    return lambda res: getattr(res.mean_squares, field)


# Source A: OR-DBM MRMC 2.51 output "VanDyke trap area jackknife anova.txt" (Schartz, Hillis,
# Pesce, Berbaum; copy in GitHub dpc10ster/RJafroc inst/Iowa/VanDyke.txt), as quoted in
# ../shared/data/mrmc/README.md. Compared to half a unit of the last printed digit.
SOURCE_A: list[tuple[str, Getter, str]] = [
    *[(f"auc r{r + 1} m{t + 1}", _auc(t, r), v) for (t, r), v in {
        (0, 0): "0.91964573", (1, 0): "0.94782609",
        (0, 1): "0.85877617", (1, 1): "0.90531401",
        (0, 2): "0.90386473", (1, 2): "0.92173913",
        (0, 3): "0.97310789", (1, 3): "0.99935588",
        (0, 4): "0.82979066", (1, 4): "0.92995169",
    }.items()],
    ("mean m1", lambda res: res.mean_auc[0], "0.89703704"),
    ("mean m2", lambda res: res.mean_auc[1], "0.94083736"),
    ("difference", lambda res: res.difference, "-0.04380032"),
    ("MS(T)", _ms("ms_t"), "0.00479617"),
    ("MS(R)", _ms("ms_r"), "0.00383620"),
    ("MS(T*R)", _ms("ms_tr"), "0.00055103"),
    ("df T", _ms("df_t"), "1"),
    ("df R", _ms("df_r"), "4"),
    ("df T*R", _ms("df_tr"), "4"),
    ("MS(R) m1", lambda res: res.mean_squares.ms_r_by_arm[0], "0.00308263"),
    ("MS(R) m2", lambda res: res.mean_squares.ms_r_by_arm[1], "0.00130460"),
    ("Var(R)", _comp("var_r"), "0.00153500"),
    ("Var(T*R)", _comp("var_tr"), "0.00020040"),
    ("Cov1", _comp("cov1"), "0.00034661"),
    ("Cov2", _comp("cov2"), "0.00034407"),
    ("Cov3", _comp("cov3"), "0.00023903"),
    ("corr1", _comp("corr1"), "0.43203138"),
    ("corr2", _comp("corr2"), "0.42886683"),
    ("corr3", _comp("corr3"), "0.29793328"),
    ("Var(Error)", _comp("var_error"), "0.00080229"),
    # RRRC
    ("RRRC F", _diff("rrrc", "statistic"), "4.46"),
    ("RRRC ndf", _diff("rrrc", "ndf"), "1"),
    ("RRRC ddf", _diff("rrrc", "df"), "15.26"),
    ("RRRC p", _diff("rrrc", "p"), "0.0517"),
    ("RRRC error term", _diff("rrrc", "error_term"), "0.00107626"),
    ("RRRC difference", _diff("rrrc", "estimate"), "-0.04380"),
    ("RRRC SE", _diff("rrrc", "se"), "0.02075"),
    ("RRRC t", _diff("rrrc", "t"), "-2.11"),
    ("RRRC CI low", _diff("rrrc", "ci_low"), "-0.08796"),
    ("RRRC CI high", _diff("rrrc", "ci_high"), "0.00036"),
    ("RRRC m1 AUC", _mod("rrrc", 0, "auc"), "0.89703704"),
    ("RRRC m1 SE", _mod("rrrc", 0, "se"), "0.03317360"),
    ("RRRC m1 df", _mod("rrrc", 0, "df"), "12.74"),
    ("RRRC m1 CI low", _mod("rrrc", 0, "ci_low"), "0.82522360"),
    ("RRRC m1 CI high", _mod("rrrc", 0, "ci_high"), "0.96885048"),
    ("RRRC m1 Cov2", _mod("rrrc", 0, "cov2"), "0.00048396"),
    ("RRRC m2 AUC", _mod("rrrc", 1, "auc"), "0.94083736"),
    ("RRRC m2 SE", _mod("rrrc", 1, "se"), "0.02156637"),
    ("RRRC m2 df", _mod("rrrc", 1, "df"), "12.71"),
    ("RRRC m2 CI low", _mod("rrrc", 1, "ci_low"), "0.89413783"),
    ("RRRC m2 CI high", _mod("rrrc", 1, "ci_high"), "0.98753689"),
    ("RRRC m2 Cov2", _mod("rrrc", 1, "cov2"), "0.00020419"),
    # FRRC
    ("FRRC X2", _diff("frrc", "statistic"), "5.47595"),
    ("FRRC df", _diff("frrc", "df"), "1"),
    ("FRRC p", _diff("frrc", "p"), "0.0193"),
    ("FRRC difference", _diff("frrc", "estimate"), "-0.04380"),
    ("FRRC SE", _diff("frrc", "se"), "0.01872"),
    ("FRRC z", _diff("frrc", "t"), "-2.34"),
    ("FRRC CI low", _diff("frrc", "ci_low"), "-0.08049"),
    ("FRRC CI high", _diff("frrc", "ci_high"), "-0.00711"),
    ("FRRC m1 SE", _mod("frrc", 0, "se"), "0.02428971"),
    ("FRRC m1 CI low", _mod("frrc", 0, "ci_low"), "0.84943008"),
    ("FRRC m1 CI high", _mod("frrc", 0, "ci_high"), "0.94464399"),
    ("FRRC m1 Var(Error)", _mod("frrc", 0, "var_error"), "0.00101410"),
    ("FRRC m1 Cov2", _mod("frrc", 0, "cov2"), "0.00048396"),
    ("FRRC m2 SE", _mod("frrc", 1, "se"), "0.01677632"),
    ("FRRC m2 CI low", _mod("frrc", 1, "ci_low"), "0.90795637"),
    ("FRRC m2 CI high", _mod("frrc", 1, "ci_high"), "0.97371835"),
    ("FRRC m2 Var(Error)", _mod("frrc", 1, "var_error"), "0.00059047"),
    ("FRRC m2 Cov2", _mod("frrc", 1, "cov2"), "0.00020419"),
    *[
        (f"FRRC reader {j + 1} {field}", _reader(j, field), value)
        for j, row in enumerate([
            ("-0.02818", "0.02551", "-1.10", "0.2693", "-0.07818", "0.02182", "0.00069890", "0.00037347"),
            ("-0.04654", "0.02630", "-1.77", "0.0768", "-0.09809", "0.00501", "0.00110605", "0.00076016"),
            ("-0.01787", "0.03121", "-0.57", "0.5668", "-0.07904", "0.04330", "0.00084234", "0.00035532"),
            ("-0.02625", "0.01729", "-1.52", "0.1290", "-0.06014", "0.00764", "0.00015058", "0.00000108"),
            ("-0.10016", "0.04406", "-2.27", "0.0230", "-0.18651", "-0.01381", "0.00121357", "0.00024304"),
        ])
        for field, value in zip(
            ("estimate", "se", "z", "p", "ci_low", "ci_high", "var_error", "cov1"), row
        )
    ],
    # RRFC
    ("RRFC F", _diff("rrfc", "statistic"), "8.70"),
    ("RRFC ndf", _diff("rrfc", "ndf"), "1"),
    ("RRFC ddf", _diff("rrfc", "df"), "4"),
    ("RRFC p", _diff("rrfc", "p"), "0.0420"),
    ("RRFC difference", _diff("rrfc", "estimate"), "-0.04380"),
    ("RRFC SE", _diff("rrfc", "se"), "0.01485"),
    ("RRFC t", _diff("rrfc", "t"), "-2.95"),
    ("RRFC CI low", _diff("rrfc", "ci_low"), "-0.08502"),
    ("RRFC CI high", _diff("rrfc", "ci_high"), "-0.00258"),
    ("RRFC m1 SE", _mod("rrfc", 0, "se"), "0.02482994"),
    ("RRFC m1 df", _mod("rrfc", 0, "df"), "4"),
    ("RRFC m1 CI low", _mod("rrfc", 0, "ci_low"), "0.82809808"),
    ("RRFC m1 CI high", _mod("rrfc", 0, "ci_high"), "0.96597599"),
    ("RRFC m2 SE", _mod("rrfc", 1, "se"), "0.01615303"),
    ("RRFC m2 df", _mod("rrfc", 1, "df"), "4"),
    ("RRFC m2 CI low", _mod("rrfc", 1, "ci_low"), "0.89598936"),
    ("RRFC m2 CI high", _mod("rrfc", 1, "ci_high"), "0.98568536"),
]

# Source B: RJafroc 2.1.3 test fixture tests/testthat/goodValues361/UtilOutputReport/
# dataset02-OR-Wilcoxon.rds (StSignificanceTesting(dataset02, FOM = "Wilcoxon", method = "OR")),
# full precision, as quoted in ../shared/data/mrmc/README.md. Compared to 1e-8 absolute.
SOURCE_B: list[tuple[str, Getter, str]] = [
    ("mean m1", lambda res: res.mean_auc[0], "0.8970370370"),
    ("mean m2", lambda res: res.mean_auc[1], "0.9408373591"),
    ("difference", lambda res: res.difference, "-0.0438003221"),
    ("MS(T)", _ms("ms_t"), "0.0047961705"),
    ("MS(R)", _ms("ms_r"), "0.0038362000"),
    ("MS(TR)", _ms("ms_tr"), "0.0005510306"),
    ("VarR", _comp("var_r"), "0.0015349993"),
    ("VarTR", _comp("var_tr"), "0.0002004025"),
    ("Cov1", _comp("cov1"), "0.0003466137"),
    ("Cov2", _comp("cov2"), "0.0003440748"),
    ("Cov3", _comp("cov3"), "0.0002390284"),
    ("Var", _comp("var_error"), "0.0008022883"),
    ("RRRC F", _diff("rrrc", "statistic"), "4.4563186932"),
    ("RRRC ndf", _diff("rrrc", "ndf"), "1"),
    ("RRRC ddf", _diff("rrrc", "df"), "15.2596745891"),
    ("RRRC p", _diff("rrrc", "p"), "0.0516656858"),
    ("RRRC error MS", _diff("rrrc", "error_term"), "0.0010762629"),
    ("RRRC SE", _diff("rrrc", "se"), "0.0207486184"),
    ("RRRC t", _diff("rrrc", "t"), "-2.1109994536"),
    ("RRRC CI low", _diff("rrrc", "ci_low"), "-0.0879594986"),
    ("RRRC CI high", _diff("rrrc", "ci_high"), "0.0003588544"),
    ("RRRC m1 SE", _mod("rrrc", 0, "se"), "0.0331735970"),
    ("RRRC m2 SE", _mod("rrrc", 1, "se"), "0.0215663684"),
    ("RRRC m1 df", _mod("rrrc", 0, "df"), "12.7446475981"),
    ("RRRC m2 df", _mod("rrrc", 1, "df"), "12.7101896416"),
    ("RRRC m1 CI low", _mod("rrrc", 0, "ci_low"), "0.8252235975"),
    ("RRRC m1 CI high", _mod("rrrc", 0, "ci_high"), "0.9688504765"),
    ("RRRC m2 CI low", _mod("rrrc", 1, "ci_low"), "0.8941378312"),
    ("RRRC m2 CI high", _mod("rrrc", 1, "ci_high"), "0.9875368870"),
    ("FRRC chi-square", _diff("frrc", "statistic"), "5.4759532425"),
    ("FRRC df", _diff("frrc", "df"), "1"),
    ("FRRC p", _diff("frrc", "p"), "0.0192798431"),
    ("FRRC error", _diff("frrc", "error_term"), "0.0008758604"),
    ("FRRC SE", _diff("frrc", "se"), "0.0187174826"),
    ("FRRC z", _diff("frrc", "t"), "-2.3400754779"),
    ("FRRC CI low", _diff("frrc", "ci_low"), "-0.0804859139"),
    ("FRRC CI high", _diff("frrc", "ci_high"), "-0.0071147303"),
    ("FRRC m1 SE", _mod("frrc", 0, "se"), "0.0242897097"),
    ("FRRC m2 SE", _mod("frrc", 1, "se"), "0.0167763237"),
    ("RRFC F", _diff("rrfc", "statistic"), "8.704"),
    ("RRFC ndf", _diff("rrfc", "ndf"), "1"),
    ("RRFC ddf", _diff("rrfc", "df"), "4"),
    ("RRFC p", _diff("rrfc", "p"), "0.0419587525"),
    ("RRFC SE", _diff("rrfc", "se"), "0.0148462874"),
    ("RRFC t", _diff("rrfc", "t"), "-2.9502542263"),
    ("RRFC CI low", _diff("rrfc", "ci_low"), "-0.085020224"),
    ("RRFC CI high", _diff("rrfc", "ci_high"), "-0.0025804202"),
    ("RRFC m1 SE", _mod("rrfc", 0, "se"), "0.0248299362"),
    ("RRFC m2 SE", _mod("rrfc", 1, "se"), "0.0161530304"),
]


def _half_last_digit(printed: str) -> float:
    exponent = Decimal(printed).as_tuple().exponent
    return 0.5 * 10.0 ** int(exponent)


@pytest.mark.parametrize(
    "getter, printed", [pytest.param(g, v, id=name) for name, g, v in SOURCE_A]
)
def test_vandyke_matches_iowa_or_dbm_mrmc(result: MrmcResult, getter: Getter, printed: str) -> None:
    # "+ 1e-12": a value printed as 0.0517 may be 0.05165 exactly at the rounding edge.
    assert abs(float(getter(result)) - float(printed)) <= _half_last_digit(printed) + 1e-12


@pytest.mark.parametrize(
    "getter, printed", [pytest.param(g, v, id=name) for name, g, v in SOURCE_B]
)
def test_vandyke_matches_rjafroc_full_precision(result: MrmcResult, getter: Getter, printed: str) -> None:
    assert abs(float(getter(result)) - float(printed)) <= 1e-8


def test_arm_order_reverses_the_difference(vandyke: pd.DataFrame, result: MrmcResult) -> None:
    reverse = mrmc(vandyke, arms=(2, 1))
    assert reverse.arms == (2, 1)
    assert reverse.rrrc.difference.estimate == pytest.approx(-result.rrrc.difference.estimate)
    assert reverse.rrrc.difference.p == pytest.approx(result.rrrc.difference.p)
    assert reverse.rrrc.difference.ci_low == pytest.approx(-result.rrrc.difference.ci_high)


def test_result_does_not_depend_on_row_order(vandyke: pd.DataFrame, result: MrmcResult) -> None:
    shuffled = vandyke.sample(frac=1.0, random_state=0)
    again = mrmc(shuffled)
    np.testing.assert_allclose(again.auc, result.auc, rtol=0, atol=1e-15)
    assert again.rrrc.difference.p == pytest.approx(result.rrrc.difference.p, abs=1e-14)


def test_cov2_below_cov3_is_clamped_to_zero() -> None:
    # Readers who are independent of each other but share nothing across arms make
    # Cov2 - Cov3 small and noisy; find a seed where it is negative and check the clamp.
    settings = SimulationSettings(n_readers=4, n_diseased=15, n_nondiseased=15, case_sd=0.0,
                                  reader_case_sd=0.0, noise_sd=1.0, ai_weight=0.0)
    for seed in range(200):
        res = mrmc(simulate_study(settings, seed=seed).reads)
        if res.components.cov2 < res.components.cov3:
            break
    else:
        pytest.fail("no seed gave Cov2 < Cov3")
    r = len(res.readers)
    assert res.rrrc.difference.error_term == pytest.approx(res.mean_squares.ms_tr)
    c = res.components
    assert res.frrc.difference.error_term == pytest.approx(c.var_error - c.cov1)
    assert res.rrrc.difference.se == pytest.approx(np.sqrt(2 / r * res.mean_squares.ms_tr))


# --------------------------------------------------------------------------- degenerate inputs


def _mutate(name: str, reads: pd.DataFrame) -> pd.DataFrame:
    reads = reads.copy()
    if name == "missing column":
        return reads.drop(columns="truth")
    if name == "one arm":
        return reads[reads["arm"] == 1]
    if name == "case in one arm":
        return reads[~((reads["case"] == 7) & (reads["arm"] == 2))]
    if name == "one read missing":
        return reads[~((reads["case"] == 7) & (reads["arm"] == 2) & (reads["reader"] == 3))]
    if name == "duplicate read":
        return pd.concat([reads, reads.iloc[[5]]])
    if name == "non-numeric rating":
        reads["rating"] = reads["rating"].astype(object)
        reads.loc[reads.index[10], "rating"] = "high"
        return reads
    if name == "missing rating":
        reads["rating"] = reads["rating"].astype(float)
        reads.loc[reads.index[10], "rating"] = np.nan
        return reads
    if name == "rating outside scale":
        reads.loc[reads.index[10], "rating"] = 250
        return reads
    if name == "truth not 0/1":
        reads.loc[reads["case"] == 3, "truth"] = 2
        return reads
    if name == "truth varies in a case":
        reads.loc[(reads["case"] == 3) & (reads["reader"] == 2), "truth"] = 1
        return reads
    if name == "no diseased case":
        return reads[reads["truth"] == 0]
    if name == "one non-diseased case":
        return reads[(reads["truth"] == 1) | (reads["case"] == 1)]
    raise AssertionError(name)


DEGENERATE = [
    ("missing column", r"needs the column\(s\) truth"),
    ("one arm", r"only one arm \(1\)"),
    ("case in one arm", r"Case 7 was read only in arm 1"),
    ("one read missing", r"Reader 3 did not read case 7 in arm 2"),
    ("duplicate read", r"more than once"),
    ("non-numeric rating", r"rating 'high' \(reader 1, arm 1, case 11\) is not a finite number"),
    ("missing rating", r"Column rating is empty"),
    ("rating outside scale", r"rating 250 .* is outside the scale 0 to 100"),
    ("truth not 0/1", r"truth 2 .* is not 0 or 1"),
    ("truth varies in a case", r"Case 3 has truth 0 in some reads and 1 in others"),
    ("no diseased case", r"no diseased case"),
    ("one non-diseased case", r"only one non-diseased case"),
]


@pytest.mark.parametrize("name, message", DEGENERATE, ids=[d[0] for d in DEGENERATE])
def test_degenerate_input_gets_a_clear_message(vandyke: pd.DataFrame, name: str, message: str) -> None:
    with pytest.raises(ReadTableError, match=message):
        mrmc(_mutate(name, vandyke))


def test_one_reader_gets_the_fixed_reader_analysis_only(vandyke: pd.DataFrame,
                                                        result: MrmcResult) -> None:
    one = mrmc(vandyke[vandyke["reader"] == 5])
    reader5 = next(r for r in result.frrc.readers if r.reader == 5)
    # FRRC with one reader is that reader's z-test (Iowa single-reader line: SE 0.04406).
    assert one.frrc.difference.se == pytest.approx(reader5.se)
    assert one.frrc.difference.p == pytest.approx(0.0230, abs=5e-5)
    assert math.isnan(one.rrrc.difference.p) and math.isnan(one.rrfc.difference.se)
    assert one.to_dict()["rrrc"]["p"] is None


def test_minus_inf_rating_counts_as_the_lowest(vandyke: pd.DataFrame, result: MrmcResult) -> None:
    lowest = vandyke.assign(rating=vandyke["rating"].where(vandyke["rating"] > 1, -np.inf))
    assert mrmc(lowest).rrrc.difference.p == pytest.approx(result.rrrc.difference.p)
    with pytest.raises(ReadTableError, match="not a finite number"):
        mrmc(vandyke.assign(rating=vandyke["rating"].where(vandyke["rating"] > 1, np.inf)))


def test_scale_none_accepts_any_finite_rating(vandyke: pd.DataFrame, result: MrmcResult) -> None:
    shifted = vandyke.assign(rating=vandyke["rating"] * 1000 - 2500)  # monotone: same AUCs
    assert mrmc(shifted, scale=None).rrrc.difference.p == pytest.approx(result.rrrc.difference.p)


def test_identical_arms_give_no_difference_without_crashing(vandyke: pd.DataFrame) -> None:
    same = vandyke.assign(rating=vandyke.groupby(["reader", "case"])["rating"].transform("first"))
    res = mrmc(same)
    assert res.difference == 0.0
    assert res.rrfc.difference.se == 0.0
    assert res.to_dict()["rrfc"]["statistic"] is None  # 0/0 becomes null, not NaN in JSON


# --------------------------------------------------------------------------- simulated study

AIDED_FIRST = ("aided", "none")


def test_simulated_large_effect_is_recovered() -> None:
    settings = SimulationSettings(ai_weight=1.0)
    covered = 0
    for seed in range(10):
        study = simulate_study(settings, seed=seed)
        test = mrmc(study.reads, arms=AIDED_FIRST).rrrc.difference
        assert test.estimate > 0 and test.p < 0.05, f"seed {seed}: {test}"
        covered += test.ci_low <= study.true_difference <= test.ci_high
    assert study.true_difference > 0.1
    assert covered >= 8  # nominal 95 %: 8 of 10 fails only with probability ~1 %


def test_simulated_zero_effect_is_rarely_significant() -> None:
    settings = SimulationSettings(ai_weight=0.0)
    significant = 0
    for seed in range(20):
        study = simulate_study(settings, seed=seed)
        assert study.true_difference == 0.0
        significant += mrmc(study.reads, arms=AIDED_FIRST).rrrc.difference.p < 0.05
    assert significant <= 3  # expected 1 of 20 at alpha 0.05


def test_simulator_true_auc_matches_empirical_auc_of_a_huge_study() -> None:
    settings = SimulationSettings(n_readers=2, n_diseased=3000, n_nondiseased=3000)
    study = simulate_study(settings, seed=7)
    res = mrmc(study.reads, arms=AIDED_FIRST)
    observed = res.auc_table().merge(study.true_auc, on=["reader", "arm"])
    np.testing.assert_allclose(observed["auc_x"], observed["auc_y"], atol=0.01)


# --------------------------------------------------------------------------- export round trip


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return simulate_study(SimulationSettings(n_readers=4, n_diseased=20, n_nondiseased=25), seed=2).reads


def _same_result(a: MrmcResult, b: MrmcResult) -> None:
    """Same numbers (exactly); the labels may differ (an export keeps integer IDs only)."""
    np.testing.assert_array_equal(a.auc, b.auc)
    for key in ("rrrc", "frrc", "rrfc"):
        differences = [dataclasses.replace(getattr(res, key).difference, arms=())
                       for res in (a, b)]
        assert differences[0] == differences[1]
        unlabelled = [
            [dataclasses.replace(m, arm=None) for m in getattr(res, key).arms]
            for res in (a, b)
        ]
        assert unlabelled[0] == unlabelled[1]


def test_long_csv_round_trip_gives_identical_mrmc(simulated: pd.DataFrame, tmp_path: Path) -> None:
    path = write_long_csv(simulated, tmp_path / "reads.csv")
    assert path.read_text().splitlines()[0] == ",".join(LONG_COLUMNS) + ",reader,modality,case"  # the file keeps the reference programs' word
    back = read_long_csv(path)
    assert mrmc(back).to_dict() == mrmc(simulated).to_dict()
    # RJafroc's format = "MRMC" reads the first five columns by position.
    positional = pd.read_csv(path).iloc[:, :5]
    positional.columns = ["reader", "arm", "case", "truth", "rating"]
    _same_result(mrmc(simulated), mrmc(positional))


def test_long_format_uses_integer_ids_in_sorted_label_order(simulated: pd.DataFrame) -> None:
    long = to_long_format(simulated)
    assert list(long.columns[:5]) == list(LONG_COLUMNS)
    assert all(pd.api.types.is_integer_dtype(long[c]) for c in ("readerID", "modalityID", "caseID"))
    assert dict(zip(long["modality"], long["modalityID"])) == {"aided": 1, "none": 2}


def test_imrmc_round_trip_gives_identical_mrmc(simulated: pd.DataFrame, tmp_path: Path) -> None:
    path = write_imrmc(simulated, tmp_path / "reads.imrmc")
    text = path.read_text().splitlines()
    start = text.index("BEGIN DATA:")
    assert {"NR: 4", "N0: 25", "N1: 20", "NM: 2"} <= set(text[:start])
    truth_rows = [line for line in text[start + 1:] if line.startswith("-1,")]
    assert len(truth_rows) == 45 and all(line.split(",")[2] == "0" for line in truth_rows)
    assert len(text) - start - 1 == 45 + len(simulated)
    _same_result(mrmc(simulated), mrmc(read_imrmc(path)))


def test_imrmc_description_cannot_inject_keywords(simulated: pd.DataFrame) -> None:
    with pytest.raises(ReadTableError, match="must not contain iMRMC keywords"):
        to_imrmc_text(simulated, description="NR: 99")


# --------------------------------------------------------------------------- command line


def _start_cli(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "study", "mrmc", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module", autouse=True)
def cli_runs(tmp_path_factory: pytest.TempPathFactory):
    """Start the two real ``python -m study mrmc`` processes when the module starts.

    Importing pandas and scipy costs each process seconds; started up front they run while
    the in-process tests do, and the CLI tests at the end only collect their output.
    """
    one_arm = tmp_path_factory.mktemp("cli") / "one_arm.csv"
    reads = pd.read_csv(VANDYKE).rename(columns={"modality": "arm"})  # the file uses the reference programs' word
    reads[reads["arm"] == 1].to_csv(one_arm, index=False)
    runs = {"json": _start_cli(str(VANDYKE), "--json"), "error": _start_cli(str(one_arm))}
    yield runs
    for process in runs.values():
        if process.poll() is None:
            process.kill()
        process.communicate()


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_cli_json_on_vandyke(cli_runs: dict[str, subprocess.Popen[str]]) -> None:
    code, stdout, stderr = _finish(cli_runs["json"])
    assert code == 0, stderr
    out = json.loads(stdout)
    assert {"auc_by_modality", "difference", "rrrc", "frrc", "rrfc"} <= set(out)
    assert out["auc_by_modality"] == pytest.approx({"1": 0.8970370370, "2": 0.9408373591}, abs=1e-8)
    assert out["difference"] == pytest.approx(-0.0438003221, abs=1e-8)
    for key in ("rrrc", "frrc", "rrfc"):
        assert {"estimate", "se", "ci_low", "ci_high", "statistic", "df", "p"} <= set(out[key])
    assert out["rrrc"]["df"] == pytest.approx(15.2596745891, abs=1e-8)
    assert out["frrc"]["p"] == pytest.approx(0.0192798431, abs=1e-8)
    assert out["rrfc"]["ci_high"] == pytest.approx(-0.0025804202, abs=1e-8)


def test_cli_error_exits_2_with_one_line(cli_runs: dict[str, subprocess.Popen[str]]) -> None:
    code, stdout, stderr = _finish(cli_runs["error"])
    assert code == 2
    assert stdout == ""
    assert stderr.count("\n") == 1
    assert stderr.startswith("error: The table has only one arm (1)")


def test_cli_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mrmc", str(VANDYKE)]) == 0
    out = capsys.readouterr().out
    assert "Difference 1 - 2: -0.04380" in out
    assert "  1            0.89704  (0.82522, 0.96885)" in out
    for line_start in ("RRRC      -0.04380  0.02075", "FRRC      -0.04380  0.01872",
                       "RRFC      -0.04380  0.01485"):
        assert line_start in out


@pytest.mark.parametrize("option", ["--modalities", "--arms"])
def test_cli_modalities_option_sets_the_order(capsys: pytest.CaptureFixture[str], option: str) -> None:
    assert main(["mrmc", str(VANDYKE), "--json", option, "2", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["difference"] == pytest.approx(0.0438003221, abs=1e-8)


CLI_ERRORS = [
    ("outside", ["--scale", "2", "5"], r"rating 1 .* outside the scale 2 to 5\. Use --scale MIN MAX"),
    ("bad scale", ["--scale", "5", "1"], r"--scale needs MIN < MAX"),
    ("missing file", [], r"There is no file"),
    ("not csv", [], r"is empty"),
]


@pytest.mark.parametrize("name, extra, message", CLI_ERRORS, ids=[c[0] for c in CLI_ERRORS])
def test_cli_input_errors(name: str, extra: list[str], message: str, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    path = {"missing file": tmp_path / "nope.csv", "not csv": tmp_path / "empty.csv"}.get(name, VANDYKE)
    if name == "not csv":
        path.write_text("")
    assert main(["mrmc", str(path), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert re.search(message, captured.err), captured.err


def test_cli_scale_option_accepts_other_scales(tmp_path: Path, vandyke: pd.DataFrame,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "shifted.csv"
    vandyke.assign(rating=vandyke["rating"] - 10).to_csv(path, index=False)  # -9..-5
    assert main(["mrmc", str(path), "--json"]) == 2
    assert "outside the scale 0 to 100" in capsys.readouterr().err
    for option in (["--scale", "-10", "-5"], ["--no-scale"]):
        assert main(["mrmc", str(path), "--json", *option]) == 0
        p = json.loads(capsys.readouterr().out)["rrrc"]["p"]
        assert p == pytest.approx(0.0516656858, abs=1e-8)
