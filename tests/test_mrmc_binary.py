"""MRMC (OR) of sensitivity and specificity against MRMCaov's printed output.

Reference: MRMCaov (Smith & Hillis) manuscript, GitHub brian-j-smith/MRMCaov,
docs/jss/MRMCaov.tex (commit d79e49bc): ``VanDyke$binary_rating <- VanDyke$rating >= 3``;
``mrmc(binary_sens(truth, binary_rating), treatment, reader, case, data = VanDyke)``, jackknife
covariances, random readers and cases. Printed to 7-10 significant digits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from study.__main__ import main
from study.analysis import ReadTableError, mrmc
from study.analysis.mrmc import MrmcResult

VANDYKE = Path(__file__).parent / "data" / "mrmc" / "vandyke_1993.csv"


@pytest.fixture(scope="module")
def reads() -> pd.DataFrame:
    data = pd.read_csv(VANDYKE).rename(columns={"modality": "arm"})
    return data.assign(call=(data["rating"] >= 3).astype(int))


@pytest.fixture(scope="module")
def sens(reads: pd.DataFrame) -> MrmcResult:
    return mrmc(reads, endpoint="sensitivity")


def test_sensitivity_per_reader_matches(sens: MrmcResult) -> None:
    printed = [[0.889, 0.778, 0.822, 0.933, 0.689], [0.978, 0.822, 0.911, 1.0, 0.889]]
    assert sens.auc.round(3).tolist() == printed


def test_sensitivity_components_match(sens: MrmcResult) -> None:
    c, ms = sens.components, sens.mean_squares
    assert ms.ms_t == pytest.approx(0.0239012, abs=5e-8)
    assert ms.ms_r == pytest.approx(0.0124198, abs=5e-8)
    assert ms.ms_tr == pytest.approx(0.0018025, abs=5e-8)
    for value, printed in ((c.var_error, 0.0023681257), (c.cov1, 0.0009943883), (c.cov2, 0.0010145903),
                           (c.cov3, 0.0006604938), (c.var_r, 0.0049747475), (c.var_tr, 0.0007828283)):
        assert value == pytest.approx(printed, abs=5e-11)


def test_sensitivity_rrrc_tests_match(sens: MrmcResult) -> None:
    g = sens.rrrc.global_test
    assert g.error_term == pytest.approx(0.003572952, abs=5e-10)
    assert g.statistic == pytest.approx(6.689493, abs=5e-7)
    assert g.ddf == pytest.approx(15.71732, abs=5e-6)
    assert g.p == pytest.approx(0.02008822, abs=5e-9)
    d = sens.rrrc.difference
    assert d.estimate == pytest.approx(-0.09777778, abs=5e-9)
    assert d.se == pytest.approx(0.03780451, abs=5e-9)
    assert (d.ci_low, d.ci_high) == pytest.approx((-0.1780371, -0.0175185), abs=5e-8)
    assert d.t == pytest.approx(-2.586405, abs=5e-7)


def test_sensitivity_single_arm_intervals_match_and_are_clipped(sens: MrmcResult) -> None:
    one, two = sens.rrrc.arms
    assert (one.auc, one.se, one.df) == pytest.approx((0.8222222, 0.05893747, 14.456811), abs=5e-7)
    assert (one.ci_low, one.ci_high) == pytest.approx((0.6961876, 0.9482568), abs=5e-8)
    assert (two.auc, two.se, two.df) == pytest.approx((0.92, 0.03741657, 7.575855), abs=5e-7)
    assert two.ci_low == pytest.approx(0.8328691, abs=5e-8)
    assert two.ci_high == 1.0  # MRMCaov prints 1.0000000 too: the interval is clipped


def test_specificity_is_sensitivity_with_classes_swapped(reads: pd.DataFrame) -> None:
    spec = mrmc(reads, endpoint="specificity")
    swapped = reads.assign(truth=1 - reads["truth"], call=1 - reads["call"])
    mirror = mrmc(swapped, endpoint="sensitivity")
    assert spec.auc.ravel().tolist() == pytest.approx(mirror.auc.ravel().tolist())
    assert spec.rrrc.difference.p == pytest.approx(mirror.rrrc.difference.p)
    assert spec.endpoint == "specificity" and spec.to_dict()["endpoint"] == "specificity"


def test_binary_endpoint_needs_the_call_column(reads: pd.DataFrame) -> None:
    with pytest.raises(ReadTableError, match=r"needs the column\(s\) call"):
        mrmc(reads.drop(columns="call"), endpoint="sensitivity")


def test_cli_endpoint_option(tmp_path: Path, reads: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "binary.csv"
    reads.to_csv(path, index=False)
    assert main(["mrmc", str(path), "--json", "--endpoint", "sensitivity"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["endpoint"] == "sensitivity"
    assert out["rrrc"]["p"] == pytest.approx(0.02008822, abs=5e-9)
