"""DICOM Segmentation objects: the binary lung mask and the fused heatmap as a FRACTIONAL segment."""

from __future__ import annotations

import cv2
import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from rds_core.dicom_out.identity import ALGORITHM_FAMILY, DISCLAIMER, MANUFACTURER, Producer

__all__ = ["RDS_CODE", "lung_segmentation", "heatmap_segmentation"]

RDS_CODE = Code("46775006", "SCT", "Respiratory distress syndrome in the newborn")


def _to_source_size(values: np.ndarray, source: Dataset, interpolation: int) -> np.ndarray:
    """Resize a map to the source image's Rows x Columns (a SEG frame must match the image it labels)."""
    rows, columns = int(source.Rows), int(source.Columns)
    if values.shape == (rows, columns):
        return values
    return cv2.resize(values, (columns, rows), interpolation=interpolation)


def _algorithm(producer: Producer) -> hd.AlgorithmIdentificationSequence:
    return hd.AlgorithmIdentificationSequence(
        name=producer.model_name, family=ALGORITHM_FAMILY, version=producer.software_version,
        parameters={"device": producer.device, "notice": DISCLAIMER},
    )


def _segmentation(source: Dataset, pixels: np.ndarray, kind: str, segment: hd.seg.SegmentDescription,
                  producer: Producer, series_number: int, description: str) -> hd.seg.Segmentation:
    seg = hd.seg.Segmentation(
        source_images=[source],
        pixel_array=pixels,
        segmentation_type=kind,
        segment_descriptions=[segment],
        series_instance_uid=generate_uid(),
        series_number=series_number,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=producer.model_name,
        software_versions=producer.software_version,
        device_serial_number=producer.device,
        content_description=description[:64],
        content_label="RDS",
        omit_empty_frames=False,
    )
    seg.SeriesDescription = f"{description} - {DISCLAIMER}"[:64]
    # Type 2C for images without a frame of reference (a projection radiograph): follow the source.
    seg.PatientOrientation = source.get("PatientOrientation", "")
    return seg


def lung_segmentation(source: Dataset, lung_mask: np.ndarray, producer: Producer) -> hd.seg.Segmentation:
    """A BINARY SEG of the lungs on the source image.

    Args:
        source: the source image's header (pixel data not needed).
        lung_mask: boolean lung mask at the working resolution of the film (``Analysis.lung_mask``).
        producer: equipment and algorithm identification.
    """
    mask = _to_source_size(lung_mask.astype(np.uint8), source, cv2.INTER_NEAREST)
    segment = hd.seg.SegmentDescription(
        segment_number=1, segment_label="Lungs", segmented_property_category=codes.SCT.AnatomicalStructure,
        segmented_property_type=codes.SCT.Lung, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
        algorithm_identification=_algorithm(producer),
    )
    return _segmentation(source, mask[np.newaxis], hd.seg.SegmentationTypeValues.BINARY, segment, producer,
                         9901, "Lung mask")


def heatmap_segmentation(source: Dataset, heatmap: np.ndarray, producer: Producer) -> hd.seg.Segmentation:
    """A FRACTIONAL (probability) SEG of the fused class activation map on the source image.

    Args:
        source: the source image's header.
        heatmap: fused map in [0, 1] at display resolution (``Analysis.cams.fused``).
        producer: equipment and algorithm identification.
    """
    values = _to_source_size(np.clip(heatmap, 0.0, 1.0).astype(np.float32), source, cv2.INTER_LINEAR)
    segment = hd.seg.SegmentDescription(
        segment_number=1, segment_label="RDS heatmap (fused CAM)",
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure, segmented_property_type=RDS_CODE,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC, algorithm_identification=_algorithm(producer),
    )
    return _segmentation(source, values[np.newaxis], hd.seg.SegmentationTypeValues.FRACTIONAL, segment, producer,
                         9902, "RDS heatmap")
