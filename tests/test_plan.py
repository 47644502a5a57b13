"""Study planner against RJafroc's stored outputs (Hillis, Obuchowski & Berbaum 2011).

References (GitHub dpc10ster/RJafroc, commit 44b0e39e, tests/testthat/test-SsSampleSizeRoc.R
and the fixtures it reads, tests/testthat/goodValues361/SsPower/*.rds, read here with full
precision):

- dataset02 (= Van Dyke, our tests/data/mrmc/vandyke_1993.csv), effect -0.043800322, J = 10:
  RRRC K = 165: power 0.805419947001519, ncp 8.209597032753834, ddf 62.707279714956684;
  FRRC K = 131: power 0.80091813050382, ncp 7.8672724738442215;
  RRFC K = 53: power 0.8049666336825623, ncp 10.048716395627425, ddf 9.
- dataset02, observed effect, J = 6, K = 111: RRRC power 0.5526116 (RJafroc tolerance 5e-8);
  SsSampleSizeKGivenJ(J = 6): K = 251; SsPowerTable: J = 6, K = 251, power 0.801.
- dataset03 (Franken et al., 100 cases), OR components from the fixture
  UtilOutputReport/dataset03-OR-Wilcoxon.rds; SsSampleSizeKGivenJ(effect 0.05, J = 6):
  K = 121, power 0.800446895987886.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from study.__main__ import main
from study.analysis import mrmc
from study.analysis.power import (
    VANDYKE_COMPONENTS,
    PlanComponents,
    cases_for_power,
    components_from_pilot,
    power_given_jk,
    power_grid,
)

VANDYKE = Path(__file__).parent / "data" / "mrmc" / "vandyke_1993.csv"
EFFECT = -0.043800322


@pytest.fixture(scope="module")
def pilot() -> PlanComponents:
    return components_from_pilot(mrmc(pd.read_csv(VANDYKE).rename(columns={"modality": "arm"})))


STORED = [
    ("RRRC", 165, 0.805419947001519, 8.209597032753834, 62.707279714956684),
    ("FRRC", 131, 0.80091813050382, 7.8672724738442215, math.inf),
    ("RRFC", 53, 0.8049666336825623, 10.048716395627425, 9.0),
]


@pytest.mark.parametrize("analysis, cases, power, ncp, ddf", STORED, ids=[s[0] for s in STORED])
def test_power_matches_rjafroc_stored_values(pilot: PlanComponents, analysis: str, cases: int,
                                             power: float, ncp: float, ddf: float) -> None:
    result = power_given_jk(pilot, effect=EFFECT, readers=10, cases=cases, analysis=analysis)
    assert result.power == pytest.approx(power, abs=1e-9)
    assert result.ncp == pytest.approx(ncp, abs=1e-8)
    assert result.ddf == pytest.approx(ddf, abs=1e-8)


def test_power_with_observed_effect(pilot: PlanComponents) -> None:
    observed = mrmc(pd.read_csv(VANDYKE).rename(columns={"modality": "arm"})).difference
    assert power_given_jk(pilot, effect=observed, readers=6, cases=111).power == pytest.approx(
        0.5526116, abs=5e-8)


def test_sample_size_matches_rjafroc(pilot: PlanComponents) -> None:
    observed = mrmc(pd.read_csv(VANDYKE).rename(columns={"modality": "arm"})).difference
    result = cases_for_power(pilot, effect=observed, readers=6, power=0.8)
    assert result.cases == 251
    assert round(result.power, 3) == 0.801


def test_sample_size_from_published_components_franken() -> None:
    franken = PlanComponents(var_tr=-0.0006838914609989, cov1=0.0007916821469505,
                             cov2=0.0004836376726812, cov3=0.0005125091474260,
                             var_error=0.0015257762493345, k_star=100)
    result = cases_for_power(franken, effect=0.05, readers=6, power=0.8)
    assert result.cases == 121
    assert result.power == pytest.approx(0.800446895987886, abs=1e-9)


def test_sign_of_the_effect_does_not_matter(pilot: PlanComponents) -> None:
    a = power_given_jk(pilot, effect=0.05, readers=5, cases=100)
    b = power_given_jk(pilot, effect=-0.05, readers=5, cases=100)
    assert a == b


def test_power_grows_with_readers_and_cases() -> None:
    grid = power_grid(VANDYKE_COMPONENTS, effect=0.05, readers=[3, 6, 10], cases=[50, 100, 200])
    assert grid.shape == (3, 3)
    assert (grid[1:] > grid[:-1]).all() and (grid[:, 1:] > grid[:, :-1]).all()


def test_unreachable_power_gives_no_case_count() -> None:
    # RRFC with a large reader variance never reaches 0.99 with 2 readers, whatever K.
    wide = PlanComponents(0.01, 0.0003, 0.0003, 0.0002, 0.0008, 100)
    result = cases_for_power(wide, effect=0.02, readers=2, power=0.99, analysis="RRFC")
    assert result.cases is None


@pytest.mark.parametrize("kwargs, message", [
    ({"effect": 0.0, "readers": 5, "cases": 100}, "non-zero AUC difference"),
    ({"effect": 0.05, "readers": 1, "cases": 100}, "at least 2 readers"),
    ({"effect": 0.05, "readers": 5, "cases": 1}, "at least 2 cases"),
    ({"effect": 0.05, "readers": 5, "cases": 100, "alpha": 1.5}, "alpha must lie"),
])
def test_bad_plan_inputs_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        power_given_jk(VANDYKE_COMPONENTS, **kwargs)


def test_components_without_error_variance_are_refused() -> None:
    flat = PlanComponents(0.0, 0.001, 0.001, 0.001, 0.001, 100)
    with pytest.raises(ValueError, match="no positive error variance"):
        power_given_jk(flat, effect=0.05, readers=5, cases=100)


def test_cli_plan_power_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(VANDYKE), "--effect", str(EFFECT), "--readers", "10",
                 "--cases", "165", "--scale", "1", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"rrrc", "frrc", "rrfc"}
    assert {"power", "cases", "ncp", "ddf"} <= set(out["rrrc"])
    assert out["rrrc"]["power"] == pytest.approx(0.805419947001519, abs=1e-9)
    assert out["rrrc"]["cases"] == 165
    assert out["frrc"]["ddf"] is None


def test_cli_plan_cases_for_power(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(VANDYKE), "--effect", "-0.0438003221", "--readers", "6",
                 "--power", "0.8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rrrc"]["cases"] == 251
    assert main(["plan", str(VANDYKE), "--effect", "0.05", "--readers", "6", "--power", "0.8"]) == 0
    assert "RRRC  power" in capsys.readouterr().out


def test_cli_plan_bad_input_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(VANDYKE), "--effect", "0", "--readers", "6", "--cases", "50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The effect size must be") and err.count("\n") == 1
