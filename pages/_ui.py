"""Shared pieces of the demo and ensemble pages: settings, session state, input, models, frame.

The pages stay thin: they call these helpers (and :mod:`pages._views` to draw a result),
which call ``rds_core`` and render. Nothing here decides anything about a film; the few
pure functions (pack listing, upload size, fold disagreement, idle timer) make no
Streamlit calls, so tests check them directly.

Kiosk mode (``RDS_KIOSK=1`` or ``streamlit run app.py -- --kiosk``): uploads are read from
memory and never written or logged, errors show no traceback, and the app returns to the
gallery after ``RDS_IDLE_SECONDS`` without interaction.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import streamlit as st

from pages._i18n import LANGUAGE_NAMES, LANGUAGES, error_text, t
from pages._plain import escape_markdown
from rds_core import render
from rds_core.errors import RadiographError, RdsError, WeightPackError
from rds_core.geometry import fit_within
from rds_core.imaging import Radiograph, load_radiograph
from rds_core.models.packs import Manifest, default_pack_name, default_weights_dir, list_packs, read_manifest
from rds_core.pipeline import Analysis, Models, analyze, load_models

__all__ = [
    "REPO",
    "HOME_PAGE",
    "SCROLL_KEY",
    "InputChoice",
    "SampleFilm",
    "Disagreement",
    "UploadTooLargeError",
    "kiosk_mode",
    "idle_seconds",
    "max_upload_mb",
    "samples_dir",
    "default_language",
    "list_samples",
    "sample_caption",
    "list_classification_packs",
    "accept_upload",
    "load_input",
    "fold_disagreement",
    "idle_expired",
    "lang",
    "tr",
    "init_state",
    "configure_kiosk",
    "selected",
    "clear_selection",
    "reset_to_gallery",
    "mark_activity",
    "idle_watch",
    "current_pack_dir",
    "models_for",
    "apply_style",
    "notice",
    "page_header",
    "language_switch",
    "pack_switch",
    "about_pack",
    "gallery",
    "upload_box",
    "chooser",
    "show_error",
    "guarded",
    "current_analysis",
]

log = logging.getLogger("rds.app")
REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")

# session_state keys shared by app.py and the pages
LANG_KEY = "lang"
PACK_KEY = "pack"
SEG_PACK_KEY = "seg_pack"
INPUT_KEY = "rds_input"
RESULT_KEY = "rds_result"
ACTIVE_KEY = "rds_last_active"
PAGE_KEY = "rds_page"
UPLOAD_GEN_KEY = "rds_upload_gen"
UPLOAD_ERROR_KEY = "rds_upload_error"
SCROLL_KEY = "rds_scroll_top"
HOME_PAGE = "pages/demo.py"
SPREAD_LIMIT = 0.15  # fold scores further apart than this (std) get a "models disagree" note


# --- configuration from the environment ----------------------------------------------


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def kiosk_mode() -> bool:
    """True with ``RDS_KIOSK=1`` or ``streamlit run app.py -- --kiosk``."""
    return _truthy(os.environ.get("RDS_KIOSK")) or "--kiosk" in sys.argv[1:]


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default


def idle_seconds() -> float:
    """Seconds without interaction before a kiosk returns to the gallery (``RDS_IDLE_SECONDS``, 0 = never)."""
    return max(0.0, _env_number("RDS_IDLE_SECONDS", 120.0))


def max_upload_mb() -> int:
    """Largest accepted upload in MB (``RDS_MAX_UPLOAD_MB``, default 50)."""
    return max(1, int(_env_number("RDS_MAX_UPLOAD_MB", 50)))


def samples_dir() -> Path:
    """``RDS_SAMPLES_DIR`` if set, else the repository's ``samples/``."""
    return Path(os.environ.get("RDS_SAMPLES_DIR") or REPO / "samples")


def default_language() -> str:
    """``RDS_LANG`` (``ko`` or ``en``); Korean by default, the exhibition's language."""
    value = os.environ.get("RDS_LANG", "ko")
    return value if value in LANGUAGES else "ko"


# --- pure helpers ------------------------------------------------------------------------


@dataclass(frozen=True)
class InputChoice:
    """The film a visitor chose: a bundled sample (by path) or an upload (bytes, memory only)."""

    kind: str  # "sample" | "upload"
    name: str
    path: str | None = None
    data: bytes | None = None

    @property
    def key(self) -> str:
        """Identity of the film for caching its analysis (an upload by its content hash)."""
        if self.kind == "sample":
            return f"sample:{self.path}"
        return "upload:" + hashlib.sha256(self.data or b"").hexdigest()[:24]


@dataclass(frozen=True)
class SampleFilm:
    """One film of the gallery, from ``samples/samples.csv``."""

    file: str
    path: Path
    truth: int | None
    description: str

    @property
    def widget_key(self) -> str:
        """A widget key that is also a valid CSS class (the browser tests click it)."""
        return "sample-" + re.sub(r"[^A-Za-z0-9_-]", "_", Path(self.file).stem)


@dataclass(frozen=True)
class Disagreement:
    """How far the fold scores are apart, and whether that deserves a note."""

    spread: float
    above: int
    below: int
    spread_limit: float

    @property
    def too_spread(self) -> bool:
        return self.spread > self.spread_limit

    @property
    def split(self) -> bool:
        """Some folds at or above the threshold and some below it."""
        return self.above > 0 and self.below > 0

    @property
    def disagree(self) -> bool:
        return self.too_spread or self.split


class UploadTooLargeError(RadiographError):
    """An upload above ``RDS_MAX_UPLOAD_MB``."""

    def __init__(self, size_bytes: int, limit_mb: int) -> None:
        self.size_bytes = size_bytes
        self.limit_mb = limit_mb
        super().__init__(
            f"The file is {size_bytes / 2**20:.1f} MB, larger than the {limit_mb} MB this demo accepts; "
            "choose a smaller file."
        )


def list_samples(folder: Path) -> list[SampleFilm]:
    """The gallery films, in the order of ``samples.csv`` (or by name without a CSV).

    Args:
        folder: the samples folder.
    """
    table = folder / "samples.csv"
    if table.is_file():
        with open(table, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [SampleFilm(r["file"], folder / r["file"], int(r["truth"]) if r.get("truth") else None,
                           r.get("description", "")) for r in rows if (folder / r["file"]).is_file()]
    suffixes = {".png", ".jpg", ".jpeg", ".dcm"}
    return [SampleFilm(p.name, p, None, "") for p in sorted(folder.glob("*")) if p.suffix.lower() in suffixes]


def sample_caption(file: str, language: str) -> str:
    """A short caption for a gallery film, read from the naming scheme of ``samples/``.

    Args:
        file: file name, e.g. ``simulated_rds_grade3_01.png``.
        language: UI language.
    """
    stem = Path(file).stem.lower()
    grade = re.match(r"simulated_rds_grade(\d)", stem)
    if grade:
        return t("caption.simulated", language, grade=grade.group(1))
    if stem.startswith("simulated_rds_one_lung"):
        return t("caption.simulated_one_lung", language)
    if file.lower().endswith(".dcm"):
        return t("caption.dicom", language)
    if "pneumonia" in stem:
        return t("caption.pneumonia", language)
    if "normal" in stem:
        return t("caption.normal", language)
    return Path(file).stem


def list_classification_packs(weights_dir: Path) -> list[tuple[str, Manifest]]:
    """Classification packs in ``weights_dir``, the default first (see :func:`list_packs`)."""
    return list_packs("classification", weights_dir)


def accept_upload(name: str, data: bytes, max_mb: int) -> InputChoice:
    """Turn uploaded bytes into an input choice, refusing files above the size limit.

    The bytes stay in memory; nothing is written to disk.

    Args:
        name: the uploaded file's name (only shown back to the visitor).
        data: the file's content.
        max_mb: size limit in MB.

    Raises:
        UploadTooLargeError: ``data`` is larger than ``max_mb``.
    """
    if len(data) > max_mb * 2**20:
        raise UploadTooLargeError(len(data), max_mb)
    return InputChoice("upload", name, data=data)


def load_input(choice: InputChoice) -> Radiograph:
    """Decode the chosen film (a sample from disk, an upload from memory).

    Raises:
        RadiographError: the file cannot be read as one chest radiograph (typed, with a sentence).
    """
    if choice.kind == "sample":
        return load_radiograph(choice.path or "")
    return load_radiograph(choice.data or b"", name=choice.name)


def fold_disagreement(probabilities: list[float] | np.ndarray, threshold: float,
                      spread_limit: float = SPREAD_LIMIT) -> Disagreement:
    """Whether the fold models disagree: scores spread wide, or on both sides of the threshold.

    Args:
        probabilities: one score per fold.
        threshold: the pack's decision threshold.
        spread_limit: largest standard deviation still counted as agreement.
    """
    scores = np.asarray(probabilities, dtype=np.float64)
    above = int((scores >= threshold).sum())
    return Disagreement(float(scores.std()), above, int(scores.size - above), spread_limit)


def idle_expired(last_active: float, now: float, limit_seconds: float) -> bool:
    """True when ``limit_seconds`` (> 0) have passed since the last interaction."""
    return limit_seconds > 0 and now - last_active >= limit_seconds


# --- session state -------------------------------------------------------------------------


def lang() -> str:
    """The visitor's language (``ko`` or ``en``)."""
    value = st.session_state.get(LANG_KEY, default_language())
    return value if value in LANGUAGES else default_language()


def tr(key: str, **values: object) -> str:
    """:func:`pages._i18n.t` in the visitor's language."""
    return t(key, lang(), **values)


def init_state() -> None:
    """Set the defaults a fresh session needs (language, upload widget generation, activity)."""
    st.session_state.setdefault(LANG_KEY, default_language())
    st.session_state.setdefault(INPUT_KEY, None)
    st.session_state.setdefault(RESULT_KEY, None)
    st.session_state.setdefault(UPLOAD_ERROR_KEY, None)
    st.session_state.setdefault(UPLOAD_GEN_KEY, 0)
    st.session_state.setdefault(ACTIVE_KEY, time.time())


def configure_kiosk() -> None:
    """In kiosk mode, never show a traceback or exception text in the browser."""
    if kiosk_mode():
        st.set_option("client.showErrorDetails", "none")


def selected() -> InputChoice | None:
    """The film chosen on any page (remembered across pages)."""
    return st.session_state.get(INPUT_KEY)


def clear_selection() -> None:
    """Forget the chosen film, its result and any upload (also empties the upload widget)."""
    st.session_state[INPUT_KEY] = None
    st.session_state[RESULT_KEY] = None
    st.session_state[UPLOAD_ERROR_KEY] = None
    # A new key empties the upload widget, so its file is dropped from memory too.
    st.session_state[UPLOAD_GEN_KEY] = st.session_state.get(UPLOAD_GEN_KEY, 0) + 1


def _select_sample(sample_path: str, name: str) -> None:
    clear_selection()
    st.session_state[INPUT_KEY] = InputChoice("sample", name, path=sample_path)


def _on_upload(widget_key: str) -> None:
    uploaded = st.session_state.get(widget_key)
    if uploaded is None:
        return
    data = uploaded.getvalue()
    clear_selection()
    try:
        st.session_state[INPUT_KEY] = accept_upload(uploaded.name, data, max_upload_mb())
    except RdsError as exc:
        st.session_state[UPLOAD_ERROR_KEY] = exc


def reset_to_gallery() -> None:
    """Forget the chosen film, its result and any upload, and restore the default language."""
    clear_selection()
    st.session_state[LANG_KEY] = default_language()
    st.session_state[ACTIVE_KEY] = time.time()


def mark_activity(on_home: bool) -> None:
    """Record a full rerun (a visitor's interaction) and whether it showed the home (demo) page.

    Args:
        on_home: the running page is the demo page.
    """
    st.session_state[ACTIVE_KEY] = time.time()
    st.session_state[PAGE_KEY] = on_home


def _needs_reset() -> bool:
    return (selected() is not None or st.session_state.get(UPLOAD_ERROR_KEY) is not None
            or not st.session_state.get(PAGE_KEY, True) or lang() != default_language())


def _idle_check() -> None:
    limit = idle_seconds()
    if _needs_reset() and idle_expired(st.session_state.get(ACTIVE_KEY, time.time()), time.time(), limit):
        reset_to_gallery()
        st.switch_page(HOME_PAGE)


def idle_watch() -> None:
    """Return to the gallery after the idle time: a fragment that re-checks every few seconds.

    A fragment rerun does not run the page, so it does not count as activity; every
    interaction does (it reruns the whole app and calls :func:`mark_activity`).
    """
    limit = idle_seconds()
    if limit <= 0:
        return
    st.fragment(_idle_check, run_every=min(10.0, max(1.0, limit / 4)))()


# --- models ------------------------------------------------------------------------------


def current_pack_dir() -> Path:
    """Folder of the classification pack chosen in the sidebar (the default pack until then)."""
    return default_weights_dir() / st.session_state.get(PACK_KEY, default_pack_name("classification"))


def current_seg_pack_dir() -> Path:
    """Folder of the lung segmentation pack chosen in the sidebar (``$RDS_SEG_PACK`` or lung-seg)."""
    return default_weights_dir() / st.session_state.get(SEG_PACK_KEY, default_pack_name("segmentation"))


@st.cache_resource(show_spinner=False, max_entries=3)
def _models(pack_dir: str, seg_dir: str) -> Models:
    models = load_models(pack_dir, seg_dir)
    # One throw-away analysis pays torch's one-off start-up costs here, not on a visitor's click.
    yy, xx = np.mgrid[:256, :256]
    film = (0.5 + 0.4 * np.sin(xx / 17.0) * np.cos(yy / 23.0)).astype(np.float32)
    analyze(Radiograph(film, "<warm-up>", "png", original_size=(256, 256)), models)
    return models


def models_for(pack_dir: Path) -> Models:
    """The loaded packs (classification ``pack_dir`` + the chosen lung pack), cached per process.

    Raises:
        WeightPackError: a pack is missing or does not verify.
    """
    seg_dir = current_seg_pack_dir()
    with st.spinner(tr("loading_models")):
        return _models(str(pack_dir), str(seg_dir))


# --- frame pieces --------------------------------------------------------------------------

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


def pack_is_simulated(manifest: Manifest | None) -> bool:
    """True when the pack says it was trained on simulated RDS (the shipped demo pack)."""
    return manifest is None or "simulated" in manifest.notice.lower()


def chosen_manifest() -> Manifest | None:
    """Manifest of the classification pack chosen in the sidebar, or None when it cannot be read."""
    try:
        return read_manifest(current_pack_dir())
    except WeightPackError:
        return None


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
    st.radio(tr("sidebar.language"), LANGUAGES, key=LANG_KEY, horizontal=True,
             format_func=lambda code: LANGUAGE_NAMES[code])


def pack_switch() -> list[tuple[str, Manifest]]:
    """The pack selectbox; returns the installed packs (empty when none)."""
    weights = default_weights_dir()
    packs = list_classification_packs(weights)
    if not packs:
        st.error(tr("no_packs", path=str(weights)))
        return packs
    names = [name for name, _ in packs]
    if st.session_state.get(PACK_KEY) not in names:
        st.session_state[PACK_KEY] = names[0]
    versions = {name: manifest.version for name, manifest in packs}
    st.selectbox(tr("sidebar.pack"), names, key=PACK_KEY, format_func=lambda n: f"{n} · v{versions[n]}",
                 help=tr("sidebar.pack_help", path=str(weights)))
    seg_packs = list_packs("segmentation", weights)
    seg_names = [name for name, _ in seg_packs]
    if len(seg_names) > 1:  # one lung pack needs no choice
        if st.session_state.get(SEG_PACK_KEY) not in seg_names:
            st.session_state[SEG_PACK_KEY] = seg_names[0]
        seg_versions = {name: manifest.version for name, manifest in seg_packs}
        st.selectbox(tr("sidebar.seg_pack"), seg_names, key=SEG_PACK_KEY,
                     format_func=lambda n: f"{n} · v{seg_versions[n]}")
    elif seg_names:
        st.session_state[SEG_PACK_KEY] = seg_names[0]
    return packs


def about_pack(packs: list[tuple[str, Manifest]]) -> None:
    """Model card expander: version, training data and notice of the chosen pack."""
    chosen = dict(packs).get(st.session_state.get(PACK_KEY, default_pack_name("classification")))
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


# --- choosing a film -----------------------------------------------------------------------


THUMB_SIDE = 300


@st.cache_data(show_spinner=False, max_entries=64)
def _thumbnail(path: str, mtime: float) -> bytes:
    """Square gallery thumbnail of a bundled sample (never of an upload), so the grid lines up."""
    film = fit_within(render.grey_rgb(load_radiograph(path).pixels), THUMB_SIDE)
    square = np.zeros((THUMB_SIDE, THUMB_SIDE, 3), np.uint8)
    top, left = (THUMB_SIDE - film.shape[0]) // 2, (THUMB_SIDE - film.shape[1]) // 2
    square[top:top + film.shape[0], left:left + film.shape[1]] = film
    return render.to_png(square)


def gallery(columns: int = 6) -> None:
    """The sample films as a grid of thumbnails with one button each."""
    folder = samples_dir()
    samples = list_samples(folder)
    st.subheader(tr("gallery.title"))
    if not samples:
        st.info(tr("gallery.empty", path=str(folder)))
        return
    with st.container(key="rds-gallery"):
        for start in range(0, len(samples), columns):
            for column, sample in zip(st.columns(columns), samples[start:start + columns]):
                with column:
                    try:
                        st.image(_thumbnail(str(sample.path), sample.path.stat().st_mtime),
                                 caption=sample_caption(sample.file, lang()), width="stretch",
                                 output_format="PNG")
                    except RdsError:
                        st.caption(sample.file)
                    st.button(tr("gallery.pick"), key=sample.widget_key, width="stretch",
                              on_click=_select_sample, args=(str(sample.path), sample.file))


def upload_box() -> None:
    """The upload widget (any extension: DICOM files often have none; the loader sniffs content)."""
    limit = max_upload_mb()
    widget_key = f"rds_upload_{st.session_state.get(UPLOAD_GEN_KEY, 0)}"
    st.file_uploader(tr("upload.label", mb=limit), key=widget_key, max_upload_size=limit,
                     on_change=_on_upload, args=(widget_key,))
    st.caption(tr("upload.memory_only"))
    error = st.session_state.get(UPLOAD_ERROR_KEY)
    if error is not None:
        show_error(error)


def chooser() -> None:
    """Gallery + upload: what a page shows while no film is chosen."""
    gallery()
    upload_box()


# --- errors --------------------------------------------------------------------------------


def show_error(error: BaseException) -> None:
    """A friendly message for ``error``: the core's sentence for typed errors, a generic one otherwise."""
    if isinstance(error, UploadTooLargeError):
        st.error(tr("error.too_large", mb=error.limit_mb), icon=":material/error:")
    elif isinstance(error, RdsError):
        message, details = error_text(error, lang())
        # The sentences quote file names and DICOM values: plain text, never Markdown.
        st.error(f"**{tr('error.title')}** {escape_markdown(message)}" if message != tr("error.title") else message,
                 icon=":material/error:")
        if details:
            st.caption(f"{tr('error.details')}: {escape_markdown(details)}")
    else:
        st.error(tr("error.unexpected"), icon=":material/error:")


def guarded(function: Callable[..., T], *args: Any) -> T | None:
    """Run a page part; show typed errors as their sentence and anything else as a generic message.

    Streamlit's own control flow (``st.rerun``, ``st.stop``, ``st.switch_page``) derives from
    ``BaseException`` and passes through.
    """
    try:
        return function(*args)
    except RdsError as exc:
        show_error(exc)
    except Exception as exc:
        if kiosk_mode():
            # Kiosk: no message text either, it could name an uploaded file.
            log.error("unexpected %s while rendering a page", type(exc).__name__)
        else:
            log.exception("unexpected error while rendering a page")
        show_error(exc)
    return None


# --- analysis ----------------------------------------------------------------------------


def current_analysis() -> tuple[Analysis, float] | None:
    """Analyse the chosen film with the chosen pack, once; later calls reuse the session's copy.

    A fresh result sets ``SCROLL_KEY`` so the result view scrolls to its top once: the
    visitor clicked a thumbnail far down the gallery, and Streamlit keeps that scroll position.

    Returns:
        ``(analysis, load_ms)`` or None when no film is chosen.
    """
    choice = selected()
    if choice is None:
        return None
    pack_dir = current_pack_dir()
    key = (choice.key, str(pack_dir))
    cached = st.session_state.get(RESULT_KEY)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    models = models_for(pack_dir)
    with st.spinner(tr("analysing")):
        started = time.perf_counter()
        film = load_input(choice)
        load_ms = (time.perf_counter() - started) * 1000.0
        analysis = analyze(film, models)
    st.session_state[RESULT_KEY] = (key, analysis, load_ms)
    st.session_state[SCROLL_KEY] = True
    return analysis, load_ms
