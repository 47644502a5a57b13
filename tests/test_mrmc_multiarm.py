"""Multi-arm OR analysis against OR-DBM MRMC 2.51 on the five-arm Zanca data.

Reference: the Iowa program's output for the same ratings (see tests/data/mrmc/README.md):
global tests and every pairwise difference with the error term pooled over all five
arms. Printed values are compared to half a unit in their last printed digit (1e-8
for 8-decimal numbers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from study.__main__ import main
from study.analysis.mrmc import MrmcResult, mrmc

DATA = Path(__file__).parent / "data" / "mrmc"
WIDE = DATA / "zanca_fedroc_wide.csv"
REFERENCE = DATA / "zanca_fedroc_iowa_reference.csv"


def _long(wide: pd.DataFrame) -> pd.DataFrame:
    long = wide.melt(id_vars=["case", "truth"], var_name="cell", value_name="rating")
    parts = long["cell"].str.extract(r"r(?P<reader>\d)_m(?P<arm>\d)").astype(int)
    return pd.concat([parts, long[["case", "truth", "rating"]]], axis=1)


@pytest.fixture(scope="module")
def reads() -> pd.DataFrame:
    return _long(pd.read_csv(WIDE))


@pytest.fixture(scope="module")
def result(reads: pd.DataFrame) -> MrmcResult:
    return mrmc(reads, scale=(0, 5))


def _half_unit(text: str) -> float:
    decimals = len(text.split(".")[1]) if "." in text else 0
    # 1e-8 floor: the Iowa program's t quantiles differ from scipy's in the 9th digit, which
    # moves one 8-decimal interval bound (0.747067465 printed as 0.74706747).
    return max(0.5 * 10.0 ** -decimals, 1e-8) + 1e-12


def _close(value: float, printed: str) -> bool:
    return abs(value - float(printed)) <= _half_unit(printed)


REF = pd.read_csv(REFERENCE, dtype=str, keep_default_na=False)


def test_reader_by_arm_aucs_match(result: MrmcResult) -> None:
    printed = [[0.90425, 0.86425, 0.81295, 0.90235, 0.84140],
               [0.79820, 0.84470, 0.81635, 0.83150, 0.77300],
               [0.81175, 0.82050, 0.75275, 0.78865, 0.77115],
               [0.86645, 0.87160, 0.85730, 0.87980, 0.84800]]
    np.testing.assert_allclose(result.auc.T, printed, atol=5e-9)


def test_variance_components_and_mean_squares_match(result: MrmcResult) -> None:
    c, ms = result.components, result.mean_squares
    for value, printed in [(ms.ms_t, "0.00189696"), (ms.ms_r, "0.00729418"), (ms.ms_tr, "0.00046221"),
                           (c.var_r, "0.00128372"), (c.var_tr, "-0.00001093"), (c.cov1, "0.00029480"),
                           (c.cov2, "0.00023331"), (c.cov3, "0.00021213"), (c.var_error, "0.00078912")]:
        assert _close(value, printed), (value, printed)


def test_global_tests_match(result: MrmcResult) -> None:
    g = result.rrrc.global_test
    assert (g.ndf, g.statistic_name) == (4, "F")
    assert _close(g.statistic, "3.47") and _close(g.ddf, "16.80") and _close(g.p, "0.0305")
    assert _close(g.error_term, "0.00054695")
    g = result.frrc.global_test
    assert (g.ndf, g.statistic_name) == (4, "chi2")
    assert _close(g.statistic, "13.60126") and _close(g.p, "0.0087")
    g = result.rrfc.global_test
    assert (g.ndf, g.ddf) == (4, 12)
    assert _close(g.statistic, "4.10") and _close(g.p, "0.0253")


PAIRS = REF[REF["analysis"].isin(["RRRC", "FRRC", "RRFC"])].to_dict("records")


@pytest.mark.parametrize("row", PAIRS, ids=[f"{r['analysis']}-{r['a']}-{r['b']}" for r in PAIRS])
def test_pairwise_table_matches(result: MrmcResult, row: dict[str, str]) -> None:
    analysis = getattr(result, row["analysis"].lower())
    test = next(t for t in analysis.pairwise if t.arms == (int(row["a"]), int(row["b"])))
    for name in ("difference", "se", "t", "p", "ci_low", "ci_high"):
        value = test.estimate if name == "difference" else getattr(test, name)
        assert _close(value, row[name]), (name, value, row[name])
    if row["df"]:
        assert _close(test.df, row["df"])


READERS = REF[REF["analysis"] == "FRRC_reader"].to_dict("records")


@pytest.mark.parametrize("row", READERS, ids=[f"r{r['reader']}-{r['a']}-{r['b']}" for r in READERS])
def test_single_reader_differences_match(result: MrmcResult, row: dict[str, str]) -> None:
    test = next(r for r in result.frrc.readers
                if r.reader == int(row["reader"]) and r.arms == (int(row["a"]), int(row["b"])))
    for name, value in (("difference", test.estimate), ("se", test.se), ("t", test.z),
                        ("p", test.p), ("ci_low", test.ci_low), ("ci_high", test.ci_high)):
        assert _close(value, row[name]), (name, value, row[name])


SINGLE = REF[REF["analysis"].str.endswith("_single")].to_dict("records")


@pytest.mark.parametrize("row", SINGLE, ids=[f"{r['analysis']}-{r['a']}" for r in SINGLE])
def test_single_arm_intervals_match(result: MrmcResult, row: dict[str, str]) -> None:
    analysis = getattr(result, row["analysis"].split("_")[0].lower())
    estimate = analysis.arms[int(row["a"]) - 1]
    assert _close(estimate.auc, row["difference"])
    assert _close(estimate.se, row["se"])
    assert _close(estimate.ci_low, row["ci_low"]) and _close(estimate.ci_high, row["ci_high"])
    if row["df"]:
        assert _close(estimate.df, row["df"])


def test_the_whole_reference_table_was_checked() -> None:
    assert (len(PAIRS), len(READERS), len(SINGLE)) == (30, 40, 15)


def test_pairwise_is_not_the_two_arm_analysis(reads: pd.DataFrame, result: MrmcResult) -> None:
    # The point of the pooled error term: analysing one pair on its own data gives other numbers.
    alone = mrmc(reads[reads["arm"].isin([1, 3])], scale=(0, 5))
    pooled = next(t for t in result.rrrc.pairwise if t.arms == (1, 3))
    assert alone.difference == pytest.approx(pooled.estimate)
    assert abs(alone.rrrc.difference.df - pooled.df) > 1


def test_two_arms_keep_one_pair_with_the_global_statistic(reads: pd.DataFrame) -> None:
    two = mrmc(reads[reads["arm"].isin([2, 4])], scale=(0, 5))
    assert len(two.rrrc.pairwise) == 1
    assert two.rrrc.difference.statistic == pytest.approx(two.rrrc.global_test.statistic)
    assert two.rrrc.difference.p == pytest.approx(two.rrrc.global_test.p)


def test_cli_json_has_global_and_pairwise(tmp_path: Path, reads: pd.DataFrame,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "zanca.csv"
    reads.to_csv(path, index=False)
    assert main(["mrmc", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"auc_by_modality", "rrrc", "frrc", "rrfc", "global", "pairwise"} <= set(out)
    assert set(out["global"]["rrrc"]) >= {"F", "ndf", "ddf", "p"}
    assert out["global"]["rrrc"]["ddf"] == pytest.approx(16.80, abs=0.005)
    assert out["global"]["frrc"]["ddf"] is None
    assert len(out["pairwise"]) == 10
    first = out["pairwise"][1]
    assert first["modalities"] == [1, 3]
    assert set(first["rrrc"]) == {"estimate", "se", "df", "p", "ci_low", "ci_high"}
    assert first["rrrc"]["p"] == pytest.approx(0.0477, abs=5e-5)
    assert first["frrc"]["df"] is None and first["rrfc"]["df"] == 12


def test_cli_text_report_lists_every_pair(tmp_path: Path, reads: pd.DataFrame,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "zanca.csv"
    reads.to_csv(path, index=False)
    assert main(["mrmc", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Global test" in out
    assert "4 - 5" in out and "1 - 2" in out
