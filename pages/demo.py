"""Demo page: pick a sample or upload a film; see the lungs, the demo model score and the heatmap."""

from __future__ import annotations

from pages import _views as views
from pages._films import chooser, selected
from pages._frame import page_header
from pages._messages import guarded

if selected() is None:
    page_header("demo.title", "demo.intro")
    guarded(chooser)
else:
    page_header("demo.title")
    guarded(views.demo_result)
