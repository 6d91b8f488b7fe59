"""The interface's own reads and writes (partners, answers, patient links) and the few domain
lookups inbound messages need (by MRN, placer number, accession number). Always per tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert

from domains.shared.ids import derived_id
from infra.db.aggregates import OrderRow, PatientRow, ResultRow, SampleRow
from infra.db.interop import (
    Hl7InboundMessageRow,
    Hl7PartnerRow,
    Hl7PatientLinkRow,
    Hl7SubscriptionRow,
)


@dataclass(frozen=True)
class Partner:
    sending_application: str
    sending_facility: str
    organization_id: str
    kind: str  # his | analyzer
    test_codes: dict[str, str] = field(default_factory=dict)

    @property
    def sender(self) -> str:
        return f"{self.sending_application}|{self.sending_facility}"


@dataclass(frozen=True)
class Answer:
    digest: str
    ack: str


class InterfaceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def partner(self, application: str, facility: str) -> Partner | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Hl7PartnerRow).where(
                    Hl7PartnerRow.sending_application == application,
                    Hl7PartnerRow.sending_facility == facility,
                )
            ).first()
        if row is None:
            return None
        return Partner(
            row.sending_application,
            row.sending_facility,
            row.organization_id,
            row.kind,
            dict(row.test_codes),
        )

    def add_partner(self, partner: Partner) -> None:
        values = {
            "sending_application": partner.sending_application,
            "sending_facility": partner.sending_facility,
            "organization_id": partner.organization_id,
            "kind": partner.kind,
            "test_codes": partner.test_codes,
        }
        statement = insert(Hl7PartnerRow).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["sending_application", "sending_facility"],
            set_={k: statement.excluded[k] for k in ("organization_id", "kind", "test_codes")},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def subscribe(
        self, organization_id: str, name: str, host: str, port: int, receiving: tuple[str, str]
    ) -> str:
        """Send this organization's verified results to ``host:port``; the subscription id."""
        subscription_id = derived_id("hl7-subscription", organization_id, name)
        values = {
            "id": subscription_id, "organization_id": organization_id, "name": name,
            "host": host, "port": port, "receiving_application": receiving[0],
            "receiving_facility": receiving[1], "active": True,
        }  # fmt: skip
        statement = insert(Hl7SubscriptionRow).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={k: statement.excluded[k] for k in values if k != "id"},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)
        return subscription_id

    def prior_answer(self, organization_id: str, sender: str, control_id: str) -> Answer | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Hl7InboundMessageRow.digest, Hl7InboundMessageRow.ack).where(
                    Hl7InboundMessageRow.organization_id == organization_id,
                    Hl7InboundMessageRow.sender == sender,
                    Hl7InboundMessageRow.control_id == control_id,
                )
            ).first()
        return None if row is None else Answer(row.digest, row.ack)

    def record_answer(
        self, organization_id: str, sender: str, control_id: str, **values: Any
    ) -> None:
        statement = insert(Hl7InboundMessageRow).values(
            organization_id=organization_id, sender=sender, control_id=control_id, **values
        )
        with self.engine.begin() as conn:
            conn.execute(statement.on_conflict_do_nothing())

    def patient_by_mrn(self, organization_id: str, mrn: str) -> str | None:
        return self._id(PatientRow, organization_id, PatientRow.mrn == mrn)

    def patient_by_link(self, organization_id: str, authority: str, identifier: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(
                select(Hl7PatientLinkRow.patient_id).where(
                    Hl7PatientLinkRow.organization_id == organization_id,
                    Hl7PatientLinkRow.assigning_authority == authority,
                    Hl7PatientLinkRow.identifier == identifier,
                )
            )

    def link_patient(
        self, organization_id: str, links: list[tuple[str, str]], patient_id: str
    ) -> None:
        if not links:
            return
        rows = [
            {
                "organization_id": organization_id,
                "assigning_authority": authority,
                "identifier": identifier,
                "patient_id": patient_id,
            }
            for authority, identifier in links
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(Hl7PatientLinkRow).values(rows).on_conflict_do_nothing())

    def order_patient(self, organization_id: str, placer: str) -> str | None:
        """The patient an order with this placer number belongs to (None: no such order)."""
        with self.engine.connect() as conn:
            return conn.scalar(
                select(OrderRow.patient_id).where(
                    OrderRow.organization_id == organization_id,
                    OrderRow.placer_order_number == placer,
                )
            )

    def order_by_placer(self, organization_id: str, placer: str) -> str | None:
        return self._id(OrderRow, organization_id, OrderRow.placer_order_number == placer)

    def sample(self, organization_id: str, accession: str) -> dict[str, Any] | None:
        """The sample's snapshot (its tests, status), or None."""
        with self.engine.connect() as conn:
            data = conn.scalar(
                select(SampleRow.data).where(
                    SampleRow.organization_id == organization_id,
                    SampleRow.accession_number == accession,
                )
            )
        return dict(data) if data is not None else None

    def result_id(self, organization_id: str, sample_id: str, loinc_code: str) -> str | None:
        return self._id(
            ResultRow,
            organization_id,
            (ResultRow.sample_id == sample_id) & (ResultRow.loinc_code == loinc_code),
        )

    def critical_ids(self, organization_id: str, result_id: str) -> list[str]:
        with self.engine.connect() as conn:
            data = conn.scalar(
                select(ResultRow.data).where(
                    ResultRow.organization_id == organization_id, ResultRow.id == result_id
                )
            )
        return [c["critical_id"] for c in (data or {}).get("criticals", [])]

    def _id(self, row: Any, organization_id: str, condition: Any) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(
                select(row.id).where(row.organization_id == organization_id, condition)
            )
