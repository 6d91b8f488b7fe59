"""The read models' keys and fields: the contract the API (and the lab's screens) read.

Every key below sits under an optional prefix (``""`` live; a rebuild can write elsewhere).
Hash values are strings: text as is, numbers in decimal, booleans ``true``/``false``, times ISO
8601 UTC, lists JSON; a field whose value is absent (None) is not in the hash. Contacts are only
ever masked; no Aadhaar, mobile or email in the clear.

``patient:{patient_id}`` (hash) patient_id, organization_id, mrn, family_name, given_name,
    date_of_birth, sex, mobile_masked, email_masked, aadhaar_masked, status (active|deleted),
    deletion_reason, version, updated_at; ``order.{order_id}`` = placer order number, one per
    order placed for the patient.
``patient:mrn:{mrn}`` (hash) organization_id -> patient_id. MRNs are unique per organization
    only, so the tenant picks the entry: ``HGET patient:mrn:{mrn} {organization_id}``.
``order:{order_id}`` (hash) order_id, organization_id, patient_id, mrn, placer_order_number,
    priority, tests (JSON: loinc_code, name, specimen_type, container, department, bench),
    ordering_clinician_name, ordering_clinician_contact_masked, ordering_provider_id,
    clinical_notes, catalog_version, status (created|confirmed|cancelled|completed),
    cancel_reason, created_at, completed_at, version, updated_at; its samples as
    ``sample.{sample_id}.{attr}`` (status, accession_number, specimen_type, collected_at,
    collected_ms, bench, rejection_reason, recollection_required, rejected_ms); its results as
    ``result.{result_id}.loinc_code`` (the result itself: ``result:{result_id}``); its report
    as ``report.{attr}`` (report_id, report_version, status generated|signed|delivered,
    signed_by, signed_at, delivered_at).
``sample:{sample_id}`` (hash) sample_id, organization_id, order_id, patient_id,
    accession_number, specimen_type, container, priority, loinc_codes (JSON), collected_at,
    collected_by, received_at, received_ms, department, bench, status
    (collected|received|routed|rejected), rejection_reason, rejection_text,
    recollection_required, rejected_at, version, updated_at; ``result.{loinc_code}`` =
    result_id per test resulted on it; ``timeline.{version:06d}`` = JSON
    ``{"event_type", "at", "by", "version"}`` per event of the sample (``by``: the user, null
    when a processor acted), so the fields sorted by name are the timeline in order.
``result:{result_id}`` (hash) result_id, organization_id, order_id, sample_id, patient_id,
    accession_number, loinc_code, test_name, value_text, value, unit, flag, reference_low,
    reference_high, reference_text, is_critical, catalog_version, status
    (entered|verified|amended|invalidated: amended = a changed value awaiting verification,
    invalidated = withdrawn, not to be acted on), entered_at, entered_by, verified_by,
    verified_at, amendment_number, amendment_reason, previous_value_text,
    invalidation_reason, invalidated_by, invalidated_at, review_required (true: the patient's
    sex or date of birth was corrected after release; the flag stands until amended), version,
    updated_at; per critical episode
    ``critical.{critical_id}.{attr}``: status (open|escalated|acknowledged|superseded), flag,
    value_text, detected_at, detected_ms, tier, escalated_at, acknowledged_by, called_by,
    acknowledged_at, superseded_at.
``worklist:{organization_id}:criticals`` (sorted set) result ids with an open (or escalated)
    critical value, scored by detection time (epoch ms); gone once acknowledged or superseded.
``worklist:{organization_id}:bench:{bench}`` (sorted set) sample ids routed to the bench and
    not yet resulted for every test on them, STAT first, then urgent, then routine, each by
    receipt time: score = rank (0 stat, 1 urgent, 2 routine) * 10^13 + received epoch ms.
``worklist:{organization_id}:recollections`` (sorted set) rejected sample ids that need a new
    tube (recollection required, no later sample of that specimen collected for the order,
    order neither cancelled nor completed), by rejection time (epoch ms): phlebotomy's list;
    the details are in ``sample:{sample_id}``.

Ordering: a field that changes over an aggregate's life (a status, a value, ``version``)
remembers the ``aggregate_version`` of the event that wrote it (in ``_v:{key}``), and an event
older than that is ignored for that field; facts that never change (ids, times of receipt, a
timeline entry) are the same in every event that carries them. So duplicates and any delivery
order converge to the same state, and the worklists, computed from the hashes, too.
"""

from __future__ import annotations

VERSIONS = "_v:"  # per-field versions of a hash live at _v:{key}


def patient(patient_id: str) -> str:
    return f"patient:{patient_id}"


def patient_by_mrn(mrn: str) -> str:
    return f"patient:mrn:{mrn}"


def order(order_id: str) -> str:
    return f"order:{order_id}"


def sample(sample_id: str) -> str:
    return f"sample:{sample_id}"


def result(result_id: str) -> str:
    return f"result:{result_id}"


def criticals(organization_id: str) -> str:
    return f"worklist:{organization_id}:criticals"


def bench_queue(organization_id: str, bench: str) -> str:
    return f"worklist:{organization_id}:bench:{bench}"


def recollections(organization_id: str) -> str:
    return f"worklist:{organization_id}:recollections"


# The score of a bench queue entry: priority rank first, then receipt time.
PRIORITY_RANK = {"stat": 0, "urgent": 1, "routine": 2}
RANK_SPAN = 10**13  # epoch milliseconds stay below this until the year 2286
