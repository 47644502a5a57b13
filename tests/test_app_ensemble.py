"""The ensemble page headless (AppTest): the shared film, the fold chart and maps matching the
analysis, the scale switch, the disagreement note, language, bad uploads."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rds_core.agreement import fold_disagreement
from pages._i18n import t
from rds_core.pipeline import Analysis

ENSEMBLE = "pages/ensemble.py"
SAMPLE_KEY = "sample-simulated_rds_grade2_01"


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch, weights_env: Path) -> Path:
    monkeypatch.setenv("RDS_LANG", "en")
    return weights_env


def _ensemble_with_sample(app_test: Callable[..., AppTest]) -> AppTest:
    """Choose a sample on the demo page, then open the ensemble page in the same session.

    Also checks that the film is remembered across pages: the ensemble page reuses the demo
    page's analysis and does not offer the gallery again.
    """
    app = app_test()
    app.run()
    app.button(key=SAMPLE_KEY).click().run()
    analysed = _analysis(app)
    app.switch_page(ENSEMBLE).run()
    assert not app.exception
    assert _analysis(app) is analysed, "the ensemble page reuses the demo page's analysis"
    assert not any((b.key or "").startswith("sample-") for b in app.button)
    assert any("simulated_rds_grade2_01.png" in c.value for c in app.caption)
    return app


def _analysis(app: AppTest) -> Analysis:
    return app.session_state["rds_result"][1]


def _plotly_spec(app: AppTest) -> dict:
    charts = app.get("plotly_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def test_without_a_film_the_page_offers_the_gallery(app_test: Callable[..., AppTest], english: Path) -> None:
    app = app_test(page=ENSEMBLE)
    app.run()
    assert not app.exception
    assert app.title[0].value == "Five models, one score"
    assert any("No film is selected yet" in i.value for i in app.info)
    assert any("not for clinical use" in w.value for w in app.warning)
    app.button(key=SAMPLE_KEY).click().run()  # picked here, not on the demo page
    assert not app.exception and not app.error
    assert len(app.get("plotly_chart")) == 1 and not any((b.key or "").startswith("sample-") for b in app.button)


def test_chart_maps_and_table_show_the_analysis(app_test: Callable[..., AppTest], english: Path) -> None:
    app = _ensemble_with_sample(app_test)
    analysis = _analysis(app)
    spec = _plotly_spec(app)
    bars = [trace for trace in spec["data"] if trace["type"] == "bar"]
    assert bars[0]["y"] == pytest.approx(analysis.fold_probabilities)
    lines = {trace["name"]: trace["y"] for trace in spec["data"] if trace["type"] == "scatter"}
    assert lines[f"threshold {analysis.threshold:.2f}"] == pytest.approx([analysis.threshold] * 5)
    assert lines[f"mean {analysis.probability:.2f}"] == pytest.approx([analysis.probability] * 5)

    captions = [c for image in app.image for c in image.captions if c.startswith("Fold")]
    assert len(captions) == 5, "one map per fold"
    for k, caption in enumerate(captions):
        assert caption.startswith(f"Fold {k + 1}: score {analysis.fold_probabilities[k]:.2f}")
        assert f"{analysis.cams.in_lung_folds[k]:.0%} of its heat inside the lungs" in caption
    assert len(app.image) == 5 + 3, "five fold maps, then fused, agreement and disagreement"

    table = app.table[0].value
    assert list(table.index) == [f"Fold {k}" for k in range(1, 6)] + ["fused"]
    expected = [f"{v:.0%}" for v in [*analysis.cams.in_lung_folds, analysis.cams.in_lung_fused]]
    assert list(table["heat inside the lungs"]) == expected


def test_scale_switch_redraws_the_fold_maps(app_test: Callable[..., AppTest], english: Path) -> None:
    app = _ensemble_with_sample(app_test)
    shared = [image.value[0] for image in app.image[:5]]
    app.radio(key="rds_scale").set_value("own").run()
    own = [image.value[0] for image in app.image[:5]]
    combined_before = [image.value[0] for image in app.image[5:]]
    assert shared != own, "each-on-its-own-scale maps differ from the shared-scale ones"
    app.radio(key="rds_scale").set_value("shared").run()
    assert [image.value[0] for image in app.image[:5]] == shared
    assert [image.value[0] for image in app.image[5:]] == combined_before, "the fused maps do not depend on it"


def test_disagreement_note_follows_the_rule(app_test: Callable[..., AppTest], english: Path) -> None:
    app = _ensemble_with_sample(app_test)
    analysis = _analysis(app)
    verdict = fold_disagreement(analysis.fold_probabilities, analysis.threshold)
    assert analysis.disagreement == verdict, "the result carries the same rule the page applies"
    warnings = " ".join(w.value for w in app.warning)
    successes = " ".join(s.value for s in app.success)
    assert ("The models disagree on this film" in warnings) is verdict.disagree
    assert ("The five models agree" in successes) is (not verdict.disagree)
    if verdict.split:
        assert f"{verdict.above} of 5 models are at or above the threshold and {verdict.below} below it" in warnings


@pytest.mark.parametrize(
    ("scores", "threshold", "spread_limit", "too_spread", "split"),
    [
        ([0.90, 0.91, 0.92, 0.93, 0.94], 0.5, 0.15, False, False),
        ([0.10, 0.12, 0.11, 0.09, 0.13], 0.5, 0.15, False, False),
        ([0.45, 0.48, 0.52, 0.55, 0.50], 0.5, 0.15, False, True),  # near the threshold, both sides
        ([0.55, 0.95, 0.60, 0.99, 0.58], 0.5, 0.15, True, False),  # all above, far apart
        ([0.05, 0.95, 0.10, 0.90, 0.50], 0.5, 0.15, True, True),
        ([0.50, 0.50, 0.50, 0.50, 0.50], 0.5, 0.15, False, False),  # at the threshold counts as above
    ],
)
def test_fold_disagreement_rule(scores: list[float], threshold: float, spread_limit: float,
                                too_spread: bool, split: bool) -> None:
    verdict = fold_disagreement(scores, threshold, spread_limit)
    assert (verdict.too_spread, verdict.split, verdict.disagree) == (too_spread, split, too_spread or split)
    assert verdict.above + verdict.below == len(scores)


def test_language_switch_on_the_ensemble_page(app_test: Callable[..., AppTest], english: Path) -> None:
    app = _ensemble_with_sample(app_test)
    assert "Score of each model" in [m.value.lstrip("# ") for m in app.markdown]
    app.session_state["lang"] = "ko"  # the sidebar radio (AppTest drops the sidebar after the first run)
    app.run()
    assert app.title[0].value == t("ens.title", "ko")
    assert t("ens.chart_title", "ko") in [m.value.lstrip("# ") for m in app.markdown]
    spec = _plotly_spec(app)
    assert spec["layout"]["yaxis"]["title"]["text"] == t("ens.axis_score", "ko")


def test_bad_upload_on_the_ensemble_page(app_test: Callable[..., AppTest], english: Path) -> None:
    app = app_test(page=ENSEMBLE)
    app.run()
    app.file_uploader[0].upload("scan.dcm", b"DICM but not really" * 10).run()
    assert not app.exception
    assert len(app.error) == 1 and "could not be analysed" in app.error[0].value
    assert re.search(r"scan\.dcm is not a PNG, JPEG or DICOM file", app.error[0].value)
    assert len(app.get("plotly_chart")) == 0
