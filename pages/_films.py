"""Choosing a film: the gallery of bundled samples, the upload box, and decoding the choice.

Uploads stay in memory (never written, never logged); a sample's caption comes from the
``kind`` / ``grade`` columns of ``samples/samples.csv``, in the session's language.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from pages._i18n import t
from pages._messages import lang, show_error, tr
from pages._settings import max_upload_mb, samples_dir
from pages._state import session
from rds_core import render
from rds_core.errors import RdsError, UploadTooLargeError
from rds_core.geometry import fit_within
from rds_core.imaging import Radiograph, load_radiograph

__all__ = [
    "InputChoice",
    "SampleFilm",
    "list_samples",
    "accept_upload",
    "load_input",
    "selected",
    "clear_selection",
    "gallery",
    "upload_box",
    "chooser",
]

CAPTION_KINDS = ("normal", "pneumonia", "simulated", "simulated_one_lung", "dicom")  # keys "caption.<kind>"
THUMB_SIDE = 300


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
    kind: str = ""  # one of CAPTION_KINDS, or "" (the caption is then the file name)
    grade: str = ""  # the simulated grade, for kind "simulated"

    @property
    def widget_key(self) -> str:
        """A widget key that is also a valid CSS class (the browser tests click it)."""
        return "sample-" + re.sub(r"[^A-Za-z0-9_-]", "_", Path(self.file).stem)

    def caption(self, language: str) -> str:
        """The short gallery caption in ``language`` (from the table's kind and grade)."""
        if self.kind not in CAPTION_KINDS:
            return Path(self.file).stem
        return t(f"caption.{self.kind}", language, grade=self.grade or "?")


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
                           r.get("description", ""), r.get("kind", ""), r.get("grade", ""))
                for r in rows if (folder / r["file"]).is_file()]
    suffixes = {".png", ".jpg", ".jpeg", ".dcm"}
    return [SampleFilm(p.name, p, None, "") for p in sorted(folder.glob("*")) if p.suffix.lower() in suffixes]


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


def selected() -> InputChoice | None:
    """The film chosen on any page (remembered across pages)."""
    return session.choice


def clear_selection() -> None:
    """Forget the chosen film, its result and any upload (also empties the upload widget)."""
    session.choice = None
    session.result = None
    session.upload_error = None
    # A new key empties the upload widget, so its file is dropped from memory too.
    session.upload_generation = session.upload_generation + 1


def _select_sample(sample_path: str, name: str) -> None:
    clear_selection()
    session.choice = InputChoice("sample", name, path=sample_path)


def _on_upload(widget_key: str) -> None:
    uploaded = st.session_state.get(widget_key)
    if uploaded is None:
        return
    data = uploaded.getvalue()
    clear_selection()
    try:
        session.choice = accept_upload(uploaded.name, data, max_upload_mb())
    except RdsError as exc:
        session.upload_error = exc


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
                                 caption=sample.caption(lang()), width="stretch", output_format="PNG")
                    except RdsError:
                        st.caption(sample.file)
                    st.button(tr("gallery.pick"), key=sample.widget_key, width="stretch",
                              on_click=_select_sample, args=(str(sample.path), sample.file))


def upload_box() -> None:
    """The upload widget (any extension: DICOM files often have none; the loader sniffs content)."""
    limit = max_upload_mb()
    widget_key = f"rds_upload_{session.upload_generation}"
    st.file_uploader(tr("upload.label", mb=limit), key=widget_key, max_upload_size=limit,
                     on_change=_on_upload, args=(widget_key,))
    st.caption(tr("upload.memory_only"))
    if session.upload_error is not None:
        show_error(session.upload_error)


def chooser() -> None:
    """Gallery + upload: what a page shows while no film is chosen."""
    gallery()
    upload_box()
