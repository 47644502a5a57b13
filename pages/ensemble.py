"""Ensemble page: each fold's score and map, the fused and agreement maps, and how much lies in the lungs."""

from __future__ import annotations

import streamlit as st

from pages import _views as views
from pages import _ui as ui

ui.page_header("ens.title", "ens.intro")
if ui.selected() is None:
    st.info(ui.tr("ens.pick_first"))
    ui.guarded(ui.chooser)
else:
    ui.guarded(views.ensemble_result)
