"""TID 1500 Measurement Report: the RDS finding with ensemble and fold probabilities and the threshold."""

from __future__ import annotations

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from rds_core.dicom_out.identity import DISCLAIMER, MANUFACTURER, Producer
from rds_core.dicom_out.segmentation import RDS_CODE
from rds_core.pipeline import Analysis

__all__ = ["PROBABILITY_CODE", "THRESHOLD_CODE", "fold_code", "measurement_report"]

# Concepts no standard terminology has; "99" marks a private coding scheme (PS3.3 8.1).
_SCHEME = "99RDS"
PROBABILITY_CODE = Code("rds-p", _SCHEME, "RDS probability (ensemble mean)")
THRESHOLD_CODE = Code("rds-t", _SCHEME, "RDS decision threshold")
_UNITLESS = Code("1", "UCUM", "no units")
_CHEST_XRAY = Code("399208008", "SCT", "Plain chest X-ray")


def fold_code(index: int) -> Code:
    """The concept of fold `index`'s probability (1-based in the meaning, as people count)."""
    return Code(f"rds-p{index + 1}", _SCHEME, f"RDS probability (fold {index + 1})")


def measurement_report(source: Dataset, analysis: Analysis, producer: Producer) -> hd.sr.Comprehensive3DSR:
    """The structured report of one analysis, referencing the source image.

    Args:
        source: the source image's header.
        analysis: the result of :func:`rds_core.pipeline.analyze`.
        producer: equipment and algorithm identification.
    """
    algorithm = hd.sr.AlgorithmIdentification(
        name=producer.model_name, version=producer.software_version,
        parameters=[f"device {producer.device}", f"threshold {analysis.threshold:g}", DISCLAIMER],
    )
    measurements = [hd.sr.Measurement(name=PROBABILITY_CODE, value=analysis.probability, unit=_UNITLESS,
                                      algorithm_id=algorithm)]
    measurements += [hd.sr.Measurement(name=fold_code(i), value=p, unit=_UNITLESS, algorithm_id=algorithm)
                     for i, p in enumerate(analysis.fold_probabilities)]
    measurements.append(hd.sr.Measurement(name=THRESHOLD_CODE, value=analysis.threshold, unit=_UNITLESS))
    finding = hd.sr.QualitativeEvaluation(
        name=RDS_CODE, value=codes.SCT.Present if analysis.positive else codes.SCT.Absent)
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="RDS classification"),
        finding_type=RDS_CODE,
        algorithm_id=algorithm,
        session=DISCLAIMER,
        measurements=measurements,
        qualitative_evaluations=[finding],
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
    )
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=generate_uid(), name=MANUFACTURER, manufacturer_name=MANUFACTURER, model_name=producer.model_name)
    context = hd.sr.ObservationContext(
        observer_device_context=hd.sr.ObserverContext(observer_type=codes.DCM.Device,
                                                      observer_identifying_attributes=device))
    report = hd.sr.MeasurementReport(observation_context=context, procedure_reported=_CHEST_XRAY,
                                     imaging_measurements=[group])
    sr = hd.sr.Comprehensive3DSR(
        evidence=[source], content=report, series_instance_uid=generate_uid(), series_number=9903,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER, is_complete=True,
    )
    sr.SeriesDescription = f"RDS report - {DISCLAIMER}"[:64]
    return sr
