"""Tables the critical value processors own: who can be called (the provider directory and the
on-call roster), what is to be sent and how each attempt went (deliveries and attempts: the
notifier's outbox), and durable timers.

Contact details live here and only here: events and logs carry them masked. The processors
(``consumers/processors/``) use plain SQL on these tables; the classes below define them for
Alembic and the migration test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from infra.db.base import Base

_NOW = func.now()


class ProviderRow(Base):
    """A person the lab may have to reach about a critical value, per organization."""

    __tablename__ = "provider_directory"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))  # clinician | lab_supervisor | pathologist
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(16))  # E.164
    whatsapp: Mapped[str | None] = mapped_column(String(16))  # E.164
    channels: Mapped[str] = mapped_column(String(64))  # which to use, in order: "email,sms"
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_NOW)


class OnCallRow(Base):
    """Who covers an escalation role (lab_supervisor, pathologist) from when until when."""

    __tablename__ = "on_call_roster"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "provider_id"],
            ["provider_directory.organization_id", "provider_directory.provider_id"],
            name="fk_on_call_roster_provider_directory",
            ondelete="CASCADE",
        ),
        Index("ix_on_call_roster_lookup", "organization_id", "role", "starts_at"),
    )


class DeliveryRow(Base):
    """One notification to one person on one channel: written in the transaction of the
    reaction that decided it (the intent), sent by the notifier, retried with backoff."""

    __tablename__ = "notification_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the notification_id
    organization_id: Mapped[str] = mapped_column(String(64))
    trigger_event_id: Mapped[str] = mapped_column(String(36))  # causation of its records
    correlation_id: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)  # the critical_id
    result_id: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[int] = mapped_column(Integer)
    recipient_role: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    recipient_name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(254))  # in the clear: never leaves here
    address_masked: Mapped[str] = mapped_column(String(254))
    subject_line: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | cancelled
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    detected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_NOW)

    __table_args__ = (
        Index(
            "ix_notification_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class AttemptRow(Base):
    """How one attempt went; ``recorded_at`` once the Notification aggregate has it."""

    __tablename__ = "notification_attempts"

    notification_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("notification_deliveries.id", ondelete="CASCADE"),
        primary_key=True,
    )
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))  # sent | failed
    message_id: Mapped[str | None] = mapped_column(String(256))
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    error: Mapped[str | None] = mapped_column(Text)
    will_retry: Mapped[bool] = mapped_column(Boolean)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_NOW)
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "ix_notification_attempts_unrecorded",
            "notification_id",
            "attempt",
            postgresql_where=text("recorded_at IS NULL"),
        ),
    )


class TimerRow(Base):
    """A durable timer: written in the transaction that starts it, fired once by the timer
    worker (``FOR UPDATE SKIP LOCKED``), cancelled when what it waits for happens."""

    __tablename__ = "timers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # derived from its cause
    organization_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # critical_ack_sla
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # pending | fired | cancelled
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    correlation_id: Mapped[str] = mapped_column(String(128))
    causation_id: Mapped[str] = mapped_column(String(128))  # the event that started it
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_NOW)
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_timers_due", "due_at", postgresql_where=text("status = 'pending'")),
    )
