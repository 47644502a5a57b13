"""Charts of the results page (study.charts) and the data behind them (study.reporting).

Every check compares what a figure draws with an independent computation on the same reads
(or with study.analysis), so a chart that drew the wrong numbers would fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from study import charts, reporting
from study.analysis import (
    ReadTableError,
    SimulationSettings,
    empirical_auc,
    mrmc,
    read_long_csv,
    reader_metrics,
    simulate_study,
    switching,
    switching_by_arm,
)

SMALL = SimulationSettings(n_readers=4, n_diseased=15, n_nondiseased=15,
                           unaided="none", aided="score_heatmap")


@pytest.fixture(scope="module")
def reads() -> pd.DataFrame:
    return reporting.prepare_reads(simulate_study(SMALL, seed=4).reads)


@pytest.fixture(scope="module")
def three_arms(reads: pd.DataFrame) -> pd.DataFrame:
    """The small study plus a 'score' arm (the heatmap reads, ratings and calls changed)."""
    score = reads[reads["arm"] == "score_heatmap"].copy()
    rng = np.random.default_rng(0)
    score["arm"] = "score"
    score["rating"] = np.clip(score["rating"] + rng.normal(0, 15, len(score)), 0, 100)
    score["call"] = (score["rating"] >= 50).astype(int)
    return pd.concat([reads, score], ignore_index=True)


def _trace_auc(trace) -> float:
    return float(np.trapezoid(np.asarray(trace.y, dtype=float), np.asarray(trace.x, dtype=float)))


# --- ROC ------------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [None, 5, 2])
def test_roc_points_area_is_the_empirical_auc_ties_included(levels) -> None:
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, 60)
    ratings = rng.normal(truth * 1.2, 1.0)
    if levels is not None:  # coarse scales make many ties
        ratings = np.digitize(ratings, np.linspace(-1, 2, levels - 1)).astype(float)
    fpr, tpr = charts.roc_points(truth, ratings)
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    expected = empirical_auc(ratings[truth == 0], ratings[truth == 1])
    assert np.trapezoid(tpr, fpr) == pytest.approx(expected, abs=1e-12)


def test_roc_points_need_both_classes() -> None:
    with pytest.raises(ReadTableError, match="at least one diseased and one non-diseased"):
        charts.roc_points(np.ones(5), np.arange(5.0))


def test_roc_curves_one_panel_per_reader_and_areas_match_reader_metrics(reads) -> None:
    fig = charts.roc_curves(reads)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [f"R0{i} ({role})" for i, role in
                      zip(range(1, 5), ["neonatologist", "radiologist"] * 2)]
    metrics = reader_metrics(reads).set_index(["reader", "arm"])["auc"]
    curves = [t for t in fig.data if t.mode == "lines" and t.name]
    assert len(curves) == 4 * 2
    for trace in curves:
        reader = re.match(r"(R\d+) - ", trace.hovertemplate).group(1)
        arm = {"No AI": "none", "AI score + heatmap": "score_heatmap"}[trace.name]
        assert _trace_auc(trace) == pytest.approx(metrics[(reader, arm)], abs=1e-12)


def test_roc_curves_follow_the_role_and_arm_filters(reads) -> None:
    fig = charts.roc_curves(reads, roles=["radiologist"], arms=["none"])
    assert [a.text for a in fig.layout.annotations] == ["R02 (radiologist)", "R04 (radiologist)"]
    assert {t.name for t in fig.data if t.mode == "lines" and t.name} == {"No AI"}


# --- per-reader paired chart ----------------------------------------------------------------


def test_paired_chart_draws_each_readers_metrics_and_their_mean(reads) -> None:
    fig = charts.paired_reader_chart(reads)
    metrics = reader_metrics(reads)
    for axis, metric in (("x", "accuracy"), ("x2", "auc")):
        traces = [t for t in fig.data if t.xaxis == axis]
        readers = [t for t in traces if t.name != "Mean of readers"]
        assert len(readers) == 4
        drawn = sorted(v for t in readers for v in t.y)
        assert drawn == pytest.approx(sorted(metrics[metric]))
        [mean] = [t for t in traces if t.name == "Mean of readers"]
        assert list(mean.x) == ["No AI", "AI score + heatmap"]
        expected = metrics.groupby("arm")[metric].mean()
        assert list(mean.y) == pytest.approx([expected["none"], expected["score_heatmap"]])


def test_paired_chart_orders_three_arms_in_reading_order(three_arms) -> None:
    fig = charts.paired_reader_chart(three_arms)
    [mean] = [t for t in fig.data if t.name == "Mean of readers" and t.xaxis == "x"]
    assert list(mean.x) == ["No AI", "AI score", "AI score + heatmap"]


# --- switching ------------------------------------------------------------------------------


def test_sankey_flows_are_the_switching_counts(three_arms) -> None:
    fig = charts.switching_sankey(three_arms)
    totals = switching_by_arm(switching(three_arms, unaided="none")).set_index("arm")
    assert [t.name for t in fig.data] == ["AI score", "AI score + heatmap"]
    for trace, arm in zip(fig.data, ["score", "score_heatmap"]):
        flows = dict(zip(trace.link.customdata, trace.link.value))
        for kind in ("correct_to_correct", "correct_to_wrong", "wrong_to_correct", "wrong_to_wrong"):
            assert flows.get(kind.replace("_", " "), 0) == totals.at[arm, kind]
        assert sum(trace.link.value) == totals.at[arm, "n_pairs"] == 4 * 30


def test_sankey_without_the_unaided_arm_says_so(reads) -> None:
    with pytest.raises(ReadTableError, match="unaided arm 'none' is not in the table"):
        charts.switching_sankey(reads, arms=["score_heatmap"])


# --- reading time ---------------------------------------------------------------------------


def test_reading_time_boxes_hold_the_times_of_each_arm(reads) -> None:
    timed = reads.copy()
    timed.loc[timed.index[:3], "time_s"] = np.nan
    fig = charts.reading_time_chart(timed)
    assert [t.name for t in fig.data] == ["No AI", "AI score + heatmap"]
    for trace, arm in zip(fig.data, ["none", "score_heatmap"]):
        expected = timed.loc[timed["arm"] == arm, "time_s"].dropna()
        assert sorted(trace.y) == pytest.approx(sorted(expected))
    assert "3 reads without a time left out" in fig.layout.title.text


def test_reading_time_without_any_time_is_refused(reads) -> None:
    with pytest.raises(ReadTableError, match="No reading time was recorded"):
        charts.reading_time_chart(reads.assign(time_s=np.nan))


# --- case difficulty ------------------------------------------------------------------------


def test_case_difficulty_is_the_share_of_readers_correct(reads) -> None:
    fig = charts.case_difficulty_chart(reads)
    correct = (reads["call"] == reads["truth"]).groupby([reads["case"], reads["arm"]]).mean()
    flagged = reads.groupby("case")["flagged"].max()
    drawn = [t for t in fig.data if t.x and t.x[0] is not None]
    assert len(drawn) == 4  # two arms x (RDS, non-RDS)
    for trace in drawn:
        arm = {"No AI": "none", "AI score + heatmap": "score_heatmap"}[trace.name]
        for case, share, symbol in zip(trace.x, trace.y, trace.marker.symbol):
            assert share == pytest.approx(correct[(case, arm)])
            assert symbol == ("diamond" if flagged[case] else "circle")
    # Hardest first: along each panel's axis, the mean share over arms never decreases.
    ease = correct.groupby("case").mean()
    for axis in ("x", "x2"):
        order = list(fig.layout[axis.replace("x", "xaxis")].categoryarray)
        assert np.all(np.diff([ease[c] for c in order]) >= 0)


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(("arms", "roles", "message"), [
    ([], None, "Choose at least one arm"),
    (None, [], "Choose at least one reader role"),
    (None, ["surgeon"], "No reads match the filter .*roles surgeon"),
    (["score"], None, "No reads match the filter .*arms AI score"),
])
def test_filters_refuse_an_empty_selection_with_a_message(reads, arms, roles, message) -> None:
    with pytest.raises(ReadTableError, match=message):
        charts.paired_reader_chart(reads, arms=arms, roles=roles)


def test_missing_roles_become_not_given(reads) -> None:
    raw = reads.assign(reader_role=np.where(reads["reader"] == "R01", None, reads["reader_role"]))
    prepared = reporting.prepare_reads(raw)
    assert set(prepared.loc[prepared["reader"] == "R01", "reader_role"]) == {reporting.UNKNOWN_ROLE}
    assert reporting.role_order(prepared["reader_role"])[-1] == reporting.UNKNOWN_ROLE


# --- labels and export ----------------------------------------------------------------------


def test_mark_simulated_labels_a_copy(reads) -> None:
    fig = charts.reading_time_chart(reads)
    marked = charts.mark_simulated(fig)
    assert marked.layout.title.text.startswith("SIMULATED DATA - ")
    assert any(a.text == "SIMULATED" for a in marked.layout.annotations)
    assert not fig.layout.title.text.startswith("SIMULATED")


def test_html_report_is_self_contained_with_one_copy_of_plotly(reads) -> None:
    figures = {"Time": charts.reading_time_chart(reads), "Cases": charts.case_difficulty_chart(reads)}
    table = pd.DataFrame({"arm": ["none"], "auc": [0.8123456]})
    page = charts.charts_report_html(figures, title="Results <b>x</b>", simulated=True,
                                     notes=["Conclusion & more"], tables={"AUC": table})
    # Nothing is fetched when the file opens (the library's own topojson default URL is
    # only used by geo maps, which these charts do not have).
    assert not re.search(r"<script[^>]*\ssrc=|<link[^>]*href=", page)
    assert page.count("Plotly.newPlot") == 2
    assert page.count("plotly.js v") == 1  # the library's banner: embedded once
    assert "Results &lt;b&gt;x&lt;/b&gt;" in page and "Conclusion &amp; more" in page
    assert "SIMULATED STUDY" in page and "0.8123" in page
    single = charts.figure_html(figures["Time"])
    assert not re.search(r"<script[^>]*\ssrc=", single) and single.count("Plotly.newPlot") == 1


def test_long_csv_export_round_trips(reads, tmp_path: Path) -> None:
    path = tmp_path / "reads.csv"
    path.write_bytes(reporting.long_csv_bytes(reads))
    back = read_long_csv(path).sort_values(["reader", "arm", "case"]).reset_index(drop=True)
    original = reads[["reader", "arm", "case", "truth", "rating"]]
    original = original.sort_values(["reader", "arm", "case"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, original, check_dtype=False)


# --- MRMC tables and sentences ---------------------------------------------------------------


@pytest.mark.parametrize(("weight", "phrase"), [
    (0.5, "readers were more accurate with AI score \\+ heatmap"),
    (0.0, "no clear difference"),
    (-0.5, "readers were less accurate with AI score \\+ heatmap"),
])
def test_conclusion_sentence_follows_the_built_in_effect(weight: float, phrase: str) -> None:
    settings = SimulationSettings(n_readers=6, n_diseased=30, n_nondiseased=30, ai_weight=weight,
                                  unaided="none", aided="score_heatmap")
    result = mrmc(simulate_study(settings, seed=1).reads, arms=("score_heatmap", "none"))
    sentence = reporting.conclusion_sentence(result)
    assert re.search(phrase, sentence)
    test = result.rrrc.difference
    assert f"{test.estimate:+.3f}" in sentence and f"{test.ci_low:+.3f} to {test.ci_high:+.3f}" in sentence


def test_mrmc_table_and_simulation_check(reads) -> None:
    study = simulate_study(SMALL, seed=4)
    result = mrmc(study.reads, arms=("score_heatmap", "none"))
    table = reporting.mrmc_table(result).set_index("analysis")
    assert list(table.index) == ["RRRC", "FRRC", "RRFC"]
    for name in table.index:
        test = getattr(result, name.lower()).difference
        assert table.at[name, "difference"] == test.estimate and table.at[name, "p"] == test.p
        assert (table.at[name, "ci_low"], table.at[name, "ci_high"]) == (test.ci_low, test.ci_high)
    aucs = reporting.arm_auc_table(result)
    assert list(aucs["name"]) == ["AI score + heatmap", "No AI"]
    assert list(aucs["auc"]) == pytest.approx(result.mean_auc)
    check = reporting.simulation_check(study, result)
    assert f"{study.true_difference:+.3f}" in check
    reverse = reporting.simulation_check(study, mrmc(study.reads, arms=("none", "score_heatmap")))
    assert f"{-study.true_difference:+.3f}" in reverse


def test_page_simulation_recovers_its_effect() -> None:
    study = reporting.simulated_study()
    result = mrmc(study.reads, arms=("score_heatmap", "none"))
    test = result.rrrc.difference
    assert test.ci_low <= study.true_difference <= test.ci_high and test.p < 0.05
    assert "recovers it" in reporting.simulation_check(study, result)


def test_crossed_reads_leave_out_readers_who_have_not_finished(reads) -> None:
    unfinished = reads[~((reads["reader"] == "R03") & (reads["arm"] == "score_heatmap")
                         & (reads["case"] > "C020"))]
    crossed, left_out = reporting.crossed_reads(unfinished, ("score_heatmap", "none"))
    assert left_out == ["R03"] and set(crossed["reader"]) == {"R01", "R02", "R04"}
    assert mrmc(crossed, arms=("score_heatmap", "none")).readers == ("R01", "R02", "R04")


@pytest.mark.parametrize(("arms", "pair"), [
    (["none", "score", "score_heatmap"], ("score_heatmap", "none")),
    (["score", "none"], ("score", "none")),
    (["score", "score_heatmap"], ("score_heatmap", "score")),
    (["none"], None),
])
def test_default_comparison(arms, pair) -> None:
    assert reporting.default_comparison(arms) == pair


def test_sources_without_a_database_are_the_simulation_only(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "study.sqlite"
    [source] = reporting.list_answer_sources(missing)
    assert source.simulated and "SIMULATED" in source.label
    assert not missing.parent.exists()  # looking did not create a database


# --- early results, automation bias, the planner ------------------------------------------------


def test_paired_chart_axes_are_fixed_to_0_1(reads: pd.DataFrame) -> None:
    fig = charts.paired_reader_chart(reads)
    assert fig.layout.yaxis.range == (0, 1) and fig.layout.yaxis2.range == (0, 1)


@pytest.mark.parametrize("keep, missing", [
    (lambda r: r[r["arm"] == "none"], "a second arm"),
    (lambda r: r[r["truth"] == 1], "a case without RDS"),
    (lambda r: r.iloc[:1], "a case without RDS and a second arm"),
])
def test_paired_chart_says_what_is_missing_until_it_can_be_drawn(reads: pd.DataFrame, keep, missing: str) -> None:
    with pytest.raises(ReadTableError, match=rf"So far .* The charts need .*{missing}"):
        charts.paired_reader_chart(keep(reads))


def test_automation_bias_chart_marks_exactly_the_harmed_readers(reads: pd.DataFrame) -> None:
    from study.analysis import readers_harmed

    fig = charts.automation_bias_chart(reads)
    harmed = readers_harmed(reads)
    marked = [t for trace in fig.data[1:] for t in trace.text if t]
    assert sorted(marked) == sorted(harmed.loc[harmed["harmed"], "reader"].astype(str))
    assert f"{int(harmed['harmed'].sum())} reader-arm pair(s) harmed" in fig.layout.title.text
    assert fig.layout.xaxis.range == (0, 1) and fig.layout.yaxis.range == (0, 1)


def test_power_curves_draw_the_planner_numbers() -> None:
    from study.analysis.power import VANDYKE_COMPONENTS, power_given_jk

    fig = charts.power_curves(VANDYKE_COMPONENTS, effect=0.0438003221, readers=(6, 10), cases=(111, 165))
    assert [t.name for t in fig.data] == ["6 readers", "10 readers"]
    expected = power_given_jk(VANDYKE_COMPONENTS, effect=0.0438003221, readers=10, cases=165).power
    assert fig.data[1].y[1] == pytest.approx(expected)
    assert "Van Dyke" in fig.layout.title.text and fig.layout.yaxis.range == (0, 1)


def test_roc_curves_wait_for_both_classes(reads: pd.DataFrame) -> None:
    with pytest.raises(ReadTableError, match="a case without RDS"):
        charts.roc_curves(reads[reads["truth"] == 1])


def test_three_arm_conclusion_follows_the_multiplicity_plan(three_arms: pd.DataFrame) -> None:
    from study.analysis.multiplicity import multiplicity_plan

    result = mrmc(three_arms, arms=["score_heatmap", "none", "score"])
    line = reporting.conclusion_sentence(result)
    passed, decisions = multiplicity_plan(result)
    assert f"Holm-adjusted p = {decisions[0].p_holm:.3f}" in line
    assert ("no clear difference under the multiplicity plan" in line) == (not decisions[0].significant)
    table = reporting.pairwise_table(result)
    assert list(table["comparison"]) == ["AI score + heatmap - No AI", "AI score + heatmap - AI score",
                                         "No AI - AI score"]
    assert table["significant"].tolist() == [d.significant for d in decisions]
