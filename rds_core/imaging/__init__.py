"""Load any chest radiograph (PNG, JPEG, 16-bit PNG, DICOM CR/DX/DR) as a `Radiograph`.

Every failure is a typed `rds_core.errors.RadiographError` with one sentence a person understands.
"""

from __future__ import annotations

from rds_core.imaging.common import DEFAULT_MAX_PIXELS, DEFAULT_MIN_SIDE
from rds_core.imaging.display import to_uint8
from rds_core.imaging.loader import load_radiograph, sniff_format
from rds_core.imaging.radiograph import Radiograph

__all__ = ["DEFAULT_MAX_PIXELS", "DEFAULT_MIN_SIDE", "Radiograph", "load_radiograph", "sniff_format", "to_uint8"]
