"""Ensemble page: each fold's score and map, the fused and agreement maps, and how much lies in the lungs."""

from __future__ import annotations

import streamlit as st

from pages import _views as views
from pages._films import chooser, selected
from pages._frame import page_header
from pages._messages import guarded, tr

page_header("ens.title", "ens.intro")
if selected() is None:
    st.info(tr("ens.pick_first"))
    guarded(chooser)
else:
    guarded(views.ensemble_result)
