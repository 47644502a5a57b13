"""``python -m study demo-setup`` on random packs: films imported with real ``rds_core`` hints,
a demo study and reader whose code lands in a file, and a second run that changes nothing and
loads no model; plus the hint function itself."""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rds_core.models.packs import read_manifest, write_manifest
from study.__main__ import main
from study.db import connect
from study.demo import CODE_FILE_NAME, create_demo_study, demo_setup
from study.security import authenticate
from tests.study_helpers import fake_hint, write_films

REPO = Path(__file__).resolve().parents[1]
# A normal film and a simulated RDS film: enough for the hint path, in seconds on random packs.
SUBSET = ("kermany_normal_02.png", "simulated_rds_grade3_01.png")


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weights_env: Path) -> Path:
    """Study database and case storage under ``tmp_path``; three of the shipped samples."""
    monkeypatch.setenv("RDS_STUDY_DB", str(tmp_path / "data" / "study.sqlite"))
    monkeypatch.setenv("RDS_STUDY_CASES", str(tmp_path / "data" / "cases"))
    samples = tmp_path / "samples"
    samples.mkdir()
    with open(REPO / "samples" / "samples.csv", newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["file"] in SUBSET]
    with open(samples / "samples.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        shutil.copy(REPO / "samples" / row["file"], samples / row["file"])
    return samples


def _setup(samples: Path, capsys: pytest.CaptureFixture, *extra: str) -> tuple[int, str, str]:
    status = main(["demo-setup", "--samples", str(samples), "--device", "cpu", *extra])
    out, err = capsys.readouterr()
    return status, out, err


def _printed_code(out: str) -> str:
    return next(line.split()[2] for line in out.splitlines() if line.startswith("Reader code:"))


def test_demo_setup_imports_with_hints_and_is_idempotent(demo_env: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, err = _setup(demo_env, capsys)
    assert status == 0, err
    code_file = tmp_path / "data" / CODE_FILE_NAME
    code = code_file.read_text(encoding="utf-8").strip()
    assert _printed_code(out) == code and "new demo reader" in out
    assert stat.S_IMODE(code_file.stat().st_mode) == 0o600, "the code file is private"

    db = connect(tmp_path / "data" / "study.sqlite")
    demo_id = db.conn.execute("SELECT id FROM studies WHERE name = 'demo'").fetchone()[0]
    assert authenticate(db, code).study_id == demo_id
    hints = db.conn.execute(
        "SELECT probability, fold_probabilities, spread, threshold, positive, heatmap_png, pack_name FROM ai_hints"
    ).fetchall()
    assert len(hints) == db["cases"].count == len(SUBSET)
    for probability, folds, spread, threshold, positive, heatmap, pack in hints:
        folds = np.array(json.loads(folds))
        assert len(folds) == 5 and probability == pytest.approx(folds.mean()) and spread == pytest.approx(folds.std())
        assert positive == int(probability >= threshold) and pack == "rds-demo"
        picture = Image.open(io.BytesIO(heatmap))
        assert picture.mode == "RGB" and max(picture.size) <= 768
        pixels = np.asarray(picture).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 50, "the film under the heatmap, not a flat colour"

    # Run again: nothing imported, no model loaded, the same code.
    import study.hints

    monkeypatch.setattr(study.hints, "make_hint_fn", lambda *a, **k: pytest.fail("a re-run must not load models"))
    status, out, err = _setup(demo_env, capsys)
    assert status == 0, err
    assert _printed_code(out) == code and "Imported" not in out and "new demo reader" not in out
    assert db["cases"].count == len(SUBSET) and db["readers"].count == 1 and db["studies"].count == 1


def test_a_lost_or_stale_code_file_gets_a_new_demo_reader(tmp_path: Path) -> None:
    db = connect(tmp_path / "data" / "study.sqlite")
    samples = tmp_path / "samples"
    write_films(samples, 4).rename(samples / "samples.csv")
    setup = functools.partial(demo_setup, db, samples_dir=samples, make_hint_fn=lambda: fake_hint,
                              storage_dir=tmp_path / "store")
    code_file = tmp_path / "data" / CODE_FILE_NAME
    first = setup()
    assert first.new_reader and first.report is not None and code_file.read_text().strip() == first.code
    assert setup().code == first.code, "an unchanged file is kept"

    code_file.unlink()
    second = setup()
    assert second.new_reader and second.code != first.code and code_file.read_text().strip() == second.code

    code_file.write_text("ZZZZ-ZZZZ-ZZZZ-ZZZZ\n", encoding="utf-8")  # e.g. left over from an older database
    third = setup()
    assert third.new_reader and third.code not in (first.code, second.code)

    fourth = setup(new_reader=True)
    assert fourth.new_reader and fourth.report is None
    assert db["readers"].count == 4 and db["cases"].count == 4
    assert authenticate(db, code_file.read_text(encoding="utf-8").strip()).label == "R04"


def test_a_missing_pack_stops_the_setup_with_a_sentence(demo_env: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    status, out, err = _setup(demo_env, capsys, "--pack", str(tmp_path / "no-such-pack"))
    assert status == 2 and err.startswith("demo-setup failed:") and "no-such-pack" in err
    assert not (tmp_path / "data" / CODE_FILE_NAME).exists()
    assert connect(tmp_path / "data" / "study.sqlite")["cases"].count == 0


def test_hints_need_an_rds_pack(random_weights_dir: Path, tmp_path: Path) -> None:
    from study.hints import HintPackError, make_hint_fn

    other = tmp_path / "pneumonia"
    shutil.copytree(random_weights_dir / "rds-demo", other)
    write_manifest(other, dataclasses.replace(read_manifest(other), class_names=("normal", "pneumonia")))
    with pytest.raises(HintPackError, match="predicts 'pneumonia', not 'RDS'"):
        make_hint_fn(other, random_weights_dir / "lung-seg", "cpu")


def test_the_demo_study_is_created_once(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.sqlite")
    samples = tmp_path / "samples"
    write_films(samples, 8).rename(samples / "samples.csv")
    built = []

    def factory():
        built.append(1)
        return fake_hint

    first = create_demo_study(db, samples, factory, storage_dir=tmp_path / "store")
    second = create_demo_study(db, samples, factory, storage_dir=tmp_path / "store")

    assert built == [1], "the hint function is built only when films are imported"
    assert first.study == second.study
    assert first.study.n_cases == 8 and first.study.design == "sequential"
    assert first.study.arms == ("none", "score", "score_heatmap")
    assert len(first.new_readers) == 1 and second.new_readers == ()
    assert first.report is not None and second.report is None
    assert db["cases"].count == 8 and db["readers"].count == 1
    assert len(list((tmp_path / "store").iterdir())) == 8
