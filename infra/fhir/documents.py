"""Worker ``fhir-documents``: REPORT_SIGNED -> the version's FHIR document Bundle, stored in the
transaction that claims the event (immutable: a signed version's document never changes; an
amended report is a new version, signed again, with a document of its own). The store serves
them to the API (``infra/http/fhir.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from consumers.base import Received
from domains.order.model import Order
from domains.patient.model import Patient
from domains.report.events import ReportSigned
from domains.report.model import Report
from domains.result.model import Result
from domains.sample.model import Sample
from domains.shared.clock import Clock
from infra.db.interop import FhirDocumentRow
from infra.db.repository import SqlRepository, table_for
from infra.fhir.bundle import Line, SignedReport, Tube, document
from producers.topics import Topics
from schemas.catalog import event_classes

NAME = "fhir-documents"
IDENTIFIER_BASE = "https://lis.example.org/fhir/sid"  # where our identifier systems live


class FhirDocuments:
    """A consumer-loop handler (``consumers.base.Handler``)."""

    name = NAME

    def __init__(self, topics: Topics, clock: Clock, identifier_base: str = IDENTIFIER_BASE):
        self.topics: Sequence[str] = [topics.for_event(ReportSigned)]
        self._base = identifier_base
        self.stored = 0

    def handle(self, message: Received, session: Session) -> None:
        if event_classes().get(message.schema_name) is not ReportSigned:
            return
        envelope = message.envelope
        event, meta = envelope.event, envelope.metadata
        assert isinstance(event, ReportSigned)
        signed = signed_report(session, meta.organization_id, event)
        session.execute(
            insert(FhirDocumentRow)
            .values(
                organization_id=meta.organization_id, report_id=event.report_id,
                report_version=event.report_version, event_id=meta.event_id,
                bundle=document(signed, self._base),
            )
            .on_conflict_do_nothing()
        )  # fmt: skip
        self.stored += 1


def signed_report(session: Session, organization_id: str, event: ReportSigned) -> SignedReport:
    def load(cls: Any, aggregate_id: str) -> Any:
        return SqlRepository(cls, session, table_for(cls)).get(organization_id, aggregate_id)

    report: Report = load(Report, event.report_id)
    version = report.versions[event.report_version - 1]
    order: Order = load(Order, report.order_id)
    patient: Patient = load(Patient, report.patient_id)
    results = {line.result_id: load(Result, line.result_id) for line in version.lines}
    samples = {r.sample_id: load(Sample, r.sample_id) for r in results.values()}
    d = patient.demographics
    return SignedReport(
        organization_id=organization_id, organization_name=organization_id,
        report_id=report.id, report_version=version.report_version, signed_by=event.signed_by,
        signed_by_user_id=event.signed_by_user_id,
        signed_at=event.signed_at, document_text=version.document_text,
        amendment_reason=version.amendment_reason, patient_id=patient.id, mrn=patient.mrn,
        family_name=d.family_name, given_name=d.given_name, date_of_birth=d.date_of_birth,
        sex=d.sex, placer_order_number=order.placer_order_number,
        clinician_name=order.clinician_name,
        lines=[
            Line(
                result_id=line.result_id, loinc_code=line.loinc_code, test_name=line.test_name,
                value_text=line.value_text, unit=line.unit, flag=line.flag,
                reference_text=line.reference_text,
                reference_low=results[line.result_id].interpretation.reference_low,
                reference_high=results[line.result_id].interpretation.reference_high,
                amended=line.amended, sample_id=results[line.result_id].sample_id,
                withdrawn_reason=line.withdrawn_reason,
            )
            for line in version.lines
        ],
        tubes=[
            Tube(s.id, s.accession_number, s.specimen_type, s.collected_at, s.received_at)
            for s in samples.values()
        ],
    )  # fmt: skip


class FhirDocumentStore:
    """Reads for the API: always within the caller's organization."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def bundle(
        self, organization_id: str, report_id: str, version: int | None = None
    ) -> dict[str, Any] | None:
        """The document of that version (default: the latest signed one), or None."""
        query = select(FhirDocumentRow.bundle).where(
            FhirDocumentRow.organization_id == organization_id,
            FhirDocumentRow.report_id == report_id,
        )
        if version is not None:
            query = query.where(FhirDocumentRow.report_version == version)
        query = query.order_by(FhirDocumentRow.report_version.desc()).limit(1)
        with self.engine.connect() as conn:
            found = conn.scalar(query)
        return dict(found) if found is not None else None

    def all_bundles(self, organization_id: str, since: datetime | None = None) -> list[Any]:
        query = select(FhirDocumentRow.bundle).where(
            FhirDocumentRow.organization_id == organization_id
        )
        if since is not None:
            query = query.where(FhirDocumentRow.created_at >= since)
        with self.engine.connect() as conn:
            return list(conn.scalars(query.order_by(FhirDocumentRow.created_at)))
