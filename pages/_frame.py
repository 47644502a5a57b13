"""The frame every page shares: the style, the title with the research-demo notice, the language switch."""

from __future__ import annotations

import streamlit as st

from pages._i18n import LANGUAGE_NAMES, LANGUAGES
from pages._messages import lang, tr
from pages._packs import chosen_manifest, pack_is_simulated
from pages._plain import escape_markdown
from pages._state import DemoSession, keep_language_in_url

__all__ = ["apply_style", "notice", "page_header", "language_switch"]

_STYLE = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 4.2rem; }
h1 { font-size: 2.3rem !important; padding-top: 0 !important; }
.st-key-rds-score .rds-score-value { font-size: 4.5rem; font-weight: 650; line-height: 1.05; margin: 0.2rem 0; }
.st-key-rds-score .rds-label { font-size: 1.3rem; }
.rds-bar { position: relative; height: 1.1rem; border-radius: 0.55rem; background: #e6e9ef; margin: 0.8rem 0 1.4rem 0; }
.rds-fill { position: absolute; top: 0; left: 0; height: 100%; border-radius: 0.55rem; background: #5b7db1; }
.rds-thr { position: absolute; top: -0.35rem; height: 1.8rem; width: 3px; background: #222; }
.rds-fold { position: absolute; top: 0.25rem; width: 0.6rem; height: 0.6rem; margin-left: -0.3rem;
            border-radius: 50%; background: #fff; border: 2px solid #1f3b66; }
.rds-bar-labels { display: flex; justify-content: space-between; font-size: 0.85rem; color: #555; margin-top: -1.1rem; }
.st-key-rds-overlay img { max-height: calc(100vh - 300px); min-height: 280px; object-fit: contain; }
.st-key-rds-gallery button p { font-size: 1.1rem; }
/* Gallery rows wrap instead of shrinking thumbnails below a readable size. */
.st-key-rds-gallery [data-testid="stHorizontalBlock"] { flex-wrap: wrap; row-gap: 1rem; }
.st-key-rds-gallery [data-testid="stColumn"] { min-width: 150px; }
.rds-legend { display: flex; align-items: center; gap: 0.6rem; font-size: 0.9rem; }
.rds-legend span { white-space: nowrap; }
.rds-legend img { height: 0.9rem; flex: 1 1 auto; min-width: 4rem; max-width: 12rem; }
/* Narrow tablets: the two result columns stack; the explainer's two lists stack below full-HD width. */
@media (max-width: 1000px) {
  .st-key-rds-cols > [data-testid="stLayoutWrapper"] > [data-testid="stHorizontalBlock"] { flex-direction: column; }
  .st-key-rds-cols > [data-testid="stLayoutWrapper"] > [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {
    width: 100% !important; flex: 1 1 auto !important; min-width: 100%; }
}
@media (max-width: 1600px) {
  .st-key-rds-explain [data-testid="stHorizontalBlock"] { flex-direction: column; }
  .st-key-rds-explain [data-testid="stColumn"] { width: 100% !important; flex: 1 1 auto !important; min-width: 100%; }
}
</style>
"""


def apply_style() -> None:
    """Large type and the score card's look (one small CSS block)."""
    st.html(_STYLE)


def notice() -> None:
    """The persistent 'not for clinical use' notice, worded from the chosen pack's manifest.

    A pack trained on real data must not be called simulated, and a demo pack must say it is.
    """
    manifest = chosen_manifest()
    if pack_is_simulated(manifest):
        text = tr("notice.long")
    else:
        text = tr("notice.long_pack", name=manifest.name, notice=manifest.notice or tr("notice.short"))
    st.warning(f"**{tr('notice.short')}** {escape_markdown(text)}", icon=":material/info:")


def page_header(title_key: str, intro_key: str | None = None) -> None:
    """Page title, the notice and (optionally) one line of introduction."""
    st.title(tr(title_key))
    notice()
    if intro_key:
        st.markdown(tr(intro_key))


def language_switch() -> None:
    """Korean / English radio (sidebar)."""
    st.radio(tr("sidebar.language"), LANGUAGES, key=DemoSession.language.key, horizontal=True,
             format_func=lambda code: LANGUAGE_NAMES[code])
    keep_language_in_url(lang())
