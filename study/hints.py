"""AI hints for case import, computed with the ``rds_core`` packs.

A hint is what an aided reader is shown: the fold ensemble's probability of RDS, each
fold's probability and their spread, the pack's threshold and label, and a picture of
the fused class activation map over the film with the lung outline (the same picture
the demo page draws, from :mod:`rds_core.render`). It is computed once, when a case set
is imported, so a reader never waits for a model.

Importing this module imports torch (seconds); :mod:`study.cases` does not need it, so
only code that really computes hints should import it.

Example:
    >>> from study.cases import import_case_set
    >>> hint_fn = make_hint_fn()                                  # doctest: +SKIP
    >>> import_case_set(db, "cases/", "cases/truth.csv", hint_fn=hint_fn)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from rds_core import render
from rds_core.imaging import Radiograph
from rds_core.models.packs import read_manifest, resolve_pack_dir
from rds_core.models.packs import default_pack_name
from rds_core.pipeline import Analysis, Models, analyze, load_models
from study import StudyError
from study.cases import HintFn
from study.records import AiHint

__all__ = ["HINT_OPACITY", "HintPackError", "hint_from_analysis", "make_hint_fn"]

# As on the demo page: strong enough to read, weak enough that the film stays visible.
HINT_OPACITY = 0.5
_POSITIVE = "RDS"


class HintPackError(StudyError):
    """The classification pack does not predict RDS, so its output cannot be an RDS hint."""


def hint_from_analysis(analysis: Analysis) -> AiHint:
    """Turn one :func:`rds_core.pipeline.analyze` result into the stored hint.

    Args:
        analysis: an analysis computed with class activation maps.

    Returns:
        The hint; ``heatmap_png`` is the fused map over the display-size film with the
        lung outline (no outline when no lungs were found).

    Raises:
        ValueError: the analysis was computed without maps.
    """
    if analysis.cams is None:
        raise ValueError("A reader-study hint needs the heatmap: run analyze() with with_cam=True.")
    picture = render.overlay(
        analysis.display,
        heatmap=analysis.cams.fused,
        opacity=HINT_OPACITY,
        lung_mask=analysis.lung_mask_display if analysis.lungs_found else None,
    )
    return AiHint(
        probability=float(analysis.probability),
        fold_probabilities=tuple(float(p) for p in analysis.fold_probabilities),
        spread=float(analysis.spread),
        threshold=float(analysis.threshold),
        positive=bool(analysis.positive),
        heatmap_png=render.to_png(picture, compress_level=6),
        pack_name=analysis.pack.name,
        pack_version=analysis.pack.version,
    )


def make_hint_fn(
    pack: str | Path | None = None,
    seg_pack: str | Path | None = None,
    device: str = "auto",
) -> HintFn:
    """Load the packs now and return a function computing the hint of one film.

    The packs are loaded (and verified) here rather than on the first film, so a missing
    or corrupt pack stops an import at once with one clear error instead of skipping
    every row with the same reason.

    Args:
        pack: classification pack name (under ``$RDS_WEIGHTS_DIR`` or ``weights/``) or
            folder; its positive class must be ``RDS``. ``$RDS_DEFAULT_PACK`` or
            ``rds-demo`` when None.
        seg_pack: lung segmentation pack name or folder (``$RDS_SEG_PACK`` or ``lung-seg``).
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        ``hint_fn(radiograph) -> AiHint`` for :func:`study.cases.import_case_set`.

    Raises:
        WeightPackError: a pack is missing or does not verify.
        HintPackError: the classification pack does not predict RDS.
    """
    # The manifest first: a pack for another disease is refused before any model loads.
    pack = pack or default_pack_name("classification")
    manifest = read_manifest(resolve_pack_dir(pack))
    if manifest.positive_class != _POSITIVE:
        raise HintPackError(
            f"The pack {manifest.name!r} predicts {manifest.positive_class!r}, not {_POSITIVE!r}; "
            "reader-study hints need an RDS classification pack."
        )
    models: Models = load_models(pack, seg_pack, device)

    def hint_fn(radiograph: Radiograph) -> AiHint:
        return hint_from_analysis(analyze(radiograph, models, with_cam=True))

    return hint_fn
