"""How a result is drawn: the demo page's film + score card, and the ensemble page's folds.

Everything here renders an :class:`~rds_core.pipeline.Analysis` that
:func:`pages._analysis.current_analysis` produced; the pictures come from :mod:`rds_core.render`.
Containers carry keys (``rds-score``, ``rds-overlay``, ``rds-result-end``...) that the CSS
in :mod:`pages._frame` and the browser tests rely on.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import streamlit as st

from pages._i18n import warning_text
from pages._plain import escape_markdown
from pages._analysis import current_analysis
from pages._films import InputChoice, clear_selection, selected
from pages._messages import lang, tr
from pages._state import session
from rds_core import render
from rds_core.geometry import fit_within
from rds_core.pipeline import Analysis

__all__ = [
    "result_heading",
    "score_card",
    "film_view",
    "heatmap_explainer",
    "timings_line",
    "warnings_box",
    "demo_result",
    "fold_chart",
    "disagreement_note",
    "fold_grid",
    "combined_maps",
    "in_lung_table",
    "ensemble_result",
]

GRID_SIDE = 360  # long side of each map in the ensemble grid, in pixels

# Run after the browser has laid out the new result, or scroll anchoring moves it again.
_SCROLL_TOP = """<script>
setTimeout(() => (document.querySelector('[data-testid="stMain"]') || document.scrollingElement).scrollTo({top: 0}), 80);
</script>"""


def result_heading(choice: InputChoice) -> None:
    """The back-to-gallery button (forgets the chosen film) and the film's name, on one row."""
    with st.container(horizontal=True, vertical_alignment="center", gap="large"):
        st.button(tr("result.back"), key="rds-back", on_click=clear_selection)
        st.caption(tr("result.film", name=_film_name(choice)))


def _heading_and_analysis() -> tuple[Analysis, float] | None:
    """The result heading, then the chosen film's analysis (None when no film is chosen)."""
    choice = selected()
    if choice is None:
        return None
    result_heading(choice)
    return current_analysis()


def _scroll_to_top_once() -> None:
    """After a fresh result is drawn, scroll to the top once (not on every slider move)."""
    if session.take_scroll_to_top():
        st.html(_SCROLL_TOP, unsafe_allow_javascript=True)


def _film_name(choice: InputChoice) -> str:
    return choice.name if choice.kind == "sample" else f"{choice.name} ({tr('result.upload_name')})"


def _score_bar(analysis: Analysis) -> str:
    folds = "".join(f'<div class="rds-fold" style="left:{100 * p:.1f}%"></div>' for p in analysis.fold_probabilities)
    return (
        f'<div class="rds-bar"><div class="rds-fill" style="width:{100 * analysis.probability:.1f}%"></div>'
        f'<div class="rds-thr" style="left:{100 * analysis.threshold:.1f}%"></div>{folds}</div>'
        '<div class="rds-bar-labels"><span>0</span><span>1</span></div>'
    )


def score_card(analysis: Analysis) -> None:
    """The demo model score with its threshold, fold spread and the notice - never a diagnosis."""
    with st.container(key="rds-score", border=True):
        simulated = "simulated" in analysis.pack.notice.lower()  # a real-data pack is not called simulated
        st.markdown(f"### {tr('result.score_title')}", help=tr("result.score_help" if simulated else "result.score_help_pack"))
        if not analysis.lungs_found:
            st.warning(tr("result.no_lungs"), icon=":material/warning:")
        st.markdown(f'<div class="rds-score-value">{analysis.probability:.2f}</div>', unsafe_allow_html=True)
        st.markdown(_score_bar(analysis), unsafe_allow_html=True)
        side = "result.above" if analysis.positive else "result.below"
        st.markdown(f'<div class="rds-label">{tr(side, threshold=analysis.threshold, label=analysis.label)}</div>',
                    unsafe_allow_html=True)
        probs = analysis.fold_probabilities
        st.markdown(tr("result.spread", spread=analysis.spread, low=min(probs), high=max(probs)))
        st.markdown(f"**{tr('result.not_diagnosis')}** {tr('notice.short')}")


def _legend() -> None:
    bar = base64.b64encode(render.to_png(render.colorbar(192, 12))).decode("ascii")
    st.markdown(f'<div class="rds-legend"><span>{tr("result.legend_low")}</span>'
                f'<img src="data:image/png;base64,{bar}" alt=""/><span>{tr("result.legend_high")}</span></div>',
                unsafe_allow_html=True)


@st.fragment
def film_view(analysis: Analysis) -> None:
    """The film with the lung outline and the fused heatmap, with its controls.

    A fragment: moving the slider or a toggle reruns only this column, not the whole page.
    """
    # The image comes first (the controls below it) so the film sits high on the screen; the
    # widgets still run first because the image depends on them.
    picture = st.container(key="rds-overlay")
    _legend()
    toggles = st.columns(2)
    show_heat = toggles[0].toggle(tr("result.show_heatmap"), value=True, key="rds_show_heat")
    show_contour = toggles[1].toggle(tr("result.show_contour"), value=True, key="rds_show_contour")
    opacity = st.slider(tr("result.opacity"), 0.0, 1.0, 0.5, 0.05, key="rds_opacity",
                        disabled=not show_heat or analysis.cams is None)
    picture.image(_overlay_jpeg(analysis, show_heat and analysis.cams is not None, show_contour, opacity),
                  width="stretch", caption=tr("result.image_caption"), output_format="JPEG")


def _overlay_jpeg(analysis: Analysis, show_heat: bool, show_contour: bool, opacity: float) -> bytes:
    """The film view's picture, drawn and encoded once per (analysis, controls) and kept in the session.

    JPEG, not PNG: a 768 px overlay is ~10x smaller and encodes in a few ms, which is most of
    a click's time outside the model; Streamlit passes JPEG bytes through unchanged. A rerun
    (language switch, moving the slider back) reuses the bytes instead of drawing again.
    """
    key = ("overlay", show_heat, show_contour, round(opacity, 3))
    cache = _session_cache(analysis)
    if key not in cache:
        heat = analysis.cams.fused if show_heat and analysis.cams is not None else None
        image = render.overlay(analysis.display, heatmap=heat, opacity=opacity,
                               lung_mask=analysis.lung_mask_display if show_contour else None)
        cache[key] = render.to_jpeg(image)
    return cache[key]


def _session_cache(analysis: Analysis) -> dict[object, bytes]:
    """Encoded pictures of the current analysis (forgotten when another film is analysed)."""
    cache = session.map_cache
    if cache is None or cache["analysis"] is not analysis:
        cache = {"analysis": analysis}
        session.map_cache = cache
    return cache


def heatmap_explainer() -> None:
    """Plain-language: what the heatmap means and what it does not mean."""
    with st.container(border=True, key="rds-explain"):
        st.markdown(f"#### {tr('heatmap.title')}")
        means, not_means = st.columns(2)
        means.markdown(f"**{tr('heatmap.means_title')}**\n\n{tr('heatmap.means')}")
        not_means.markdown(f"**{tr('heatmap.not_means_title')}**\n\n{tr('heatmap.not_means')}")


def timings_line(analysis: Analysis, load_ms: float) -> None:
    """Stage timings in one caption line."""
    parts = [f"{tr('stage.load')} {load_ms:.0f} ms"]
    for stage in ("segmentation", "classification", "explanation", "total"):
        if stage in analysis.timings_ms:
            parts.append(f"{tr('stage.' + stage)} {analysis.timings_ms[stage]:.0f} ms")
    with st.container(key="rds-timings"):
        st.caption(f"{tr('timings.title')}: " + " · ".join(parts) + " " + tr("timings.device", device=analysis.device))


def warnings_box(analysis: Analysis) -> None:
    """Warnings of the loader and the pipeline, translated where a translation exists."""
    if analysis.warnings:
        items = "\n".join(f"- {escape_markdown(warning_text(w, lang()))}" for w in dict.fromkeys(analysis.warnings))
        st.info(f"**{tr('result.warnings')}**\n\n{items}", icon=":material/info:")


def demo_result() -> None:
    """The demo page's result view for the chosen film."""
    result = _heading_and_analysis()
    if result is None:
        return
    analysis, load_ms = result
    with st.container(key="rds-result"):
        with st.container(key="rds-cols"):
            # Equal halves read well from a 1920 px kiosk down to a tablet in landscape.
            left, right = st.columns(2, gap="large")
        with left:
            film_view(analysis)
        with right:
            score_card(analysis)
            warnings_box(analysis)
            heatmap_explainer()
            timings_line(analysis, load_ms)
        with st.container(key="rds-result-end"):  # marks "everything drawn" for the browser tests
            st.html('<span class="rds-done"></span>')
    _scroll_to_top_once()


# --- ensemble view -------------------------------------------------------------------------


def fold_chart(analysis: Analysis) -> Any:
    """Plotly bar chart of the fold scores with the threshold and the ensemble mean."""
    import plotly.graph_objects as go

    labels = [tr("ens.fold", k=k + 1) for k in range(len(analysis.fold_probabilities))]
    colours = ["#c4553a" if p >= analysis.threshold else "#5b7db1" for p in analysis.fold_probabilities]
    figure = go.Figure(go.Bar(x=labels, y=analysis.fold_probabilities, marker_color=colours, showlegend=False,
                              text=[f"{p:.2f}" for p in analysis.fold_probabilities], textposition="outside"))
    # Threshold and mean as legend entries rather than in-plot labels, which collide with the bar labels.
    for name, value, style in ((tr("ens.threshold", t=analysis.threshold), analysis.threshold, "dash"),
                               (tr("ens.mean", p=analysis.probability), analysis.probability, "solid")):
        figure.add_trace(go.Scatter(x=labels, y=[value] * len(labels), mode="lines", name=name,
                                    line={"dash": style, "color": "#222" if style == "dash" else "#2f855a", "width": 2}))
    figure.update_layout(yaxis={"range": [0, 1.1], "title": tr("ens.axis_score")},
                         xaxis={"title": tr("ens.axis_fold")}, height=380, font={"size": 16},
                         legend={"orientation": "h", "y": 1.12, "x": 0},
                         margin={"l": 40, "r": 20, "t": 40, "b": 40})
    return figure


def disagreement_note(analysis: Analysis) -> None:
    """A short note when the folds disagree (wide spread or both sides of the threshold)."""
    verdict = analysis.disagreement
    if not verdict.disagree:
        st.success(tr("ens.agree", spread=verdict.spread), icon=":material/check_circle:")
        return
    reasons = []
    if verdict.too_spread:
        reasons.append(tr("ens.reason_spread", spread=verdict.spread, limit=verdict.spread_limit))
    if verdict.split:
        reasons.append(tr("ens.reason_sides", above=verdict.above, below=verdict.below,
                          n=verdict.above + verdict.below))
    bullet_list = "\n".join(f"- {reason}" for reason in reasons)
    with st.container(key="rds-disagree"):
        st.warning(f"**{tr('ens.disagree_title')}**\n\n{bullet_list}\n\n{tr('ens.why')}", icon=":material/warning:")


def _small(analysis: Analysis, values: np.ndarray) -> np.ndarray:
    """A display-resolution map shrunk to the grid size (drawing 8 small maps, not 8 large ones)."""
    return fit_within(values.astype(np.float32), GRID_SIDE)


def _map_jpeg(analysis: Analysis, name: str, heat: np.ndarray, opacity: float = 0.6) -> bytes:
    """One small map over the film, drawn once per analysis and kept in the session.

    The ensemble page shows eight of them; without the cache every click on the page (the
    scale switch, a language change) would draw and encode all eight again.
    """
    cache = _session_cache(analysis)
    if name not in cache:
        film = _small(analysis, analysis.display)
        lungs = _small(analysis, analysis.lung_mask_display) > 0.5
        image = render.overlay(film, heatmap=_small(analysis, heat), opacity=opacity, lung_mask=lungs, contour_width=1)
        cache[name] = render.to_jpeg(image)
    return cache[name]


def fold_grid(analysis: Analysis) -> None:
    """Per-fold maps, on a shared scale (default) or each on its own."""
    cams = analysis.cams
    if cams is None:
        return
    st.subheader(tr("ens.maps_title"))
    scale = st.radio(tr("ens.scale"), ("shared", "own"), horizontal=True, key="rds_scale",
                     format_func=lambda v: tr("ens.scale_" + v))
    maps = cams.shared_scale if scale == "shared" else cams.per_fold
    with st.container(key="rds-fold-grid"):
        for k, column in enumerate(st.columns(len(maps))):
            with column:
                caption = tr("ens.fold", k=k + 1) + ": " + tr(
                    "ens.fold_caption", p=analysis.fold_probabilities[k], inside=cams.in_lung_folds[k])
                st.image(_map_jpeg(analysis, f"{scale}-{k}", maps[k]), width="stretch", output_format="JPEG",
                         caption=caption)


def combined_maps(analysis: Analysis) -> None:
    """Fused map, agreement map and disagreement (spread) map side by side."""
    cams = analysis.cams
    if cams is None:
        return
    st.subheader(tr("ens.combined_title"))
    spread = np.clip(cams.spread * 2.0, 0.0, 1.0)  # a std of [0, 1] maps is at most 0.5
    panels = (
        ("ens.fused", tr("ens.fused_help"), cams.fused),
        ("ens.agreement", tr("ens.agreement_help", level=cams.agreement_level), cams.agreement),
        ("ens.spread_map", tr("ens.spread_help"), spread),
    )
    with st.container(key="rds-combined"):
        for column, (title, help_text, heat) in zip(st.columns(3), panels):
            with column:
                st.markdown(f"**{tr(title)}**")
                st.image(_map_jpeg(analysis, title, heat), width="stretch", output_format="JPEG")
                st.caption(help_text)


def in_lung_table(analysis: Analysis) -> None:
    """Fraction of each fold's (and the fused) map energy inside the lung mask."""
    import pandas as pd

    cams = analysis.cams
    if cams is None:
        return
    st.subheader(tr("ens.inlung_title"))
    names = [tr("ens.fold", k=k + 1) for k in range(len(cams.in_lung_folds))] + [tr("ens.fused_row")]
    scores = [f"{p:.2f}" for p in analysis.fold_probabilities] + [f"{analysis.probability:.2f}"]
    inside = [f"{v:.0%}" for v in [*cams.in_lung_folds, cams.in_lung_fused]]
    table = pd.DataFrame({tr("ens.col_model"): names, tr("ens.col_score"): scores, tr("ens.col_inside"): inside})
    st.table(table.set_index(tr("ens.col_model")))
    st.caption(tr("ens.inlung_help"))


def ensemble_result() -> None:
    """The ensemble page's view of the chosen film."""
    result = _heading_and_analysis()
    if result is None:
        return
    analysis, _ = result
    with st.container(key="rds-ensemble"):
        chart, summary = st.columns([3, 2], gap="large")
        with chart:
            st.markdown(f"#### {tr('ens.chart_title')}")
            st.plotly_chart(fold_chart(analysis), width="stretch", config={"displayModeBar": False})
        with summary:
            score_card(analysis)
            disagreement_note(analysis)
        fold_grid(analysis)
        combined_maps(analysis)
        in_lung_table(analysis)
        warnings_box(analysis)
    _scroll_to_top_once()
