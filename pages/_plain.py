"""Show user-controlled text (file names, DICOM values, reader labels) as plain text.

Streamlit renders the text of ``st.markdown``, ``st.error``, ``st.success``, captions and
labels as Markdown: a file name such as ``![x](https://evil/t.png)`` would load a remote
image and ``[click](https://evil)`` would become a link. Backslash-escaping (allowed by
CommonMark for every ASCII punctuation mark) the few characters that start an inline
construct is enough: without ``[`` no link, image or ``:red[...]`` directive can form,
without ``<`` no HTML or autolink, an escaped ``:`` or ``www\\.`` stops bare-URL autolinks
and emoji shortcodes, and ``* _ ~ ` $ \\`` cannot format. Newlines become spaces and a
leading block marker (``#``, ``-``, ``+``, ``>``, ``1.``) is escaped. Ordinary sentences
stay readable in the Markdown source (``notes.txt (0 bytes)`` is unchanged).
"""

from __future__ import annotations

import re

__all__ = ["escape_markdown"]

_INLINE = re.compile(r"([\\`*_~\[\]<>$:|])")
_WWW = re.compile(r"(?i)\b(www)\.")
_BLOCK_START = re.compile(r"^(\d*)([#+\-=>.)])")


def escape_markdown(text: object) -> str:
    """``text`` on one line with every Markdown-active character escaped.

    Args:
        text: any value; ``str()`` of it is escaped.
    """
    line = " ".join(str(text).split())
    line = _WWW.sub(r"\1\\.", _INLINE.sub(r"\\\1", line))
    # "1." / "1)" start an ordered list, "#", "-", "+", ">", "=" other blocks: escape the mark.
    return _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
