"""Secondary Capture of the heatmap overlay, for viewers that render neither SEG nor SR."""

from __future__ import annotations

import highdicom as hd
import numpy as np
from PIL import Image, ImageDraw
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from rds_core.dicom_out.identity import DISCLAIMER, MANUFACTURER, Producer
from rds_core.pipeline import Analysis
from rds_core.render import overlay

__all__ = ["overlay_capture"]


def _caption(rgb: np.ndarray, text: str) -> np.ndarray:
    """Burn the result and the notice into the image: a capture travels without its report."""
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width, 14), fill=(0, 0, 0))
    draw.text((4, 2), text, fill=(255, 255, 0))
    return np.asarray(image)


def overlay_capture(source: Dataset, analysis: Analysis, producer: Producer) -> hd.sc.SCImage:
    """An RGB secondary capture of the film with the fused heatmap and the lung outline.

    Args:
        source: the source image's header (patient and study are copied from it).
        analysis: the analysis; without heatmaps (``--no-cam``) only the outline is drawn.
        producer: equipment identification.
    """
    heatmap = analysis.cams.fused if analysis.cams is not None else None
    rgb = overlay(analysis.display, heatmap=heatmap, opacity=0.5, lung_mask=analysis.lung_mask_display)
    rgb = _caption(rgb, f"RDS p={analysis.probability:.2f} ({analysis.label}) - {DISCLAIMER}")
    capture = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source, pixel_array=np.ascontiguousarray(rgb), photometric_interpretation="RGB",
        bits_allocated=8, coordinate_system="PATIENT", series_instance_uid=generate_uid(), series_number=9904,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        patient_orientation=("L", "F"),  # highdicom insists on a value; replaced by the source's just below
        transfer_syntax_uid="1.2.840.10008.1.2.1",
    )
    capture.SeriesDescription = f"RDS overlay - {DISCLAIMER}"[:64]
    # The overlay is the film itself, resized: its orientation is the source's, known or not (type 2C).
    capture.PatientOrientation = source.get("PatientOrientation", "")
    capture.Laterality = source.get("Laterality", "")  # type 2C in the General Series module
    reference = Dataset()
    reference.ReferencedSOPClassUID = source.SOPClassUID
    reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
    capture.SourceImageSequence = Sequence([reference])
    capture.DerivationDescription = "Lung outline and fused class activation map over the source film"
    capture.BurnedInAnnotation = "YES"  # the caption is burned in (no patient data in it)
    capture.ManufacturerModelName = producer.model_name
    capture.SoftwareVersions = producer.software_version
    return capture
