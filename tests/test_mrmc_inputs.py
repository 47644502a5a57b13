"""The ``mrmc`` command reads what people actually feed it: its own export, text case IDs,
RJafroc's ``-inf``; and the CSV export cannot carry spreadsheet formulas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from study.__main__ import main
from study.analysis import mrmc, read_long_csv, write_long_csv
from study.analysis.export import neutralise_formulas
from study.analysis.table import label_values

VANDYKE = Path(__file__).parent / "data" / "mrmc" / "vandyke_1993.csv"
RRRC_P = 0.0516656858  # RJafroc, Van Dyke, RRRC p (tests/data/mrmc/README.md)


@pytest.fixture(scope="module")
def vandyke() -> pd.DataFrame:
    return pd.read_csv(VANDYKE).rename(columns={"modality": "arm"})  # the file uses the reference programs' word


def _cli_json(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    code = main(["mrmc", str(path), "--json", *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_cli_reads_its_own_long_export(tmp_path: Path, vandyke: pd.DataFrame,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = write_long_csv(vandyke, tmp_path / "export.csv")
    assert "score" in path.read_text().splitlines()[0]
    assert _cli_json(path, capsys)["rrrc"]["p"] == pytest.approx(RRRC_P, abs=1e-8)


def test_cli_reads_the_id_only_part_of_the_export(tmp_path: Path, vandyke: pd.DataFrame,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ids.csv"
    pd.read_csv(write_long_csv(vandyke, tmp_path / "export.csv")).iloc[:, :5].to_csv(path, index=False)
    assert _cli_json(path, capsys)["rrrc"]["p"] == pytest.approx(RRRC_P, abs=1e-8)


@pytest.mark.parametrize("pair", [("1.1", "1.10"), ("007", "7")])
def test_case_ids_that_look_alike_as_numbers_stay_apart(pair: tuple[str, str], tmp_path: Path,
                                                        vandyke: pd.DataFrame,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # Cases 1 (non-diseased) and 114 (diseased) get IDs that collide when parsed as numbers.
    names = {1: pair[0], 114: pair[1]}
    renamed = vandyke.assign(case=vandyke["case"].map(lambda c: names.get(c, f"c{c}")))
    path = tmp_path / "ids.csv"
    renamed.to_csv(path, index=False)
    out = _cli_json(path, capsys)
    assert out["n_cases"] == 114
    assert out["rrrc"]["p"] == pytest.approx(RRRC_P, abs=1e-8)
    back = read_long_csv(write_long_csv(renamed, tmp_path / "export.csv"))
    assert set(back["case"]) >= set(pair)


def test_minus_inf_ratings_are_read(tmp_path: Path, vandyke: pd.DataFrame,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inf.csv"
    vandyke.assign(rating=vandyke["rating"].where(vandyke["rating"] > 1, -np.inf)).to_csv(path, index=False)
    assert "-inf" in path.read_text()
    assert _cli_json(path, capsys, "--scale", "1", "5")["rrrc"]["p"] == pytest.approx(RRRC_P, abs=1e-8)


def test_label_values_keeps_text_unless_plain_integers() -> None:
    assert label_values(pd.Series(["7", "12"])).tolist() == [7, 12]
    assert label_values(pd.Series(["007", "7"])).tolist() == ["007", "7"]
    assert label_values(pd.Series(["1.1", "1.10"])).tolist() == ["1.1", "1.10"]


def test_single_arm_intervals_stay_inside_0_1() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for reader in range(3):
        for case in range(12):
            truth = int(case >= 6)
            for arm in ("a", "b"):
                rating = truth * 10 + rng.normal() if reader or case != 0 else 20.0
                rows.append((reader, arm, case, truth, rating))
    reads = pd.DataFrame(rows, columns=["reader", "arm", "case", "truth", "rating"])
    result = mrmc(reads, scale=None)
    for analysis in (result.rrrc, result.frrc, result.rrfc):
        for estimate in analysis.arms:
            assert 0.0 <= estimate.ci_low <= estimate.ci_high <= 1.0


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_export_neutralises_formula_cells(cell: str, tmp_path: Path, vandyke: pd.DataFrame) -> None:
    reads = vandyke.assign(reader=vandyke["reader"].map(lambda r: cell if r == 1 else f"R{r}"))
    path = write_long_csv(reads, tmp_path / "export.csv")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert not raw["reader"].str.startswith(("=", "+", "-", "@", "\t", "\r")).any()
    assert (raw["reader"] == "'" + cell).any()
    assert (raw["score"].astype(float) == reads.sort_values(["reader"])["rating"].min()).any()
    assert set(read_long_csv(path)["reader"]) == set(reads["reader"])  # the quote is undone


def test_neutralise_leaves_numbers_and_plain_text() -> None:
    values = pd.Series([-3.5, "plain", "-x", 7])
    assert neutralise_formulas(values).tolist() == [-3.5, "plain", "'-x", 7]
