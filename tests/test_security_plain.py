"""User-controlled text is escaped before Streamlit renders it as Markdown (pages/_plain.py)."""

from __future__ import annotations

import re

import pytest

from pages._plain import escape_markdown


@pytest.mark.parametrize("payload", [
    "![x](https://evil.example/t.png)",       # remote image
    "[click](https://evil.example)",          # link
    "<https://evil.example>",                 # autolink
    "https://evil.example/a www.evil.example",  # bare-URL autolinks (GFM)
    ":red[alarm] :material/warning:",         # Streamlit directives and icons
    "<img src=x onerror=alert(1)>",           # HTML
    "**bold** _it_ ~~s~~ `code` $x^2$",       # formatting
])
def test_no_inline_construct_survives(payload: str) -> None:
    escaped = escape_markdown(payload)
    # Every active character is preceded by a backslash.
    assert not re.search(r"(?<!\\)[\[\]<>`*_~$:]", escaped), escaped
    assert "www." not in escaped


@pytest.mark.parametrize(("text", "expected"), [
    ("# Heading", "\\# Heading"), ("1. item", "1\\. item"), ("- bullet", "\\- bullet"),
    ("two\nlines", "two lines"),
    ("notes.txt is empty (0 bytes).", "notes.txt is empty (0 bytes)."),  # ordinary sentences unchanged
])
def test_block_markers_and_ordinary_text(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected
