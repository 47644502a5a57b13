"""Study results (team only, behind the admin secret): did the AI help the readers?

Thin page: picks the answers (a real study with answers, or the simulated study, clearly
labelled), applies the arm and reader-role filters, and renders what `study.analysis`,
`study.reporting` and `study.charts` return. Run inside the app's ``st.navigation`` or alone
(``AppTest.from_file("pages/results.py")``); it never calls ``st.set_page_config``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from pages._admin_gate import admin_gate
from pages._messages import lang, show_study_error, tr
from study import StudyError, charts, reporting
from study.analysis import (
    AnalysisError,
    SimulatedStudy,
    ai_right_wrong_auc,
    automation_bias_summary,
    mrmc,
    reader_metrics,
    reading_time_summary,
    role_summary,
    switching,
    switching_by_arm,
)
from study.analysis.multiplicity import PLAN_TEXT
from study.analysis.power import VANDYKE_COMPONENTS, components_from_pilot
from study.answers import RATING_SCALE_TEXT
from study.config import db_path

st.title(tr("res.title"))
if not admin_gate():
    st.stop()


@st.cache_data(show_spinner=False)
def _simulated(seed: int) -> SimulatedStudy:
    return reporting.simulated_study(seed)


try:
    sources = {s.key: s for s in reporting.list_answer_sources(db_path())}
except StudyError as err:
    show_study_error("res.db_error", err)
    st.stop()
source = sources[st.selectbox(
    tr("res.source"), list(sources), format_func=lambda key: sources[key].label, key="results_source",
    help=tr("res.source_help"),
)]
if lang() != "en":
    st.caption(tr("res.english_note"))

simulation = None
if source.simulated:
    simulation = _simulated(reporting.SIMULATION_SEED)
    reads = reporting.prepare_reads(simulation.reads)
    st.warning(tr("res.simulated", difference=f"{simulation.true_difference:+.3f}"), icon=":material/science:")
else:
    reads = reporting.load_study_reads(db_path(), source.study_id)

all_arms = reporting.arm_order(reads["arm"])
all_roles = reporting.role_order(reads["reader_role"])
left, right = st.columns(2)
arms = left.multiselect(tr("res.arms"), all_arms, default=all_arms, format_func=reporting.arm_name,
                        key=f"results_arms_{source.key}")
roles = right.multiselect(tr("res.roles"), all_roles, default=all_roles, key=f"results_roles_{source.key}")
try:
    shown = reporting.filter_reads(reads, arms=arms, roles=roles)
except AnalysisError as err:
    st.warning(str(err))
    st.stop()
arms = reporting.arm_order(shown["arm"])
st.caption(tr("res.showing", readers=shown["reader"].nunique(), cases=shown["case"].nunique(), reads=len(shown)))

figures: dict[str, Any] = {}


def _chart(name: str, build: Callable[[], Any]) -> None:
    """Draw one figure (labelled when simulated) or say why it cannot be drawn."""
    try:
        fig = build()
    except AnalysisError as err:
        st.info(tr("res.chart_missing", name=name, reason=err))
        return
    if source.simulated:
        fig = charts.mark_simulated(fig)
    figures[name] = fig
    st.plotly_chart(fig, key=f"chart_{name}")


def _table(build: Callable[[], pd.DataFrame]) -> None:
    """Show one table or say why it cannot be made."""
    try:
        st.dataframe(build(), hide_index=True)
    except AnalysisError as err:
        st.info(str(err))


# --- the headline: MRMC ---------------------------------------------------------------
st.subheader(tr("res.mrmc_title"))
notes: list[str] = []
tables: dict[str, pd.DataFrame] = {}
result = None  # the MRMC result, when there is one (also the pilot of the planner below)
pair = reporting.default_comparison(arms)
if pair is None:
    st.info(tr("res.two_arms"))
else:
    one, two = st.columns(2)
    aided = one.selectbox(tr("res.arm"), arms, index=arms.index(pair[0]), format_func=reporting.arm_name,
                          key=f"results_aided_{source.key}")
    reference = two.selectbox(tr("res.compared_with"), arms, index=arms.index(pair[1]),
                              format_func=reporting.arm_name, key=f"results_reference_{source.key}")
    if aided == reference:
        st.info(tr("res.different_arms"))
    else:
        # All shown arms in one analysis (pooled error term); the chosen pair comes first so
        # that its difference is the headline.
        analysed = [aided, reference] + [a for a in arms if a not in (aided, reference)]
        crossed, left_out = reporting.crossed_reads(shown, analysed)
        if left_out:
            both = tr("res.both_arms") if len(analysed) == 2 else tr("res.all_arms", n=len(analysed))
            st.warning(tr("res.left_out", arms=both, readers=", ".join(map(str, left_out))))
        try:
            result = mrmc(crossed, arms=analysed)
        except AnalysisError as err:
            st.warning(tr("res.no_mrmc", reason=err))
        else:
            if len(result.readers) == 1:
                st.warning(tr("res.one_reader"))
            conclusion = reporting.conclusion_sentence(result)
            notes.append(conclusion)
            st.markdown(tr("res.conclusion", text=conclusion))
            if simulation is not None:
                check = reporting.simulation_check(simulation, result)
                notes.append(check)
                st.info(check, icon=":material/science:")
            tables["AUC per arm (RRRC 95% CI)"] = reporting.arm_auc_table(result)
            tables["Tests of the difference"] = reporting.mrmc_table(result)
            if len(analysed) > 2:
                tables["Global test: all arms have the same AUC"] = reporting.global_table(result)
                tables["Pairwise comparisons (RRRC, pooled error, Holm after the global test)"] = (
                    reporting.pairwise_table(result))
            try:
                tables["Sensitivity and specificity of the yes/no calls (MRMC, RRRC)"] = (
                    reporting.binary_endpoint_table(crossed, analysed))
            except AnalysisError as err:
                st.info(tr("res.binary_missing", reason=err))
            for heading, table in tables.items():
                st.markdown(f"**{heading}**")
                st.dataframe(table, hide_index=True)
            st.caption(tr("res.rrrc_note"))
            st.caption(PLAN_TEXT)
            notes.append(PLAN_TEXT)
            if not source.simulated:  # a real study's ratings come from the reader page's confidence
                st.caption(RATING_SCALE_TEXT)
                notes.append(RATING_SCALE_TEXT)
            with st.expander(tr("res.variance")):
                st.json(result.to_dict()["variance_components"])

with st.expander(tr("res.plan_title")):
    # This study as the pilot once it has an analysis with 2+ readers; else published values.
    use_pilot = result is not None and len(result.readers) > 1
    components = components_from_pilot(result) if use_pilot else VANDYKE_COMPONENTS
    effect = st.number_input(tr("res.plan_effect"), min_value=0.005, max_value=0.3, value=0.05,
                             step=0.005, format="%.3f", key="plan_effect")
    try:
        plan_figure = charts.power_curves(components, effect=effect)
    except ValueError as err:
        st.info(tr("res.plan_fallback", reason=err))
        components = VANDYKE_COMPONENTS
        plan_figure = charts.power_curves(components, effect=effect)
    else:
        if source.simulated and use_pilot:
            plan_figure = charts.mark_simulated(plan_figure)
    st.plotly_chart(plan_figure, key="chart_plan")
    st.caption(tr("res.plan_note", source=components.source))

readiness = reporting.chart_readiness(shown)
if readiness:
    st.info(readiness, icon=":material/hourglass_top:")

readers_tab, switching_tab, time_tab, cases_tab, export_tab = st.tabs(
    [tr("res.tab_readers"), tr("res.tab_switching"), tr("res.tab_time"), tr("res.tab_cases"), tr("res.tab_export")])

with readers_tab:
    _chart("Readers with and without AI", lambda: charts.paired_reader_chart(reads, arms=arms, roles=roles))
    _chart("ROC curves", lambda: charts.roc_curves(reads, arms=arms, roles=roles))
    st.markdown(tr("res.per_reader"))
    _table(lambda: reader_metrics(shown))
    st.markdown(tr("res.per_role"))
    _table(lambda: role_summary(shown))

with switching_tab:
    _chart("Switching", lambda: charts.switching_sankey(reads, arms=arms, roles=roles))
    _table(lambda: switching_by_arm(switching(shown)))
    st.caption(tr("res.mcnemar"))
    if "flagged" in shown.columns and shown["flagged"].astype(bool).any():
        st.markdown(tr("res.bias_cases"))
        _table(lambda: automation_bias_summary(shown))
        st.markdown(tr("res.bias_auc"))
        _table(lambda: ai_right_wrong_auc(shown))
        _chart("Automation bias", lambda: charts.automation_bias_chart(reads, arms=arms, roles=roles))

with time_tab:
    _chart("Reading time", lambda: charts.reading_time_chart(reads, arms=arms, roles=roles))
    _table(lambda: reading_time_summary(shown))

with cases_tab:
    _chart("Case difficulty", lambda: charts.case_difficulty_chart(reads, arms=arms, roles=roles))

with export_tab:
    prefix = "SIMULATED" if source.simulated else f"study{source.study_id}"
    title = f"Reader study results - {source.label}"  # a simulated source's label says SIMULATED
    st.caption(tr("res.export_note"))
    try:
        long_csv = reporting.long_csv_bytes(shown)
        imrmc = reporting.imrmc_bytes(shown, description=title)
    except AnalysisError as err:
        st.info(tr("res.no_export", reason=err))
    else:
        st.download_button(tr("res.export_csv"), long_csv,
                           file_name=f"{prefix}_reads_long.csv", mime="text/csv", key="export_csv")
        st.download_button(tr("res.export_imrmc"), imrmc, file_name=f"{prefix}_reads.imrmc",
                           mime="text/plain", key="export_imrmc")
    if figures:
        # Generated on click (deferred): each HTML file carries plotly.js (~5 MB) to open offline.
        report = dict(figures)
        st.download_button(
            tr("res.export_report"),
            partial(charts.charts_report_html, report, title=title, simulated=source.simulated,
                    notes=notes, tables=tables),
            file_name=f"{prefix}_results.html", mime="text/html", key="export_report",
        )
        name = st.selectbox(tr("res.one_chart"), list(report), key="export_chart_name")
        st.download_button(tr("res.chart_html", name=name), partial(charts.figure_html, report[name]),
                           file_name=f"{prefix}_{name.lower().replace(' ', '_')}.html",
                           mime="text/html", key="export_chart")
    st.caption(tr("res.png_note"))
