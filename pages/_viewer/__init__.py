"""The reader's film viewer: a Streamlit custom component (plain JavaScript on a canvas).

Window/level (left drag: horizontal = window, vertical = level), zoom at the cursor (wheel),
pan (right drag, shift-drag or the pan button), invert, reset and presets all run in the
browser without a server round trip. In the heatmap arm the AI heatmap lies over the film
with an opacity control and an on/off switch. The component sends back only telemetry:
counts of finished gestures and the time the heatmap was visible (:func:`telemetry_from`).

The frontend (``frontend/index.html``, ``viewer.js``) needs no build step. The film is handed
over as a URL of Streamlit's media store (the bytes travel once per read, not with every
rerun); it is an 8-bit grey PNG bounded by the page's ``FILM_MAX_SIDE``.

This folder sits under ``pages/`` but holds no top-level ``.py`` page, so Streamlit's page
scan never lists it.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import streamlit.components.v1 as components
from streamlit import runtime

__all__ = ["PRESETS", "film_viewer", "media_url"]

_FRONTEND = Path(__file__).resolve().parent / "frontend"
_component = components.declare_component("rds_viewer", path=str(_FRONTEND))

# (name, level, width) on the film's 0-1 grey scale. Lungs are dark on a chest film, so the
# lung window centres low; the mediastinum and tubes are bright, so that window centres high.
PRESETS: tuple[tuple[str, float, float], ...] = (
    ("full", 0.5, 1.0),
    ("lung", 0.35, 0.5),
    ("mediastinum", 0.7, 0.5),
)


def media_url(data: bytes, name: str, mimetype: str = "image/png") -> str:
    """Put bytes in Streamlit's media store for this run and return their URL.

    The store keeps a file while the session's latest run refers to it, so call this on
    every run that shows it (the same bytes give the same URL). Without a running server
    (plain ``python`` or some test harnesses) a ``data:`` URL is returned instead.

    Args:
        data: the file's bytes.
        name: a name unique on the page (Streamlit's "coordinates" of the file).
        mimetype: the bytes' type.
    """
    if runtime.exists():
        return runtime.get_instance().media_file_mgr.add(data, mimetype, name)
    return f"data:{mimetype};base64,{base64.b64encode(data).decode('ascii')}"


def film_viewer(
    film_url: str,
    *,
    key: str,
    labels: dict[str, str],
    read: str = "",
    heatmap_url: str | None = None,
    canvas_height: int = 720,
    max_zoom: float = 8.0,
    min_width: float = 0.02,
) -> dict[str, Any] | None:
    """Draw the viewer; returns its latest telemetry (None until the reader did something).

    Args:
        film_url: URL of the grey film PNG (see :func:`media_url`).
        key: widget key, new for every read so that each read starts with a fresh view.
        read: a name of the read, written on the frame's body (``data-read``) so that a
            browser test can tell the current viewer from the previous read's.
        labels: translated button texts: ``invert``, ``pan``, ``reset``, ``heatmap``,
            ``opacity``, ``window``, ``level``, ``help`` and ``preset.<name>`` per preset.
        heatmap_url: URL of the heatmap overlay (heatmap arm only).
        canvas_height: height of the film area in CSS pixels.
        max_zoom: the largest magnification.
        min_width: the narrowest window (0-1 of the grey range).

    Returns:
        ``{"window_level_changes", "zoom_changes", "pan_changes", "heatmap_toggles",
        "heatmap_visible_ms", "heatmap_on", "state"}`` as last sent, or None.
    """
    presets = [{"name": name, "label": labels[f"preset.{name}"], "level": level, "width": width}
               for name, level, width in PRESETS]
    return _component(film=film_url, heatmap=heatmap_url, read=read, labels=labels, presets=presets,
                      canvas_height=int(canvas_height), max_zoom=float(max_zoom), min_width=float(min_width),
                      key=key, default=None)
