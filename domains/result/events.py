"""Result events (topic ``lis.result.events``).

Numeric values travel twice: ``value`` (float, for arithmetic) and ``value_text`` (as entered,
so "5.10" keeps its precision); coded results have ``value`` None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domains.shared.messages import Event


@dataclass(frozen=True, kw_only=True)
class ResultEntered(Event):
    event_type = "RESULT_ENTERED"
    aggregate_type = "Result"

    result_id: str
    order_id: str
    sample_id: str
    patient_id: str
    accession_number: str
    loinc_code: str
    test_name: str
    value_text: str
    unit: str  # the catalog's UCUM unit (converted if entered in another)
    flag: str  # N | L | H | LL | HH | A, or "" when not interpreted (see interpretation_note)
    catalog_version: str
    is_critical: bool
    value: float | None = None
    reference_low: float | None = None
    reference_high: float | None = None
    reference_text: str | None = None
    entered_value_text: str | None = None  # as typed when a unit conversion happened
    entered_unit: str | None = None
    # how it was read (issue 12: optional, additive): "<"/">" of a censored value, the limits
    # and band that applied, and why there is no flag ("" above) or why a person must review
    comparator: str | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    reference_band: str | None = None
    interpretation_note: str | None = None
    needs_review: bool | None = None
    analyzer_id: str | None = None  # the analyzer that measured it (HL7 interface), if any
    analyzed_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ResultVerified(Event):
    event_type = "RESULT_VERIFIED"
    aggregate_type = "Result"

    result_id: str
    order_id: str
    sample_id: str
    loinc_code: str
    value_text: str
    unit: str
    flag: str
    verified_by: str
    value: float | None = None
    # the catalog version and interval the verified flag was read against (issue 12)
    catalog_version: str | None = None
    reference_text: str | None = None
    comparator: str | None = None
    # True: released by the person who wrote the value, as the lab's policy allowed
    # (LabPolicy.allow_self_verification); an auditor looks for exactly these
    self_verified: bool | None = None


@dataclass(frozen=True, kw_only=True)
class ResultAmended(Event):
    event_type = "RESULT_AMENDED"
    aggregate_type = "Result"

    result_id: str
    order_id: str
    sample_id: str
    patient_id: str
    loinc_code: str
    amendment_number: int
    reason: str
    previous_value_text: str
    previous_flag: str
    value_text: str
    unit: str
    flag: str
    is_critical: bool
    value: float | None = None
    # critical episodes of the old value closed by this amendment (no longer to be called
    # about or escalated); a still-critical new value opens a new episode right after
    superseded_critical_ids: list[str] = field(default_factory=list)
    # the new value's interpretation, stamped like RESULT_ENTERED's (issue 12): the catalog of
    # the day of the amendment, not of the first entry
    catalog_version: str | None = None
    reference_low: float | None = None
    reference_high: float | None = None
    reference_text: str | None = None
    entered_value_text: str | None = None
    entered_unit: str | None = None
    # how it was read (issue 12: optional, additive): "<"/">" of a censored value, the limits
    # and band that applied, and why there is no flag ("" above) or why a person must review
    comparator: str | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    reference_band: str | None = None
    interpretation_note: str | None = None
    needs_review: bool | None = None


@dataclass(frozen=True, kw_only=True)
class CriticalValueDetected(Event):
    event_type = "CRITICAL_VALUE_DETECTED"
    aggregate_type = "Result"

    result_id: str
    critical_id: str  # one per critical episode (a re-amended critical is a new episode)
    order_id: str
    sample_id: str
    patient_id: str
    accession_number: str
    loinc_code: str
    test_name: str
    value_text: str
    unit: str
    flag: str  # LL | HH (or A for a critical coded value)
    priority: str
    detected_at: datetime
    value: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    # what the critical value notifier needs, so it never reads another domain's tables
    # (contact details stay in the processors' provider directory, never on Kafka)
    ordering_provider_id: str | None = None
    ordering_clinician_name: str | None = None
    placer_order_number: str | None = None
    mrn: str | None = None
    collected_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class CriticalValueAcknowledged(Event):
    event_type = "CRITICAL_VALUE_ACKNOWLEDGED"
    aggregate_type = "Result"

    result_id: str
    critical_id: str
    order_id: str
    loinc_code: str
    acknowledged_by: str  # who took the call (clinician/nurse)
    called_by: str  # lab staff who phoned
    acknowledged_at: datetime
    read_back_confirmed: bool
    minutes_to_acknowledge: int


@dataclass(frozen=True, kw_only=True)
class CriticalValueEscalated(Event):
    event_type = "CRITICAL_VALUE_ESCALATED"
    aggregate_type = "Result"

    result_id: str
    critical_id: str
    order_id: str
    loinc_code: str
    tier: int  # 1 = ordering clinician's backup, 2 = head of department, ...
    escalated_at: datetime
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResultInvalidated(Event):
    """The value is withdrawn: it must not be acted on (mislabelled or wrong specimen, an
    analytical fault found afterwards). Not replaced by another value: a new specimen gets a
    result of its own. A released one takes an amended report."""

    event_type = "RESULT_INVALIDATED"
    aggregate_type = "Result"

    result_id: str
    order_id: str
    sample_id: str
    patient_id: str
    loinc_code: str
    reason_code: str  # mislabeled_specimen | wrong_patient | ... (domains.result.corrections)
    invalidated_by: str
    invalidated_at: datetime
    previous_value_text: str
    previous_flag: str
    was_released: bool  # had been verified: reports that printed it must be amended
    reason_text: str | None = None
    superseded_critical_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ResultReinterpreted(Event):
    """The patient's sex or date of birth was corrected: the value read against the corrected
    demographics. An unreleased result takes the new flag; a released one keeps what was
    released and is marked for review (``review_required``) until a person amends it."""

    event_type = "RESULT_REINTERPRETED"
    aggregate_type = "Result"

    result_id: str
    order_id: str
    sample_id: str
    patient_id: str
    loinc_code: str
    reason: str
    changed_fields: list[str]  # sex | date_of_birth
    previous_flag: str
    flag: str  # under the corrected demographics
    is_critical: bool
    review_required: bool
    reference_low: float | None = None
    reference_high: float | None = None
    reference_text: str | None = None
    superseded_critical_ids: list[str] = field(default_factory=list)
    catalog_version: str | None = None  # the catalog the value was read against again
