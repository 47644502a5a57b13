"""Who made a result object: the equipment and algorithm identification every output carries."""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.sr.codedict import codes

from rds_core.pipeline import Analysis

__all__ = ["ALGORITHM_FAMILY", "DISCLAIMER", "MANUFACTURER", "Producer"]

DISCLAIMER = "research use, not for clinical use"
MANUFACTURER = "RDS research tool"
ALGORITHM_FAMILY = codes.cid7162.ArtificialIntelligence
"""CID 7162 "Artificial Intelligence": the algorithm family of every result."""


@dataclass(frozen=True)
class Producer:
    """Equipment attributes shared by the SEG, SR and SC objects of one analysis."""

    model_name: str
    software_version: str
    device: str

    @classmethod
    def of(cls, analysis: Analysis) -> "Producer":
        """The producer of `analysis`: its classification pack (name, version) and compute device."""
        return cls(analysis.pack.name, analysis.pack.version, analysis.device)

