"""String-table lookup shared by the UI string modules (no heavy imports)."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["lookup"]


def lookup(table: Mapping[str, Mapping[str, str]], key: str, lang: str, **values: object) -> str:
    """The string ``key`` of ``table`` in ``lang`` (English fallback), placeholders filled.

    Raises:
        KeyError: an unknown key (a typo in a page should fail its test, not show a blank).
    """
    entry = table[key]
    text = entry.get(lang, entry["en"])
    return text.format(**values) if values else text
