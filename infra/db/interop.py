"""Tables of the interfaces (HL7 v2 over MLLP, FHIR documents).

Inbound: who may send (``hl7_partners``: a sender's MSH-3/MSH-4 names its organization and, for
an analyzer, its own test codes), what each sender's message control id was answered with
(``hl7_inbound_messages``: a resent message gets the first answer and changes nothing), and the
hospital's own patient ids linked to ours (``hl7_patient_links``).

Outbound: who subscribes to results (``hl7_subscriptions``) and the delivery log
(``hl7_deliveries``: one row per verified result and subscriber, written in the consumer
transaction that read the event, so the intent is never lost; ``acked_at`` set in the
transaction that received the ACK, so an acknowledged message is never sent again;
``hl7_delivery_attempts``: every try and how it ended). ``fhir_documents``: the FHIR document
bundle of each signed report version, as it was signed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from infra.db.base import Base


class Hl7PartnerRow(Base):
    """A system allowed to send us messages: a hospital system (orders) or an analyzer."""

    __tablename__ = "hl7_partners"

    sending_application: Mapped[str] = mapped_column(String(64), primary_key=True)
    sending_facility: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # his | analyzer
    # an analyzer's own test codes (OBX-3 without LN) -> LOINC
    test_codes: Mapped[dict[str, str]] = mapped_column(JSONB, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Hl7InboundMessageRow(Base):
    """A message we answered: a resend of its control id is answered the same, not re-applied."""

    __tablename__ = "hl7_inbound_messages"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender: Mapped[str] = mapped_column(String(130), primary_key=True)  # MSH-3|MSH-4
    control_id: Mapped[str] = mapped_column(String(128), primary_key=True)  # MSH-10
    message_type: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the message as received
    ack_code: Mapped[str] = mapped_column(String(2))
    ack: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Hl7PatientLinkRow(Base):
    """A hospital's own patient id (PID-3 under its assigning authority) -> our patient."""

    __tablename__ = "hl7_patient_links"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    assigning_authority: Mapped[str] = mapped_column(String(64), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Hl7SubscriptionRow(Base):
    """A system that receives our verified results as ORU^R01 over MLLP."""

    __tablename__ = "hl7_subscriptions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    receiving_application: Mapped[str] = mapped_column(String(64))
    receiving_facility: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("organization_id", "name", name="uq_hl7_subscriptions_organization_id"),
    )


class Hl7DeliveryRow(Base):
    """One message for one subscriber; sent in ``seq`` order per subscriber until acknowledged."""

    __tablename__ = "hl7_deliveries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # derived(event, subscriber)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    organization_id: Mapped[str] = mapped_column(String(64))
    subscription_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(36))
    result_id: Mapped[str] = mapped_column(String(64))
    control_id: Mapped[str] = mapped_column(String(20), unique=True)  # MSH-10
    message: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    acked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ack: Mapped[str | None] = mapped_column(Text)
    # the receiver NAKed it too many times: set aside, so later results are not held back
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # the sender's question: each subscriber's oldest message neither acknowledged nor
        # set aside
        Index(
            "ix_hl7_deliveries_pending",
            "subscription_id",
            "seq",
            postgresql_where=text("acked_at IS NULL AND rejected_at IS NULL"),
        ),
    )


class Hl7DeliveryAttemptRow(Base):
    __tablename__ = "hl7_delivery_attempts"

    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))  # acked | nak | timeout | refused | dropped
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class FhirDocumentRow(Base):
    """The FHIR R4 document Bundle of one signed report version (immutable once written)."""

    __tablename__ = "fhir_documents"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))  # the REPORT_SIGNED it was built for
    bundle: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
