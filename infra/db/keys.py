"""Per-patient data keys (crypto-shredding): one row per patient, the key wrapped (encrypted)
under the deployment's PHI key. Shredding empties ``wrapped_key`` for good; the row stays as
the record that (and when) it happened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from infra.db.base import Base


class PatientKeyRow(Base):
    __tablename__ = "patient_keys"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wrapped_key: Mapped[str | None] = mapped_column(Text)  # NULL once shredded
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    shredded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
