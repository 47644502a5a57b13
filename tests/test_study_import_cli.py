"""``python -m study import``: the team's filepath/rds table, a case set and a study from the shell."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from study.__main__ import main
from study.db import connect

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    films = tmp_path / "films"
    (films / "img").mkdir(parents=True)
    for name in ("kermany_normal_01.png", "kermany_normal_02.png", "simulated_rds_grade3_01.png", "simulated_rds_grade4_01.png"):
        shutil.copy(SAMPLES / name, films / "img" / name)
    # the training table's columns and a Windows-style path, as the team writes them
    (films / "table.csv").write_text(
        "filepath,rds\nimg\\kermany_normal_01.png,0\nimg\\kermany_normal_02.png,0.0\n"
        "img\\simulated_rds_grade3_01.png,1\nimg\\simulated_rds_grade4_01.png,RDS\n", encoding="utf-8")
    return films


def test_import_reads_filepath_rds_and_creates_a_study(folder: Path, tmp_path: Path, monkeypatch, capsys,
                                                      weights_env: Path) -> None:
    monkeypatch.setenv("RDS_STUDY_DB", str(tmp_path / "study.sqlite"))
    monkeypatch.setenv("RDS_STUDY_CASES", str(tmp_path / "cases"))
    status = main(["import", str(folder), "--truth", str(folder / "table.csv"), "--study", "pilot",
                   "--pack", "rds-demo", "--device", "cpu"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "imported 4 films" in out and "created study 'pilot' with 4 cases" in out
    db = connect(tmp_path / "study.sqlite")
    truths = sorted(row[0] for row in db.conn.execute("SELECT truth FROM cases"))
    assert truths == [0, 0, 1, 1]
    # the hints come from the pack named on the command line (here the test weights folder's rds-demo)
    packs = {row[0] for row in db.conn.execute("SELECT pack_name FROM ai_hints")}
    assert packs == {"rds-demo"} and db.conn.execute("SELECT COUNT(*) FROM ai_hints").fetchone()[0] == 4


def test_import_refuses_a_table_without_truth(folder: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RDS_STUDY_DB", str(tmp_path / "study.sqlite"))
    monkeypatch.setenv("RDS_STUDY_CASES", str(tmp_path / "cases"))
    (folder / "bad.csv").write_text("filepath\nimg\\kermany_normal_01.png\n", encoding="utf-8")
    assert main(["import", str(folder), "--truth", str(folder / "bad.csv"), "--no-hints"]) == 2
    assert "needs the columns 'file' and 'truth'" in capsys.readouterr().out
