"""Tables of the domain aggregates, the test catalog and the per-organization counters.

Each aggregate row keeps the whole snapshot in ``data`` (JSONB) and copies the aggregate's
``lookup_fields`` into indexed columns, so one generic repository can save and query all five.
``version`` is the optimistic-concurrency guard: saves are ``WHERE version = <as loaded>``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from infra.db.base import Base


class AggregateRow:
    """Columns every aggregate table shares."""

    # sort_order: identity first and bookkeeping last in the table, the lookups in between.
    id: Mapped[str] = mapped_column(String(64), primary_key=True, sort_order=-3)
    organization_id: Mapped[str] = mapped_column(String(64), index=True, sort_order=-2)
    version: Mapped[int] = mapped_column(BigInteger, sort_order=-1)
    status: Mapped[str] = mapped_column(String(32), sort_order=-1)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, sort_order=1)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), sort_order=1
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), sort_order=1
    )


class PatientRow(AggregateRow, Base):
    __tablename__ = "patients"

    mrn: Mapped[str] = mapped_column(String(32))
    mobile: Mapped[str | None] = mapped_column(String(32), index=True)
    # Nullable: many patients have one name only; which name is required is the domain's rule.
    family_name: Mapped[str | None] = mapped_column(String(128), index=True)
    given_name: Mapped[str | None] = mapped_column(String(128), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date, index=True)
    # name + date of birth, normalized by the domain: the likely-same-person check
    duplicate_key: Mapped[str | None] = mapped_column(String(320), index=True)
    # keyed hash of the Aadhaar number (the number itself is only in data, encrypted)
    aadhaar_index: Mapped[str | None] = mapped_column(String(64))
    # Generated, so search and its trigram index can never disagree with the names.
    full_name: Mapped[str] = mapped_column(
        String(257),
        Computed("(coalesce(given_name, '') || ' ' || coalesce(family_name, ''))", persisted=True),
    )

    __table_args__ = (
        UniqueConstraint("organization_id", "mrn", name="uq_patients_organization_id_mrn"),
        # One Aadhaar, one living chart. The handler looks first, for a clear message naming the
        # other MRN; this catches two registrations racing past that look. A deleted (merged)
        # chart keeps its number without blocking the chart that replaced it.
        Index(
            "uq_patients_organization_id_aadhaar_index",
            "organization_id",
            "aadhaar_index",
            unique=True,
            postgresql_where=text("aadhaar_index IS NOT NULL AND status <> 'deleted'"),
        ),
        Index(
            "ix_patients_full_name_trgm",
            "full_name",
            postgresql_using="gin",
            postgresql_ops={"full_name": "gin_trgm_ops"},
        ),
    )


class OrderRow(AggregateRow, Base):
    __tablename__ = "orders"

    placer_order_number: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64), index=True)

    __table_args__ = (
        UniqueConstraint(
            "organization_id",
            "placer_order_number",
            name="uq_orders_organization_id_placer_order_number",
        ),
    )


class SampleRow(AggregateRow, Base):
    __tablename__ = "samples"

    accession_number: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(64), index=True)

    __table_args__ = (
        UniqueConstraint(
            "organization_id",
            "accession_number",
            name="uq_samples_organization_id_accession_number",
        ),
    )


class ResultRow(AggregateRow, Base):
    __tablename__ = "results"

    order_id: Mapped[str] = mapped_column(String(64), index=True)
    sample_id: Mapped[str | None] = mapped_column(String(64), index=True)
    loinc_code: Mapped[str] = mapped_column(String(16))

    # One result per test on a sample (a correction is an amendment of it). The handler looks
    # first for a clear message; this catches two entries racing past that look.
    __table_args__ = (
        UniqueConstraint(
            "organization_id",
            "sample_id",
            "loinc_code",
            name="uq_results_organization_id_sample_id_loinc_code",
        ),
    )


class ReportRow(AggregateRow, Base):
    __tablename__ = "reports"

    order_id: Mapped[str] = mapped_column(String(64), index=True)

    # One report per order; amendments are versions inside it. Catches racing GenerateReports.
    __table_args__ = (
        UniqueConstraint("organization_id", "order_id", name="uq_reports_organization_id_order_id"),
    )


class PaymentRow(AggregateRow, Base):
    __tablename__ = "payments"

    order_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64), index=True)

    # One invoice per order (its payments, refunds and failed attempts live inside it).
    __table_args__ = (
        UniqueConstraint(
            "organization_id", "order_id", name="uq_payments_organization_id_order_id"
        ),
    )


class NotificationRow(AggregateRow, Base):
    __tablename__ = "notifications"

    subject_id: Mapped[str] = mapped_column(String(64), index=True)  # e.g. the critical_id


# The repository finds an aggregate's table by its ``aggregate_type``, so infra needs no import
# of the domain model classes (and a test aggregate can borrow a table).
TABLE_BY_AGGREGATE_TYPE: dict[str, Table] = {
    aggregate_type: cast(Table, row.__table__)
    for aggregate_type, row in (
        ("Patient", PatientRow),
        ("Order", OrderRow),
        ("Sample", SampleRow),
        ("Result", ResultRow),
        ("Report", ReportRow),
        ("Payment", PaymentRow),
        ("Notification", NotificationRow),
    )
}


class CatalogVersionRow(Base):
    """A loaded version of the test catalog; definitions of old versions stay for old orders."""

    __tablename__ = "test_catalog_versions"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TestDefinitionRow(Base):
    __tablename__ = "test_definitions"
    __test__ = False  # not a pytest test class, whatever its name says

    catalog_version: Mapped[str] = mapped_column(
        String(32),
        ForeignKey("test_catalog_versions.version", ondelete="CASCADE"),
        primary_key=True,
    )
    loinc: Mapped[str] = mapped_column(String(16), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)


class MrnCounterRow(Base):
    """The last MRN number handed out per organization (bumped with an upsert ... RETURNING)."""

    __tablename__ = "mrn_counters"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)


class AccessionCounterRow(Base):
    """The last accession number per organization and (lab-local) day."""

    __tablename__ = "accession_counters"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)
