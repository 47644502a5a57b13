"""Which weight packs the pages use: the sidebar's choice, the cached models, the model card.

The app's one model cache is here (``st.cache_resource``: the lung pack and each classification
pack once per process); :func:`rds_core.pipeline.load_models` itself caches nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import streamlit as st

from pages._messages import tr
from pages._state import DemoSession, session
from rds_core.classification import FoldEnsemble
from rds_core.device import resolve_device
from rds_core.errors import WeightPackError
from rds_core.imaging import Radiograph
from rds_core.models.packs import Manifest, default_pack_name, default_weights_dir, list_packs, read_manifest
from rds_core.pipeline import Models, analyze
from rds_core.segmentation import LungSegmenter

log = logging.getLogger("rds.app")

__all__ = ["preload", "current_pack_dir", "current_seg_pack_dir", "models_for", "pack_is_simulated", "chosen_manifest",
           "pack_switch", "about_pack"]


def current_pack_dir() -> Path:
    """Folder of the classification pack chosen in the sidebar (the default pack until then)."""
    return default_weights_dir() / (session.pack or default_pack_name("classification"))


def current_seg_pack_dir() -> Path:
    """Folder of the lung segmentation pack chosen in the sidebar (``$RDS_SEG_PACK`` or lung-seg)."""
    return default_weights_dir() / (session.seg_pack or default_pack_name("segmentation"))


@st.cache_resource(show_spinner=False, max_entries=2)
def _segmenter(seg_dir: str) -> LungSegmenter:
    return LungSegmenter(seg_dir, resolve_device("auto"))


@st.cache_resource(show_spinner=False, max_entries=3)
def _classifier(pack_dir: str) -> FoldEnsemble:
    return FoldEnsemble(pack_dir, resolve_device("auto"))


@st.cache_resource(show_spinner=False, max_entries=3)
def _warmed_up(pack_dir: str, seg_dir: str) -> bool:
    # One throw-away analysis pays torch's one-off start-up costs here, not on a visitor's click.
    yy, xx = np.mgrid[:256, :256]
    film = (0.5 + 0.4 * np.sin(xx / 17.0) * np.cos(yy / 23.0)).astype(np.float32)
    analyze(Radiograph(film, "<warm-up>", "png", original_size=(256, 256)), _assemble(pack_dir, seg_dir))
    return True


def _assemble(pack_dir: str, seg_dir: str) -> Models:
    classifier = _classifier(pack_dir)
    return Models(_segmenter(seg_dir), classifier, classifier.device)


def models_for(pack_dir: Path) -> Models:
    """The loaded packs (classification ``pack_dir`` + the chosen lung pack), cached per process.

    The lung pack is cached on its own, so two classification packs share one copy of it.

    Raises:
        WeightPackError: a pack is missing or does not verify.
    """
    seg_dir = str(current_seg_pack_dir())
    with st.spinner(tr("loading_models")):
        _warmed_up(str(pack_dir), seg_dir)
        return _assemble(str(pack_dir), seg_dir)


def preload() -> None:
    """Load and warm up the default packs into the app's cache (a thread started with the server).

    A kiosk is started before its first visitor: paying the packs' load and torch's first-call
    costs then keeps them off the first click. A click that comes first simply waits for the
    same cached call (Streamlit runs one computation per cache key).
    """
    # Outside a script run Streamlit warns that there is no ScriptRunContext; here that is expected.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    try:
        _warmed_up(str(default_weights_dir() / default_pack_name("classification")),
                   str(default_weights_dir() / default_pack_name("segmentation")))
    except Exception as exc:  # noqa: BLE001 - a missing pack is reported when a page needs it
        log.warning("preloading the default packs failed: %s", type(exc).__name__)


def pack_is_simulated(manifest: Manifest | None) -> bool:
    """True when the pack says it was trained on simulated RDS (the shipped demo pack)."""
    return manifest is None or "simulated" in manifest.notice.lower()


def chosen_manifest() -> Manifest | None:
    """Manifest of the classification pack chosen in the sidebar, or None when it cannot be read."""
    try:
        return read_manifest(current_pack_dir())
    except WeightPackError:
        return None


def pack_switch() -> list[tuple[str, Manifest]]:
    """The pack selectbox; returns the installed packs (empty when none)."""
    weights = default_weights_dir()
    packs = list_packs("classification", weights)
    if not packs:
        st.error(tr("no_packs", path=str(weights)))
        return packs
    names = [name for name, _ in packs]
    if session.pack not in names:
        session.pack = names[0]
    versions = {name: manifest.version for name, manifest in packs}
    st.selectbox(tr("sidebar.pack"), names, key=DemoSession.pack.key, format_func=lambda n: f"{n} · v{versions[n]}",
                 help=tr("sidebar.pack_help", path=str(weights)))
    seg_packs = list_packs("segmentation", weights)
    seg_names = [name for name, _ in seg_packs]
    if len(seg_names) > 1:  # one lung pack needs no choice
        if session.seg_pack not in seg_names:
            session.seg_pack = seg_names[0]
        seg_versions = {name: manifest.version for name, manifest in seg_packs}
        st.selectbox(tr("sidebar.seg_pack"), seg_names, key=DemoSession.seg_pack.key,
                     format_func=lambda n: f"{n} · v{seg_versions[n]}")
    elif seg_names:
        session.seg_pack = seg_names[0]
    return packs


def about_pack(packs: list[tuple[str, Manifest]]) -> None:
    """Model card expander: version, training data and notice of the chosen pack."""
    chosen = dict(packs).get(session.pack or default_pack_name("classification"))
    if chosen is None:
        return
    with st.expander(tr("about.title"), expanded=False):
        st.markdown(tr("about.version", name=chosen.name, version=chosen.version))
        st.markdown(f"**{tr('about.training_data')}:** {chosen.training_data or '-'}")
        if chosen.notice:
            st.markdown(f"**{tr('about.notice')}:** {chosen.notice}")
        st.markdown(tr("about.threshold", threshold=chosen.threshold, rule=chosen.threshold_rule))
        try:
            seg = read_manifest(current_seg_pack_dir())
            st.markdown(tr("about.seg_pack", name=seg.name, version=seg.version, training_data=seg.training_data or "-"))
        except WeightPackError:
            pass  # the page itself reports a missing lung pack when it needs it
        st.caption(tr("about.card"))
