"""On a fresh server, every URL goes through the router (``app.py``): no file of ``pages/`` is
served directly, neither a study page in kiosk mode nor a helper module. Each server is new
and the URL under test is its very first request, because Streamlit's legacy ``pages/`` mode
only ends once some session has run the router. (The closed metrics endpoint is checked in
``tests/test_security_config.py``.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MAIN = "[data-testid=stMain]"
NAV_LINK = "[data-testid=stSidebarNav] a"
# every helper module of pages/ (none of them may ever be served as a page)
HELPERS = tuple(sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "pages").glob("_*.py")))


def _open_first(page: Any, url: str) -> tuple[str, list[str]]:
    """Open ``url`` as the first request of a tab; return the main text and the menu's links."""
    page.goto(url)
    page.wait_for_selector(f"{MAIN} >> text=not for clinical use", timeout=90_000)
    page.wait_for_timeout(500)
    links = [a.get_attribute("href") or "" for a in page.locator(NAV_LINK).all()]
    return page.locator(MAIN).inner_text(), links


def test_a_fresh_kiosk_serves_only_the_demo_pages(page: Any, streamlit_app: Callable[..., str]) -> None:
    url = streamlit_app({"RDS_KIOSK": "1", "RDS_LANG": "en"})
    text, links = _open_first(page, f"{url}/reader")  # the very first page request of this server
    assert page.locator('[class*="st-key-rs-code"]').count() == 0  # no reader sign-in form
    assert "access code" not in text.lower()
    assert not any(name in link for link in links for name in ("reader", "admin", "results", "_films"))
    for path in ("admin", "results", "_films", "_admin_gate"):
        page.goto(f"{url}/{path}")
        page.wait_for_selector(f"{MAIN} >> text=not for clinical use", timeout=90_000)
        assert page.locator('[class*="st-key-rs-"], [class*="st-key-adm-"]').count() == 0, path
        assert "admin secret" not in page.locator(MAIN).inner_text().lower(), path


@pytest.mark.parametrize("helper", ["_films", "_admin_gate"])
def test_helper_modules_are_never_pages(page: Any, streamlit_app: Callable[..., str], helper: str) -> None:
    url = streamlit_app({"RDS_LANG": "en"})
    _text, links = _open_first(page, f"{url}/{helper}")  # first request of a fresh server
    assert links, "the router's menu is shown"
    assert not any(f"/{name}" in link for link in links for name in HELPERS), links
    assert any(link.rstrip("/").endswith("reader") for link in links)  # study pages go through the menu
