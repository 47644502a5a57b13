"""Demo page: pick a sample or upload a film; see the lungs, the demo model score and the heatmap."""

from __future__ import annotations

from pages import _views as views
from pages import _ui as ui

if ui.selected() is None:
    ui.page_header("demo.title", "demo.intro")
    ui.guarded(ui.chooser)
else:
    ui.page_header("demo.title")
    ui.guarded(views.demo_result)
