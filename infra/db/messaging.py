"""Tables of the messaging backbone: outbox (to Kafka), inbox (from Kafka), command log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, LargeBinary, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from infra.db.base import Base


class OutboxRow(Base):
    """An event waiting to be published; written in the transaction that changed the aggregate.

    ``payload`` is the Avro binary of the event record (no Confluent frame): the relay adds the
    magic byte and the registry id of the schema the payload was written with, which
    ``schema_fingerprint`` names (SHA-256 of its canonical form; '' for rows from before
    migration 0004: the relay's current schema), and sends it as is.
    ``txid`` (the writing transaction's id) makes the relay commit-order safe: it only reads rows
    whose transaction id is below the oldest transaction still running, so a transaction that
    commits late is never skipped. Rows are deleted once Kafka has acknowledged them.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    organization_id: Mapped[str] = mapped_column(String(64))
    aggregate_type: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    aggregate_version: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(64))
    headers: Mapped[dict[str, str]] = mapped_column(JSONB)
    schema_name: Mapped[str] = mapped_column(String(128))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    schema_fingerprint: Mapped[str] = mapped_column(String(64), server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint")
    )

    __table_args__ = (Index("ix_outbox_txid_id", "txid", "id"),)


class InboxRow(Base):
    """An event a consumer has applied; written in the same transaction as the effect."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class CommandLogRow(Base):
    """A handled command and its outcome: re-sending the same command_id returns it."""

    __tablename__ = "command_log"

    # Command ids are scoped by tenant, like every other row.
    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Ids may come from clients (X-Correlation-ID, an idempotency key), not only from new_id():
    # 128 is the bound Command validates, so a long id is refused up front, not at commit.
    command_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    command_type: Mapped[str] = mapped_column(String(64))
    correlation_id: Mapped[str] = mapped_column(String(128))
    causation_id: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # keyed digest of what the command asked for (same id + other body = conflict); NULL for
    # rows logged before migration 0008
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
