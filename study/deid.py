"""De-identify DICOM files with the Basic Application Level Confidentiality Profile.

Follows DICOM PS3.15 Annex E (Table E.1-1, "Basic Profile" column), written from the
standard's action codes:

* ``X`` remove the attribute, ``Z`` replace with a zero-length value, ``D`` replace
  with a dummy value, ``U`` replace a UID with a new one (consistently: the same
  original UID always maps to the same new UID within one :class:`UidMapper`, so
  files of one study stay linked to each other and to nothing else).
* Where the table allows a choice (``X/Z``, ``X/Z/D``...), the emptier one that keeps
  a valid file is used.
* Private attributes and the curve (50xx) and overlay (60xx) groups are removed.
* Beyond the table, and stricter than it: every remaining date, time and date-time
  (DA/DT/TM) is emptied and every remaining person name (PN) is emptied, at any depth
  of nesting, so that attributes added to the standard after this table was written
  cannot leak names or dates.
* Kept: pixel data and everything needed to display it, and Burned In Annotation
  (0028,0301), so that a film with text in its pixels stays recognisable as such.
* Recorded: Patient Identity Removed (0012,0062) = YES, De-identification Method
  (0012,0063) and its code sequence (DCM 113100, Basic Application Confidentiality
  Profile).

Pixel data are not altered: burned-in text cannot be removed here. Callers should
warn when Burned In Annotation is YES (see :func:`burned_in_annotation`).
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Callable

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag

from study import StudyError

__all__ = [
    "BASIC_PROFILE",
    "DeidentificationError",
    "UidMapper",
    "deidentify",
    "deidentify_dataset",
    "burned_in_annotation",
]


class DeidentificationError(StudyError):
    """The file cannot be parsed as DICOM, so it cannot be de-identified."""


# Keyword -> action, Table E.1-1 Basic Profile column.
BASIC_PROFILE: dict[str, str] = {
    # Patient
    "PatientName": "Z",
    "PatientID": "Z",
    "PatientBirthDate": "Z",
    "PatientSex": "Z",
    "PatientBirthTime": "X",
    "PatientAge": "X",
    "PatientSize": "X",
    "PatientWeight": "X",
    "PatientAddress": "X",
    "PatientTelephoneNumbers": "X",
    "PatientMotherBirthName": "X",
    "PatientBirthName": "X",
    "PatientComments": "X",
    "PatientReligiousPreference": "X",
    "PatientState": "X",
    "PatientTransportArrangements": "X",
    "PatientInstitutionResidence": "X",
    "PatientInsurancePlanCodeSequence": "X",
    "PatientPrimaryLanguageCodeSequence": "X",
    "PatientSexNeutered": "X",
    "IssuerOfPatientID": "X",
    "OtherPatientIDs": "X",
    "OtherPatientIDsSequence": "X",
    "OtherPatientNames": "X",
    "MedicalRecordLocator": "X",
    "EthnicGroup": "X",
    "Occupation": "X",
    "AdditionalPatientHistory": "X",
    "MedicalAlerts": "X",
    "Allergies": "X",
    "PregnancyStatus": "X",
    "LastMenstrualDate": "X",
    "SmokingStatus": "X",
    "SpecialNeeds": "X",
    "CountryOfResidence": "X",
    "RegionOfResidence": "X",
    "MilitaryRank": "X",
    "BranchOfService": "X",
    "ResponsiblePerson": "X",
    "ResponsibleOrganization": "X",
    "ReferencedPatientSequence": "X",
    "ReferencedPatientAliasSequence": "X",
    "ConfidentialityConstraintOnPatientDataDescription": "X",
    "PatientSpeciesDescription": "X",
    # Visit / admission
    "AdmissionID": "X",
    "IssuerOfAdmissionIDSequence": "X",
    "AdmittingDate": "X",
    "AdmittingTime": "X",
    "AdmittingDiagnosesDescription": "X",
    "AdmittingDiagnosesCodeSequence": "X",
    "CurrentPatientLocation": "X",
    "VisitComments": "X",
    "ServiceEpisodeID": "X",
    "ServiceEpisodeDescription": "X",
    "IssuerOfServiceEpisodeIDSequence": "X",
    "DischargeDiagnosisDescription": "X",
    # Study, series, request
    "AccessionNumber": "Z",
    "StudyID": "Z",
    "StudyDate": "Z",
    "StudyTime": "Z",
    "SeriesDate": "X",
    "SeriesTime": "X",
    "AcquisitionDate": "Z",
    "AcquisitionTime": "Z",
    "AcquisitionDateTime": "X",
    "ContentDate": "Z",
    "ContentTime": "Z",
    "OverlayDate": "X",
    "OverlayTime": "X",
    "CurveDate": "X",
    "CurveTime": "X",
    "InstanceCreationDate": "X",
    "InstanceCreationTime": "X",
    "TimezoneOffsetFromUTC": "X",
    "StudyDescription": "X",
    "SeriesDescription": "X",
    "StudyComments": "X",
    "StudyIDIssuer": "X",
    "ProtocolName": "X",
    "ImageComments": "X",
    "FrameComments": "X",
    "DerivationDescription": "X",
    "AcquisitionComments": "X",
    "RequestAttributesSequence": "X",
    "RequestedProcedureDescription": "Z",
    "RequestedProcedureID": "X",
    "RequestedProcedureComments": "X",
    "RequestedContrastAgent": "X",
    "ReasonForTheRequestedProcedure": "X",
    "ReasonForStudy": "X",
    "RequestingPhysician": "X",
    "RequestingService": "X",
    "ImagingServiceRequestComments": "X",
    "IssuerOfAdmissionID": "X",
    "OrderEnteredBy": "X",
    "OrderEntererLocation": "X",
    "OrderCallbackPhoneNumber": "X",
    "PlacerOrderNumberImagingServiceRequest": "Z",
    "FillerOrderNumberImagingServiceRequest": "Z",
    "PerformedProcedureStepID": "X",
    "PerformedProcedureStepDescription": "X",
    "PerformedProcedureStepStartDate": "X",
    "PerformedProcedureStepStartTime": "X",
    "PerformedProcedureStepEndDate": "X",
    "PerformedProcedureStepEndTime": "X",
    "CommentsOnThePerformedProcedureStep": "X",
    "PerformedLocation": "X",
    "PerformedStationAETitle": "X",
    "PerformedStationName": "X",
    "PerformedStationGeographicLocationCodeSequence": "X",
    "PerformedStationNameCodeSequence": "X",
    "ScheduledProcedureStepDescription": "X",
    "ScheduledProcedureStepID": "X",
    "ScheduledProcedureStepLocation": "X",
    "ScheduledProcedureStepStartDate": "X",
    "ScheduledProcedureStepStartTime": "X",
    "ScheduledProcedureStepEndDate": "X",
    "ScheduledProcedureStepEndTime": "X",
    "ScheduledPerformingPhysicianName": "X",
    "ScheduledPerformingPhysicianIdentificationSequence": "X",
    "ScheduledHumanPerformersSequence": "X",
    "ScheduledPatientInstitutionResidence": "X",
    "ScheduledStationAETitle": "X",
    "ScheduledStationName": "X",
    "ScheduledStationGeographicLocationCodeSequence": "X",
    "ScheduledStationNameCodeSequence": "X",
    "ScheduledStudyLocation": "X",
    "ScheduledStudyLocationAETitle": "X",
    "ReferencedStudySequence": "X",
    "ReferencedPerformedProcedureStepSequence": "X",
    "ReferencedImageSequence": "X",
    "SourceImageSequence": "X",
    "ReferencedSOPInstanceMACSequence": "X",
    "ReferencedDigitalSignatureSequence": "X",
    "DigitalSignaturesSequence": "X",
    "MAC": "X",
    "ModifiedAttributesSequence": "X",
    "OriginalAttributesSequence": "X",
    "ContentSequence": "X",
    "AcquisitionContextSequence": "X",
    "IconImageSequence": "X",
    "TextString": "X",
    "TextComments": "X",
    "Impressions": "X",
    "ResultsComments": "X",
    "ResultsIDIssuer": "X",
    "ResultsDistributionListSequence": "X",
    "InterpretationText": "X",
    "InterpretationDiagnosisDescription": "X",
    "InterpretationRecorder": "X",
    "InterpretationTranscriber": "X",
    "InterpretationAuthor": "X",
    "InterpretationApproverSequence": "X",
    "InterpretationIDIssuer": "X",
    "PhysicianApprovingInterpretation": "X",
    "DistributionName": "X",
    "DistributionAddress": "X",
    "NamesOfIntendedRecipientsOfResults": "X",
    "IntendedRecipientsOfResultsIdentificationSequence": "X",
    "TopicTitle": "X",
    "TopicSubject": "X",
    "TopicAuthor": "X",
    "TopicKeywords": "X",
    "Arbitrary": "X",
    "ContentCreatorName": "Z",
    "AuthorObserverSequence": "X",
    "ParticipantSequence": "X",
    "CustodialOrganizationSequence": "X",
    "VerifyingObserverName": "D",
    "VerifyingObserverSequence": "D",
    "VerifyingObserverIdentificationCodeSequence": "Z",
    "PersonName": "D",
    "PersonAddress": "X",
    "PersonTelephoneNumbers": "X",
    "PersonIdentificationCodeSequence": "X",
    "InsurancePlanIdentification": "X",
    "PreMedication": "X",
    "ContrastBolusAgent": "D",
    "GraphicAnnotationSequence": "D",
    # People and places
    "ReferringPhysicianName": "Z",
    "ReferringPhysicianAddress": "X",
    "ReferringPhysicianTelephoneNumbers": "X",
    "ReferringPhysicianIdentificationSequence": "X",
    "PhysiciansOfRecord": "X",
    "PhysiciansOfRecordIdentificationSequence": "X",
    "PerformingPhysicianName": "X",
    "PerformingPhysicianIdentificationSequence": "X",
    "NameOfPhysiciansReadingStudy": "X",
    "PhysiciansReadingStudyIdentificationSequence": "X",
    "OperatorsName": "Z",
    "OperatorIdentificationSequence": "X",
    "HumanPerformerName": "X",
    "HumanPerformerOrganization": "X",
    "ActualHumanPerformersSequence": "X",
    "InstitutionName": "Z",
    "InstitutionAddress": "X",
    "InstitutionCodeSequence": "Z",
    "InstitutionalDepartmentName": "X",
    "StationName": "Z",
    # Equipment identity
    "DeviceSerialNumber": "Z",
    "DetectorID": "D",
    "GantryID": "X",
    "GeneratorID": "X",
    "CassetteID": "X",
    "PlateID": "X",
    "ModifyingDeviceID": "X",
    "ModifyingDeviceManufacturer": "X",
    "ModifiedImageDescription": "X",
    "IdentifyingComments": "X",
    "DataSetTrailingPadding": "X",
    # UIDs, replaced consistently
    "StudyInstanceUID": "U",
    "SeriesInstanceUID": "U",
    "SOPInstanceUID": "U",
    "FrameOfReferenceUID": "U",
    "SynchronizationFrameOfReferenceUID": "U",
    "ReferencedSOPInstanceUID": "U",
    "ReferencedFrameOfReferenceUID": "U",
    "RelatedFrameOfReferenceUID": "U",
    "InstanceCreatorUID": "U",
    "IrradiationEventUID": "U",
    "DeviceUID": "U",
    "DimensionOrganizationUID": "U",
    "ConcatenationUID": "U",
    "StorageMediaFileSetUID": "U",
    "TransactionUID": "U",
    "UID": "U",
    "LargePaletteColorLookupTableUID": "U",
    "TemplateExtensionOrganizationUID": "U",
    "TemplateExtensionCreatorUID": "U",
    "FiducialUID": "U",
    "TargetUID": "U",
    "DoseReferenceUID": "U",
    "ReferencedGeneralPurposeScheduledProcedureStepTransactionUID": "U",
    "MediaStorageSOPInstanceUID": "U",
    "AffectedSOPInstanceUID": "X",
    "RequestedSOPInstanceUID": "U",
}

_DUMMY = "ANONYMIZED"
_DATE_TIME_VRS = {"DA", "DT", "TM"}
# Basic Application Confidentiality Profile, DICOM code 113100 (PS3.16 CID 7050).
_METHOD = "DICOM PS3.15 E.1 Basic Profile (rds-study)"


def _resolve(table: dict[str, str]) -> dict[BaseTag, str]:
    resolved = {}
    for keyword, action in table.items():
        tag = tag_for_keyword(keyword)
        if tag is None:  # pydicom renamed a keyword: fail loudly, a gap here leaks PHI
            raise RuntimeError(f"Unknown DICOM keyword in de-identification table: {keyword}")
        resolved[BaseTag(tag)] = action
    return resolved


_ACTIONS = _resolve(BASIC_PROFILE)


class UidMapper:
    """Replace UIDs consistently: one original UID -> one new ``2.25.`` UID.

    New UIDs are derived with a keyed hash under a random per-mapper key, so the
    mapping cannot be reversed by hashing candidate UIDs (PS3.5 B.2 UUID-derived form).
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self._seen: dict[str, str] = {}

    def __call__(self, uid: str) -> str:
        """The replacement for ``uid`` (empty stays empty).

        Args:
            uid: an original UID.
        """
        uid = str(uid).strip()
        if not uid:
            return uid
        if uid not in self._seen:
            digest = hashlib.sha256(self._key + uid.encode()).digest()[:16]
            self._seen[uid] = f"2.25.{int.from_bytes(digest, 'big')}"
        return self._seen[uid]


def _dummy(vr: str) -> object:
    if vr in ("PN", "LO", "SH", "LT", "ST", "UT", "CS", "AE", "UC"):
        return _DUMMY[:16] if vr in ("SH", "AE", "CS") else _DUMMY
    return None


def _apply(ds: Dataset, uids: Callable[[str], str]) -> None:
    for elem in list(ds):
        tag = elem.tag
        if tag.is_private or 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF:
            del ds[tag]
            continue
        action = _ACTIONS.get(tag)
        if action == "X":
            del ds[tag]
        elif action == "Z" or (action == "D" and elem.VR == "SQ"):
            elem.value = DicomSequence() if elem.VR == "SQ" else None
        elif action == "D":
            elem.value = _dummy(elem.VR)
        elif action == "U":
            if elem.VM > 1:
                elem.value = [uids(v) for v in elem.value]
            elif elem.value:
                elem.value = uids(elem.value)
        elif elem.VR in _DATE_TIME_VRS or elem.VR == "PN":
            elem.value = None
        elif elem.VR == "SQ":
            for item in elem.value:
                _apply(item, uids)


def deidentify_dataset(ds: Dataset, uids: UidMapper | None = None) -> Dataset:
    """De-identify a dataset in place (including its file meta) and return it.

    Args:
        ds: a parsed DICOM dataset.
        uids: the UID mapper shared by the files of one import (consistent UIDs).
    """
    uids = uids or UidMapper()
    _apply(ds, uids)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        if "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID") or uids(
                meta.MediaStorageSOPInstanceUID
            )
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                        "ReceivingApplicationEntityTitle", "SourcePresentationAddress"):
            if keyword in meta:
                delattr(meta, keyword)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = _METHOD
    code = Dataset()
    code.CodeValue = "113100"
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = "Basic Application Confidentiality Profile"
    ds.DeidentificationMethodCodeSequence = DicomSequence([code])
    return ds


def deidentify(data: bytes, uids: UidMapper | None = None) -> bytes:
    """De-identify the bytes of a DICOM file.

    Args:
        data: the original file.
        uids: the UID mapper shared by the files of one import.

    Returns:
        The de-identified file (Part 10 format, same transfer syntax, same pixels).

    Raises:
        DeidentificationError: the bytes are not a readable DICOM file.
    """
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
        deidentify_dataset(ds, uids)
        out = io.BytesIO()
        if not isinstance(getattr(ds, "file_meta", None), FileMetaDataset):
            ds.file_meta = FileMetaDataset()
        ds.save_as(out, enforce_file_format=True)
    except (InvalidDicomError, EOFError, ValueError, KeyError, AttributeError, TypeError,
            OSError, NotImplementedError) as err:
        raise DeidentificationError(
            f"The file could not be read as DICOM to remove identifying data ({err})."
        ) from err
    return out.getvalue()


def burned_in_annotation(data: bytes) -> bool:
    """True when a DICOM file declares identifying text burned into its pixels.

    Args:
        data: a DICOM file (original or de-identified).
    """
    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, EOFError, ValueError, OSError):
        return False
    return str(ds.get("BurnedInAnnotation", "")).upper() == "YES"
