"""Typed errors raised at the boundary of `rds_core`.

Every error carries a sentence a person understands (``str(err)``); the CLI and the app
show that sentence and never a traceback.
"""

from __future__ import annotations

__all__ = [
    "RdsError",
    "RadiographError",
    "EmptyFileError",
    "CorruptFileError",
    "UnsupportedFormatError",
    "ColourImageError",
    "MultiFrameError",
    "ImageTooSmallError",
    "ImageTooLargeError",
    "NoPixelDataError",
    "MissingCodecError",
    "NotARadiographError",
    "UploadTooLargeError",
    "WeightPackError",
]


class RdsError(Exception):
    """Base class of all errors meant to be shown to a person."""


class RadiographError(RdsError, ValueError):
    """The input cannot be read as a single grey-scale chest radiograph."""


class EmptyFileError(RadiographError):
    """The file has no bytes."""


class CorruptFileError(RadiographError):
    """The file is truncated or damaged."""


class UnsupportedFormatError(RadiographError):
    """Not PNG, JPEG or DICOM."""


class ColourImageError(RadiographError):
    """A real colour image (photo, screenshot), not grey stored as RGB."""


class MultiFrameError(RadiographError):
    """Several frames or a volume (CT/MR), not one projection radiograph."""


class ImageTooSmallError(RadiographError):
    """Smaller than the minimum side length."""


class ImageTooLargeError(RadiographError):
    """More pixels than the configured budget."""


class NoPixelDataError(RadiographError):
    """A DICOM file without an image (e.g. a structured report)."""


class MissingCodecError(RadiographError):
    """The DICOM transfer syntax needs a decoder that is not installed."""


class NotARadiographError(RadiographError):
    """The image decoded but holds no plausible lungs."""


class UploadTooLargeError(RadiographError):
    """A file above the size an application accepts (the demo's ``RDS_MAX_UPLOAD_MB``)."""

    def __init__(self, size_bytes: int, limit_mb: int) -> None:
        self.size_bytes = size_bytes
        self.limit_mb = limit_mb
        super().__init__(
            f"The file is {size_bytes / 2**20:.1f} MB, larger than the {limit_mb} MB this demo accepts; "
            "choose a smaller file."
        )


class WeightPackError(RdsError):
    """A weight pack is missing, corrupt or does not match its manifest."""
