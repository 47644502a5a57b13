"""Streamlit entry point: the router (``st.navigation``) and the frame every page shares.

The frame is the sidebar (language, model pack, model card, the research-demo notice) and,
in kiosk mode, the idle timer that returns to the gallery. Pages live in ``pages/`` and
only render what ``rds_core`` returns; their shared helpers are in ``pages/_ui.py``.

Run: ``streamlit run app.py`` (kiosk: ``RDS_KIOSK=1 streamlit run app.py``).
"""

from __future__ import annotations

import streamlit as st

from pages import _ui as ui

# Reader-study pages (another part of the project) join the menu once their files exist;
# a kiosk shows only the public demo.
STUDY_PAGES = (("pages/reader.py", "nav.reader"), ("pages/results.py", "nav.results"), ("pages/admin.py", "nav.admin"))

st.set_page_config(page_title="RDS demo", layout="wide", initial_sidebar_state="expanded")
ui.configure_kiosk()
ui.init_state()
ui.apply_style()

demo = st.Page(ui.HOME_PAGE, title=ui.tr("nav.demo"), icon=":material/radiology:", default=True)
pages = [demo, st.Page("pages/ensemble.py", title=ui.tr("nav.ensemble"), icon=":material/stacks:")]
if not ui.kiosk_mode():
    pages += [st.Page(path, title=ui.tr(key)) for path, key in STUDY_PAGES if (ui.REPO / path).is_file()]
page = st.navigation(pages)
on_home = page.url_path == demo.url_path
# Before the idle timer below: this run is an interaction, so it must never count as idle.
ui.mark_activity(on_home)

with st.sidebar:
    st.markdown(f"## {ui.tr('app.title')}")
    ui.language_switch()
    st.warning(ui.tr("notice.short"), icon=":material/info:")
    packs = ui.pack_switch()
    ui.about_pack(packs)
    if ui.kiosk_mode():
        ui.idle_watch()

page.run()
# Again once the page is drawn: a slow analysis must not use up the visitor's idle time.
ui.mark_activity(on_home)
