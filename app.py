"""Streamlit entry point: the router (``st.navigation``) and the frame every page shares.

The frame is the sidebar (language, model pack, model card, the research-demo notice) and,
in kiosk mode, the idle timer that returns to the gallery. Pages live in ``pages/`` and
only render what ``rds_core`` returns; their shared helpers are the ``pages/_*.py`` modules
(one concern each: settings, session state, messages, films, packs, frame, kiosk).

Run: ``streamlit run app.py`` (kiosk: ``RDS_KIOSK=1 streamlit run app.py``).

The file has two roles. ``streamlit run app.py`` first *imports* it (``__name__ == "app"``)
and finds the ``st.App`` below, an ASGI app that serves this same file as its script:
importing it turns Streamlit's legacy ``pages/`` mode off before the first request, so no
file of ``pages/`` (pages or helper modules) is ever served except through the router
below, on any URL, even on a fresh server; and its middleware answers 404 for the
``/_stcore/metrics`` endpoint. Every browser session then *runs* the file as
``__main__``: the router and the frame.
"""

from __future__ import annotations

import streamlit as st

if __name__ != "__main__":  # imported once at server start by `streamlit run` (ASGI entry)
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from streamlit.runtime.pages_manager import PagesManager

    # Streamlit decides "legacy pages/ folder" once per process, on the first session, and
    # serves pages/*.py by URL until some session has run st.navigation. Decide it now.
    PagesManager.uses_pages_directory = False

    class _ClosedEndpoints:
        """ASGI middleware: 404 for endpoints that tell visitors about the server."""

        _CLOSED = ("/_stcore/metrics",)

        def __init__(self, app) -> None:
            self.app = app

        async def __call__(self, scope, receive, send) -> None:
            path = str(scope.get("path", "")).rstrip("/")
            if scope.get("type") == "http" and path.endswith(self._CLOSED):
                await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
                return
            await self.app(scope, receive, send)

    app = st.App(__file__, middleware=[Middleware(_ClosedEndpoints)])

    import os
    import threading

    def _preload() -> None:
        from pages._packs import preload

        preload()

    # Load the default packs while the server starts, not on the first visitor's click.
    if os.environ.get("RDS_PRELOAD", "1") != "0":
        threading.Thread(target=_preload, name="rds-preload", daemon=True).start()

# Reader-study pages (another part of the project) join the menu once their files exist;
# a kiosk shows only the public demo.
STUDY_PAGES = (("pages/reader.py", "nav.reader"), ("pages/results.py", "nav.results"), ("pages/admin.py", "nav.admin"))


def _route() -> None:
    """The router and the frame, run by every browser session."""
    from pages._frame import apply_style, language_switch
    from pages._kiosk import configure_kiosk, idle_watch, mark_activity
    from pages._messages import tr
    from pages._packs import about_pack, pack_switch
    from pages._settings import HOME_PAGE, REPO, kiosk_mode
    from pages._state import session

    st.set_page_config(page_title="RDS demo", layout="wide", initial_sidebar_state="expanded")
    configure_kiosk()
    session.init()
    apply_style()

    demo = st.Page(HOME_PAGE, title=tr("nav.demo"), icon=":material/radiology:", default=True)
    pages = [demo, st.Page("pages/ensemble.py", title=tr("nav.ensemble"), icon=":material/stacks:")]
    if not kiosk_mode():
        pages += [st.Page(path, title=tr(key)) for path, key in STUDY_PAGES if (REPO / path).is_file()]
    page = st.navigation(pages)
    on_home = page.url_path == demo.url_path
    # Before the idle timer below: this run is an interaction, so it must never count as idle.
    mark_activity(on_home)

    with st.sidebar:
        st.markdown(f"## {tr('app.title')}")
        language_switch()
        st.warning(tr("notice.short"), icon=":material/info:")
        packs = pack_switch()
        about_pack(packs)
        if kiosk_mode():
            idle_watch()

    page.run()
    # Again once the page is drawn: a slow analysis must not use up the visitor's idle time.
    mark_activity(on_home)


if __name__ == "__main__":
    _route()
