"""Every warning ``rds_core`` can attach to a film, with a stable code.

A warning is a :class:`CodedWarning`: a ``str`` (the English sentence, so logs, JSON and
tests read it as text) that also carries its ``code`` and the values filled into it. A UI
translates by code (``pages/_i18n.py``), never by matching English text - sentences with
numbers in them (a turned film's degrees, a 16-bit film's bits) could never match.
``tests/test_app_demo.py`` checks that every code here has a Korean text with the same fields.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["WARNINGS", "CodedWarning", "warning"]

WARNINGS = MappingProxyType({
    "no_lungs": "No plausible lungs found - is this a chest X-ray?",
    "one_lung": "Only one lung region was found; the film may be cropped or one lung opaque.",
    "whole_film": "The classifier saw the whole film because no lungs were found; its score means little.",
    "turned": "The film seems to be stored turned by {degrees} degrees; it was classified upright.",
    "rgb_grey": "The image is grey stored as colour (RGB) and was converted to one grey channel.",
    "exif_turned": "The image was turned upright as its EXIF orientation tag asks.",
    "transparency": "The image has transparent parts; transparency was ignored.",
    "few_bits": "The 16-bit image uses only {bits} bits and was scaled to that range.",
    "blank_raster": "The image is blank (a single grey level); check that the right file was exported.",
    "no_photometric": "The file does not say how grey values map to brightness; MONOCHROME2 was assumed.",
    "secondary_capture": (
        "The file is a secondary capture (a scan or screenshot of a film), not the original X-ray; the "
        "result may be less reliable."
    ),
    "no_modality": "The file does not say which kind of image it is (no modality); check that it is a chest X-ray.",
    "empty_modality_lut": "The file's modality LUT is empty and was ignored.",
    "bad_window": "The window stored in the file is invalid and was ignored.",
    "window_blank": (
        "The image is blank (a single grey level) with the window stored in the file, so that window was "
        "ignored and the full range of values is shown."
    ),
    "blank_dicom": "The image is blank (every pixel has the same value); check that the right file was exported.",
})


class CodedWarning(str):
    """An English warning sentence that remembers its code and fields (see the module doc)."""

    code: str
    fields: dict[str, Any]

    def __new__(cls, code: str, **fields: Any) -> "CodedWarning":
        text = WARNINGS[code].format(**fields)
        made = super().__new__(cls, text)
        made.code = code
        made.fields = dict(fields)
        return made

    def __reduce__(self) -> tuple:
        # pickle (Ray workers, multiprocessing) would otherwise call __new__ with the text
        return (_rebuild, (self.code, self.fields))


def _rebuild(code: str, fields: dict[str, Any]) -> CodedWarning:
    return CodedWarning(code, **fields)


def warning(code: str, **fields: Any) -> CodedWarning:
    """The warning ``code`` of :data:`WARNINGS`, filled with ``fields``.

    Example:
        >>> w = warning("turned", degrees=90)
        >>> w.code, str(w)
        ('turned', 'The film seems to be stored turned by 90 degrees; it was classified upright.')
    """
    return CodedWarning(code, **fields)
