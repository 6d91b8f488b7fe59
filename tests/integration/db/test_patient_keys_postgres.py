"""Per-patient keys on real Postgres (issue 12, crypto-shredding): a registration through the
real bus seals the names in its event; the key is stored only wrapped; shredding it leaves the
event's copy unreadable and refuses to seal more."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import Engine

from domains.patient.commands import RegisterPatient
from domains.patient.events import PatientCreated
from domains.shared.bus import MessageBus
from infra.config.settings import Settings
from infra.crypto.patient_keys import PatientKeyShredded, SqlPatientKeyring
from schemas.avro_codec import default_codec
from tests.integration.db.test_persistence_consistency import ORG, scalar

pytestmark = pytest.mark.integration


def test_a_registration_seals_its_phi_and_shredding_the_key_makes_it_unreadable(
    bus: MessageBus, engine: Engine, settings: Settings
) -> None:
    patient_id = bus.handle(
        RegisterPatient(
            organization_id=ORG,
            family_name="Nair",
            given_name="Lakshmi",
            date_of_birth=date(1979, 8, 2),
            sex="female",
        )
    )["patient_id"]
    payload = scalar(engine, "SELECT payload FROM outbox WHERE event_type = 'PATIENT_CREATED'")
    schema = scalar(engine, "SELECT schema_name FROM outbox WHERE event_type = 'PATIENT_CREATED'")
    created = default_codec().decode(schema, bytes(payload)).event
    assert isinstance(created, PatientCreated)
    assert created.sealed_phi is not None
    keyring = SqlPatientKeyring(engine, settings.phi_key)
    plain = keyring.open(ORG, patient_id, created.sealed_phi)
    assert plain is not None
    assert json.loads(plain)["given_name"] == "Lakshmi"

    wrapped = scalar(
        engine, "SELECT wrapped_key FROM patient_keys WHERE patient_id = :p", p=patient_id
    )
    assert wrapped
    assert "Lakshmi" not in wrapped

    assert keyring.shred(ORG, patient_id) is True
    assert keyring.open(ORG, patient_id, created.sealed_phi) is None
    with pytest.raises(PatientKeyShredded):
        keyring.seal(ORG, patient_id, b"anything")
    assert scalar(
        engine,
        "SELECT shredded_at IS NOT NULL FROM patient_keys WHERE patient_id = :p",
        p=patient_id,
    )
