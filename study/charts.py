"""Plotly figures of the reader study, and their export as offline HTML. No Streamlit here.

Every figure takes the tidy table of reads (`study.analysis.table`: reader, arm, case,
truth, rating, call, and per chart reader_role, time_s, flagged) and the same two filters,
``arms`` and ``roles`` (None = all), applied with `study.reporting.filter_reads`. The numbers
drawn come from `study.analysis` wherever it has them, so a chart never disagrees with a
table.

Arms keep one colour everywhere (`arm_colour`), and legends use their plain names
(`study.reporting.arm_name`).

HTML export embeds plotly.js from the installed plotly package instead of linking the CDN:
the team's machines (and the study server) may be offline, and a chart file must open there.
The price is about 4.8 MB per file, so `charts_report_html` puts every chart in one file with
one copy of the library.
"""

from __future__ import annotations

import html
import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from study.analysis.automation_bias import readers_harmed
from study.analysis.errors import ReadTableError
from study.analysis.power import PlanComponents, power_given_jk
from study.analysis.reader_metrics import reader_calls, reader_metrics
from study.analysis.switching import SWITCH_COUNTS, switching, switching_by_arm
from study.analysis.table import binary_column, check_truth, numeric_column, require_columns, sorted_labels
from study.design import UNAIDED_ARM
from study.reporting import arm_name, arm_order, chart_readiness, filter_reads, role_order

__all__ = [
    "ARM_COLOURS",
    "arm_colour",
    "roc_points",
    "roc_curves",
    "paired_reader_chart",
    "switching_sankey",
    "reading_time_chart",
    "case_difficulty_chart",
    "automation_bias_chart",
    "power_curves",
    "mark_simulated",
    "figure_html",
    "charts_report_html",
]

#: Colour of each study arm: grey without AI, blue with the score, orange with the heatmap.
ARM_COLOURS: dict[str, str] = {"none": "#6b7280", "score": "#2b6cb0", "score_heatmap": "#dd6b20"}
_CORRECT, _WRONG = "#2f855a", "#c53030"
_LINK_COLOURS = {
    "correct_to_correct": "rgba(47,133,90,0.35)",
    "correct_to_wrong": "rgba(197,48,48,0.75)",
    "wrong_to_correct": "rgba(47,133,90,0.85)",
    "wrong_to_wrong": "rgba(197,48,48,0.30)",
}
_FONT = dict(size=14)


def arm_colour(arm: Hashable, arms: Sequence[Hashable] = ()) -> str:
    """The colour of an arm: fixed for the study arms, from a palette for others.

    Args:
        arm: arm label.
        arms: all arms of the chart, so that unknown arms get distinct colours.
    """
    if str(arm) in ARM_COLOURS:
        return ARM_COLOURS[str(arm)]
    others = [a for a in arms if str(a) not in ARM_COLOURS] or [arm]
    index = others.index(arm) if arm in others else 0
    return qualitative.Safe[index % len(qualitative.Safe)]


def _role_colours(roles: Sequence[Hashable]) -> dict[Hashable, str]:
    return {role: qualitative.Dark2[i % len(qualitative.Dark2)] for i, role in enumerate(roles)}


def _role_of(table: pd.DataFrame) -> pd.Series:
    """Each reader's role (empty without a reader_role column)."""
    if "reader_role" not in table.columns:
        return pd.Series(dtype=object)
    return table.drop_duplicates("reader").set_index("reader")["reader_role"]


def _select(
    reads: pd.DataFrame,
    arms: Sequence[Hashable] | None,
    roles: Sequence[Hashable] | None,
    columns: Sequence[str],
    purpose: str,
) -> pd.DataFrame:
    table = filter_reads(reads, arms=arms, roles=roles)
    require_columns(table, columns, purpose)
    return table


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    # Title and legend sit in the top margin at fixed pixel offsets (container coordinates), so
    # the legend never covers a subplot title whatever the figure's height.
    fig.update_layout(
        title=dict(text=title, x=0.0, xanchor="left", yref="container", y=1 - 16 / height, yanchor="top"),
        height=height,
        template="plotly_white",
        font=_FONT,
        margin=dict(l=60, r=30, t=110, b=60),
        legend=dict(orientation="h", x=0.0, yref="container", y=1 - 52 / height, yanchor="top"),
    )
    return fig


def roc_points(truth: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical ROC operating points, from (0, 0) to (1, 1).

    One point per distinct rating used as a threshold (``rating >= threshold`` is
    positive), so tied ratings give a diagonal segment and the trapezoidal area under the
    points equals the empirical AUC with ties counting 1/2.

    Args:
        truth: 0/1 (or bool) per read, 1 = diseased.
        ratings: rating per read, higher = more likely diseased.

    Returns:
        ``(fpr, tpr)`` arrays of equal length.

    Raises:
        ReadTableError: no diseased or no non-diseased read.
    """
    truth = np.asarray(truth).astype(bool)
    ratings = np.asarray(ratings, dtype=float)
    positives, negatives = np.sort(ratings[truth]), np.sort(ratings[~truth])
    if len(positives) == 0 or len(negatives) == 0:
        raise ReadTableError("An ROC curve needs at least one diseased and one non-diseased case.")
    thresholds = np.unique(ratings)[::-1]
    # Count of ratings >= each threshold, from the sorted arrays.
    tpr = (len(positives) - np.searchsorted(positives, thresholds, side="left")) / len(positives)
    fpr = (len(negatives) - np.searchsorted(negatives, thresholds, side="left")) / len(negatives)
    return np.r_[0.0, fpr], np.r_[0.0, tpr]


def _grid(n_panels: int, columns: int) -> tuple[int, int]:
    cols = max(1, min(columns, n_panels))
    return math.ceil(n_panels / cols), cols


def roc_curves(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    roles: Sequence[Hashable] | None = None,
    columns: int = 3,
) -> go.Figure:
    """Empirical ROC curve of every reader, one panel per reader, one line per arm.

    The reader's yes/no call is marked as a cross on each curve when the table has a call
    column (the operating point behind accuracy, sensitivity and specificity).

    Args:
        reads: tidy table with reader, arm, case, truth, rating (call optional).
        arms: arms to show; None = all.
        roles: reader roles to show; None = all.
        columns: panels per row.

    Returns:
        The figure.

    Raises:
        ReadTableError: until cases with and without RDS have been read.
    """
    table = _select(reads, arms, roles, ["reader", "arm", "case", "truth", "rating"], "ROC curves")
    check_truth(table)
    truth = binary_column(table, "truth")
    if truth.all() or not truth.any():
        # A curve needs both classes; until then say how far the study is instead.
        raise ReadTableError(chart_readiness(table) or "A ROC curve needs cases with and without RDS.")
    rating = numeric_column(table, "rating")
    calls = reader_calls(table) if "call" in table.columns else None
    readers = sorted_labels(table["reader"])
    arm_list = arm_order(table["arm"])
    role_of = _role_of(table)
    titles = [f"{r} ({role_of[r]})" if r in role_of.index else str(r) for r in readers]
    rows, cols = _grid(len(readers), columns)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.06, vertical_spacing=min(0.2, 80 / (300 * rows)))
    for i, reader in enumerate(readers):
        row, col = i // cols + 1, i % cols + 1
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", showlegend=False, hoverinfo="skip",
                                 line=dict(color="#cbd5e0", dash="dot", width=1)), row=row, col=col)
        for arm in arm_list:
            mask = ((table["reader"] == reader) & (table["arm"] == arm)).to_numpy()
            t, r = truth.to_numpy()[mask], rating.to_numpy()[mask]
            if t.all() or not t.any():
                continue  # no ROC without both classes; the metrics table says NaN
            fpr, tpr = roc_points(t, r)
            auc = float(np.trapezoid(tpr, fpr))
            colour = arm_colour(arm, arm_list)
            fig.add_trace(go.Scatter(
                x=fpr, y=tpr, mode="lines", line=dict(color=colour, width=2, shape="linear"),
                name=arm_name(arm), legendgroup=str(arm), showlegend=i == 0,
                hovertemplate=f"{reader} - {arm_name(arm)}<br>AUC {auc:.3f}<br>"
                              "1 - specificity %{x:.2f}<br>sensitivity %{y:.2f}<extra></extra>",
            ), row=row, col=col)
            if calls is not None:
                c = calls.to_numpy()[mask]
                fig.add_trace(go.Scatter(
                    x=[float((c & ~t).sum() / (~t).sum())], y=[float((c & t).sum() / t.sum())],
                    mode="markers", marker=dict(color=colour, symbol="x", size=10),
                    legendgroup=str(arm), showlegend=False,
                    hovertemplate=f"{reader} - {arm_name(arm)}: yes/no call<br>"
                                  "1 - specificity %{x:.2f}<br>sensitivity %{y:.2f}<extra></extra>",
                ), row=row, col=col)
    fig.update_xaxes(range=[0, 1], constrain="domain", title_text="1 - specificity", title_standoff=4)
    fig.update_yaxes(range=[0, 1.02], title_text="sensitivity", title_standoff=4)
    return _layout(fig, "ROC curve of each reader by arm (x = the reader's yes/no call)",
                   height=120 + 300 * rows)


def paired_reader_chart(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    roles: Sequence[Hashable] | None = None,
) -> go.Figure:
    """Each reader's accuracy and AUC in each arm, joined by a line (paired, unaided vs aided).

    A line going up from ``No AI`` to an AI arm is a reader who did better with the hint.
    Lines are coloured by reader role; the black line is the mean over readers.

    Args:
        reads: tidy table with reader, arm, case, truth, rating, call (reader_role
            optional).
        arms: arms to show; None = all.
        roles: reader roles to show; None = all.

    Returns:
        The figure (accuracy left, AUC right, both on a fixed 0-1 axis), values from
        `study.analysis.reader_metrics`.

    Raises:
        ReadTableError: until both classes and two arms have been read (the message says
            what is missing and how far the study is).
    """
    table = _select(reads, arms, roles, ["reader", "arm", "case", "truth", "rating", "call"],
                    "The per-reader chart")
    missing = chart_readiness(table)
    if missing:
        raise ReadTableError(missing)
    metrics = reader_metrics(table)
    arm_list = arm_order(table["arm"])
    names = [arm_name(a) for a in arm_list]
    metrics["position"] = metrics["arm"].map({a: i for i, a in enumerate(arm_list)})
    metrics = metrics.sort_values(["reader", "position"])
    role_of = _role_of(table)
    roles_present = role_order(role_of.to_numpy()) if len(role_of) else []
    colours = _role_colours(roles_present)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["Accuracy (yes/no call)", "AUC (confidence)"],
                        horizontal_spacing=0.1)
    shown_roles: set[Hashable] = set()
    for col, metric in ((1, "accuracy"), (2, "auc")):
        for reader, group in metrics.groupby("reader", sort=True):
            role = role_of.get(reader, None)
            first = role not in shown_roles
            shown_roles.add(role)
            fig.add_trace(go.Scatter(
                x=[names[p] for p in group["position"]], y=group[metric], mode="lines+markers",
                line=dict(color=colours.get(role, "#718096"), width=1.5), marker=dict(size=7),
                name=str(role) if role is not None else "readers", legendgroup=str(role),
                showlegend=first,
                hovertemplate=f"{reader} ({role})<br>%{{x}}: {metric} %{{y:.3f}}<extra></extra>",
            ), row=1, col=col)
        mean = metrics.groupby("position")[metric].mean().sort_index()
        fig.add_trace(go.Scatter(
            x=[names[p] for p in mean.index], y=mean.to_numpy(), mode="lines+markers",
            line=dict(color="black", width=4), marker=dict(size=11, symbol="diamond"),
            name="Mean of readers", legendgroup="mean", showlegend=col == 1,
            hovertemplate=f"Mean %{{x}}: {metric} %{{y:.3f}}<extra></extra>",
        ), row=1, col=col)
    fig.update_xaxes(categoryorder="array", categoryarray=names, type="category")
    # Fixed 0-1 axes: early in a study a free axis would zoom into noise (or run -1..4).
    fig.update_yaxes(range=[0, 1])
    fig.update_traces(cliponaxis=False)  # markers at exactly 1.0 stay whole
    return _layout(fig, "Each reader with and without AI (one line per reader)", height=480)


def _centre(correct: int, total: int, upper: bool) -> float:
    share = correct / total if total else 0.5
    centre = share / 2 if upper else share + (1 - share) / 2
    return min(max(centre, 0.001), 0.999)


def switching_sankey(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    roles: Sequence[Hashable] | None = None,
    unaided: Hashable = UNAIDED_ARM,
) -> go.Figure:
    """Sankey of how diagnoses changed from the unaided read to the aided read of the same case.

    One diagram per aided arm (stacked), flows summed over readers: correct -> correct,
    correct -> wrong (the hint hurt, red), wrong -> correct (the hint helped, green),
    wrong -> wrong. Counts come from `study.analysis.switching`.

    Args:
        reads: tidy table with reader, arm, case, truth, call.
        arms: arms to include (must contain ``unaided`` and an aided arm); None = all.
        roles: reader roles to include; None = all.
        unaided: label of the arm without AI.

    Returns:
        The figure.
    """
    table = _select(reads, arms, roles, ["reader", "arm", "case", "truth", "call"], "The switching chart")
    totals = switching_by_arm(switching(table, unaided=unaided)).set_index("arm")
    aided_arms = [a for a in arm_order(totals.index) if a in totals.index]
    fig = go.Figure()
    n = len(aided_arms)
    # Each diagram gets a horizontal band; its heading sits in the band's top strip.
    band, heading = 1.0 / n, 0.1 / n
    for i, arm in enumerate(aided_arms):
        counts = totals.loc[arm]
        before_ok = int(counts["correct_to_correct"] + counts["correct_to_wrong"])
        after_ok = int(counts["correct_to_correct"] + counts["wrong_to_correct"])
        pairs = int(counts["n_pairs"])
        labels = [
            f"Correct with {arm_name(unaided)}: {before_ok}",
            f"Wrong with {arm_name(unaided)}: {pairs - before_ok}",
            f"Correct with {arm_name(arm)}: {after_ok}",
            f"Wrong with {arm_name(arm)}: {pairs - after_ok}",
        ]
        ends = {"correct_to_correct": (0, 2), "correct_to_wrong": (0, 3),
                "wrong_to_correct": (1, 2), "wrong_to_wrong": (1, 3)}
        kinds = [k for k in SWITCH_COUNTS if int(counts[k]) > 0]
        fig.add_trace(go.Sankey(
            domain=dict(x=[0.0, 1.0], y=[1.0 - (i + 1) * band + heading / 2, 1.0 - i * band - heading]),
            arrangement="fixed",
            node=dict(label=labels, color=[_CORRECT, _WRONG, _CORRECT, _WRONG], pad=18, thickness=18,
                      # Node positions are centres: correct on top, wrong below, each centred
                      # in its share of the column so that big nodes stay inside the band.
                      x=[0.01, 0.01, 0.99, 0.99],
                      y=[_centre(before_ok, pairs, True), _centre(before_ok, pairs, False),
                         _centre(after_ok, pairs, True), _centre(after_ok, pairs, False)]),
            link=dict(
                source=[ends[k][0] for k in kinds], target=[ends[k][1] for k in kinds],
                value=[int(counts[k]) for k in kinds], color=[_LINK_COLOURS[k] for k in kinds],
                customdata=[k.replace("_", " ") for k in kinds],
                hovertemplate="%{customdata}: %{value} reads<extra></extra>",
            ),
            name=arm_name(arm),
        ))
        fig.add_annotation(
            text=f"<b>{arm_name(unaided)} -> {arm_name(arm)}</b>: {pairs} paired reads, "
                 f"{int(counts['wrong_to_correct'])} fixed by the hint, "
                 f"{int(counts['correct_to_wrong'])} broken by it",
            x=0.0, xanchor="left", y=1.0 - i * band, yanchor="top", xref="paper", yref="paper",
            showarrow=False, font=dict(size=13),
        )
    return _layout(fig, "How the diagnosis changed after the AI hint (same reader, same case)",
                   height=80 + 330 * n)


def reading_time_chart(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    roles: Sequence[Hashable] | None = None,
) -> go.Figure:
    """Distribution of the time spent on a case, one box per arm.

    Reads without a recorded time are left out (the figure's title says how many).

    Args:
        reads: tidy table with arm and time_s (seconds).
        arms: arms to show; None = all.
        roles: reader roles to show; None = all.

    Returns:
        The figure.
    """
    table = _select(reads, arms, roles, ["arm"], "The reading-time chart")
    if "time_s" not in table.columns:
        raise ReadTableError("These reads have no reading times (column time_s).")
    seconds = pd.to_numeric(table["time_s"], errors="coerce")
    missing = int(seconds.isna().sum())
    if missing == len(table):
        raise ReadTableError("No reading time was recorded for these reads.")
    arm_list = arm_order(table["arm"])
    fig = go.Figure()
    for arm in arm_list:
        values = seconds[(table["arm"] == arm).to_numpy()].dropna()
        fig.add_trace(go.Box(
            y=values, name=arm_name(arm), marker_color=arm_colour(arm, arm_list),
            boxpoints="outliers", boxmean=True,
            hovertemplate=f"{arm_name(arm)}: %{{y:.1f}} s<extra></extra>",
        ))
    fig.update_yaxes(title_text="seconds on the case", rangemode="tozero")
    fig.update_layout(showlegend=False)
    note = f" ({missing} reads without a time left out)" if missing else ""
    return _layout(fig, f"Reading time per case, by arm (median, quartiles; dashed = mean){note}", height=460)


def case_difficulty_chart(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    roles: Sequence[Hashable] | None = None,
) -> go.Figure:
    """Share of readers who got each case right, per arm; hardest cases on the left.

    RDS and non-RDS cases are in separate panels (a case can be hard in one direction only).
    Automation-bias cases (flagged: the AI hint was wrong on purpose) are drawn as diamonds.

    Args:
        reads: tidy table with reader, arm, case, truth, call (flagged, rating optional).
        arms: arms to show; None = all.
        roles: reader roles to show; None = all.

    Returns:
        The figure.
    """
    table = _select(reads, arms, roles, ["reader", "arm", "case", "truth", "call"],
                    "The case difficulty chart")
    check_truth(table)
    frame = pd.DataFrame({
        "case": table["case"], "arm": table["arm"],
        "truth": binary_column(table, "truth").astype(int),
        "correct": (reader_calls(table) == binary_column(table, "truth")).astype(float),
        "flagged": binary_column(table, "flagged").astype(int) if "flagged" in table.columns else 0,
    })
    per = (frame.groupby(["case", "arm"], sort=False)
           .agg(share=("correct", "mean"), readers=("correct", "size"),
                truth=("truth", "first"), flagged=("flagged", "max"))
           .reset_index())
    ease = per.groupby("case")["share"].mean()
    arm_list = arm_order(per["arm"])
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.18,
                        subplot_titles=["RDS cases (truth: RDS)", "Non-RDS cases (truth: no RDS)"])
    for row, truth_value in ((1, 1), (2, 0)):
        cases = sorted_labels(per.loc[per["truth"] == truth_value, "case"])
        cases.sort(key=lambda c: ease[c])  # stable: ties keep the label order
        order = [str(c) for c in cases]
        for arm in arm_list:
            part = per[(per["truth"] == truth_value) & (per["arm"] == arm)]
            if part.empty:
                continue
            part = part.set_index("case").loc[[c for c in cases if c in set(part["case"])]]
            fig.add_trace(go.Scatter(
                x=[str(c) for c in part.index], y=part["share"], mode="markers",
                marker=dict(color=arm_colour(arm, arm_list), size=9, opacity=0.85,
                            symbol=["diamond" if f else "circle" for f in part["flagged"]],
                            line=dict(width=0.5, color="white")),
                name=arm_name(arm), legendgroup=str(arm), showlegend=False,
                customdata=np.c_[part["readers"].to_numpy(), part["flagged"].to_numpy()],
                hovertemplate=f"case %{{x}} - {arm_name(arm)}<br>%{{y:.0%}} of %{{customdata[0]}} "
                              "readers correct<br>automation-bias case: %{customdata[1]}<extra></extra>",
            ), row=row, col=1)
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=order, row=row, col=1,
                         showticklabels=len(order) <= 40, title_text="cases, hardest first")
    for arm in arm_list:
        # Legend-only entries: the real traces mix circles and diamonds, the legend should not.
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=arm_name(arm),
                                 legendgroup=str(arm), marker=dict(color=arm_colour(arm, arm_list), size=9)),
                      row=1, col=1)
    fig.update_yaxes(range=[-0.05, 1.05], tickformat=".0%", title_text="readers correct")
    return _layout(fig, "Case difficulty: share of readers correct (diamond = automation-bias case)",
                   height=720)


def automation_bias_chart(
    reads: pd.DataFrame,
    *,
    arms: Sequence[Hashable] | None = None,
    roles: Sequence[Hashable] | None = None,
) -> go.Figure:
    """Each reader's accuracy on the AI-wrong cases, without AI (x) and with it (y).

    Readers below the diagonal did worse with the hint on the cases where it was wrong: the AI
    harmed them (red, named); `study.analysis.automation_bias.readers_harmed` decides.

    Args:
        reads: tidy table with reader, arm, case, truth, call and ai_call (or flagged).
        arms: arms to show (the unaided arm ``none`` must be among them); None = all.
        roles: reader roles; None = all.
    """
    table = _select(reads, arms, roles, ["reader", "arm", "case", "truth", "call"],
                    "The automation-bias chart")
    harmed = readers_harmed(table)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#a0aec0", dash="dot"),
                             name="same accuracy", hoverinfo="skip"))
    arm_list = arm_order(harmed["arm"])
    for arm in arm_list:
        part = harmed[harmed["arm"] == arm]
        fig.add_trace(go.Scatter(
            x=part["accuracy_unaided"], y=part["accuracy_aided"], mode="markers+text",
            text=[str(r) if h else "" for r, h in zip(part["reader"], part["harmed"])],
            textposition="bottom right", cliponaxis=False,
            marker=dict(size=12, color=[_WRONG if h else arm_colour(arm, arm_list) for h in part["harmed"]],
                        symbol=["x" if h else "circle" for h in part["harmed"]],
                        line=dict(width=1, color="white")),
            name=f"{arm_name(arm)} (red x = harmed)",
            hovertemplate="%{text}<br>without AI %{x:.2f}, with AI %{y:.2f}<extra></extra>",
        ))
    fig.update_xaxes(range=[0, 1], title_text="accuracy on AI-wrong cases, no AI", tickformat=".0%")
    fig.update_yaxes(range=[0, 1], title_text="accuracy on AI-wrong cases, with AI", tickformat=".0%")
    n = int(harmed["harmed"].sum())
    return _layout(fig, f"Automation bias: {n} reader-arm pair(s) harmed by a wrong AI hint", height=520)


def power_curves(
    components: PlanComponents,
    *,
    effect: float,
    readers: Sequence[int] = (4, 6, 8, 12, 16),
    cases: Sequence[int] = tuple(range(20, 401, 10)),
    analysis: str = "RRRC",
    alpha: float = 0.05,
    target: float = 0.8,
) -> go.Figure:
    """Planned power over the number of cases, one line per number of readers.

    Args:
        components: variance components of a pilot, or published ones
            (`study.analysis.power.VANDYKE_COMPONENTS`); their ``source`` is in the title.
        effect: AUC difference to detect.
        readers: reader counts, one line each.
        cases: case counts on the x axis.
        analysis: ``"RRRC"`` (default), ``"FRRC"`` or ``"RRFC"``.
        alpha: significance level.
        target: power drawn as a dashed line (e.g. 0.8).
    """
    fig = go.Figure()
    for index, j in enumerate(readers):
        power = [power_given_jk(components, effect=effect, readers=j, cases=k, alpha=alpha,
                                analysis=analysis).power for k in cases]
        fig.add_trace(go.Scatter(x=list(cases), y=power, mode="lines", name=f"{j} readers",
                                 line=dict(color=qualitative.Safe[index % len(qualitative.Safe)], width=2),
                                 hovertemplate=f"{j} readers, %{{x}} cases: power %{{y:.2f}}<extra></extra>"))
    fig.add_hline(y=target, line=dict(color="#c53030", dash="dash"),
                  annotation_text=f"power {target:.0%}", annotation_position="top left")
    fig.update_xaxes(title_text="cases (diseased + non-diseased, same mix as the pilot)")
    fig.update_yaxes(range=[0, 1], title_text=f"power ({analysis})", tickformat=".0%")
    return _layout(fig, f"Power to detect an AUC difference of {abs(effect):.3f} "
                   f"({components.source})", height=480)


def mark_simulated(fig: go.Figure) -> go.Figure:
    """A copy of the figure labelled SIMULATED in its title and with a watermark.

    Exported charts travel without the page around them, so the label must be in the chart.

    Args:
        fig: any figure.
    """
    marked = go.Figure(fig)
    title = marked.layout.title.text or ""
    marked.update_layout(title_text=f"SIMULATED DATA - {title}")
    marked.add_annotation(text="SIMULATED", xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                          textangle=-20, opacity=0.12, font=dict(size=90, color="#c53030"))
    return marked


def figure_html(fig: go.Figure) -> str:
    """One figure as a self-contained HTML page that opens offline (plotly.js embedded).

    Args:
        fig: the figure.
    """
    return fig.to_html(full_html=True, include_plotlyjs=True, config={"displaylogo": False})


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1a202c; }
.simulated { background: #fed7d7; color: #742a2a; padding: 0.8rem 1rem; font-weight: bold;
             border-left: 6px solid #c53030; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e2e8f0; text-align: right; }
th { background: #edf2f7; }
"""


def charts_report_html(
    figures: Mapping[str, go.Figure],
    *,
    title: str,
    simulated: bool = False,
    notes: Sequence[str] = (),
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> str:
    """Every chart (and optional tables) in one offline HTML file with one copy of plotly.js.

    Args:
        figures: section heading -> figure, in display order.
        title: page title.
        simulated: add a banner saying the data are simulated.
        notes: paragraphs under the title (e.g. the conclusion sentence).
        tables: section heading -> table, shown before the charts.

    Returns:
        The HTML document.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        # Inline library: the file must work without network access.
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if simulated:
        parts.append('<p class="simulated">SIMULATED STUDY - generated readers and cases with a known, '
                     "built-in AI effect. These are not real study results.</p>")
    parts += [f"<p>{html.escape(note)}</p>" for note in notes]
    for heading, table in (tables or {}).items():
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(table.to_html(index=False, border=0, na_rep="",
                                   float_format=lambda v: f"{v:.4f}"))
    for heading, fig in figures.items():
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))
    parts.append("</body></html>")
    return "\n".join(parts)
