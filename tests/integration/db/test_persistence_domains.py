"""The real aggregates through ``bootstrap()`` on a fresh Postgres database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.order.model import Order
from domains.patient.commands import RegisterPatient
from domains.patient.events import PatientCreated
from domains.patient.identifiers import check_mrn
from domains.sample.commands import CollectSample
from domains.sample.ports import check_accession_number
from domains.shared.bus import MessageBus
from domains.shared.check_digits import verhoeff_check_digit
from domains.shared.errors import ConcurrencyConflict, InvalidInput, NotFound
from infra.config.settings import Settings
from infra.crypto.aadhaar_vault import FernetAadhaarVault
from infra.db.engine import make_session_factory
from infra.db.messaging import OutboxRow
from infra.db.queries import search_patients
from infra.db.tables import Base
from infra.db.uow import SqlUnitOfWork
from producers.topics import Topics
from schemas.avro_codec import decode, encode

pytestmark = pytest.mark.integration
ORG, OTHER_ORG = "org-a", "org-b"
AADHAAR = "23412341234" + verhoeff_check_digit("23412341234")
HAEMOGLOBIN = "718-7"


def register(bus: MessageBus, given: str = "Anita", family: str = "Sharma", **more: Any) -> Any:
    more.setdefault("mobile", "98765 43210")
    command = RegisterPatient(
        organization_id=ORG,
        given_name=given,
        family_name=family,
        date_of_birth=date(1984, 5, 17),
        sex="female",
        **more,
    )
    return bus.handle(command)


def row_counts(engine: Engine) -> dict[str, int]:
    names = ("patients", "orders", "samples", "results", "reports", "outbox", "command_log")
    tables = [Base.metadata.tables[name] for name in names]
    with engine.connect() as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t)) or 0 for t in tables}


def test_a_registration_stores_the_aadhaar_encrypted_and_publishes_it_masked(
    bus: MessageBus, engine: Engine, settings: Settings
) -> None:
    outcome = register(bus, aadhaar=AADHAAR)
    assert check_mrn(outcome["mrn"])
    with engine.connect() as conn:
        data = conn.scalar(text("SELECT data::text FROM patients"))
        token = conn.scalar(text("SELECT data->>'aadhaar_token' FROM patients"))
        outbox = conn.execute(select(OutboxRow)).one()
    assert AADHAAR not in data
    assert FernetAadhaarVault(settings.phi_key).decrypt(token) == AADHAAR
    assert (outbox.schema_name, outbox.topic) == (
        "lis.patient.PatientCreated",
        settings.topics().for_aggregate("Patient"),
    )
    assert AADHAAR.encode() not in outbox.payload
    event = decode(outbox.schema_name, outbox.payload).event
    assert isinstance(event, PatientCreated)
    assert event.aadhaar_masked == "XXXX-XXXX-" + AADHAAR[-4:]


@pytest.mark.parametrize(
    ("field", "send"),
    [
        ("aadhaar", lambda bus, _: register(bus, "Meena", aadhaar="234123412340")),
        (
            "loinc_codes",
            lambda bus, patient: bus.handle(
                PlaceOrder(
                    organization_id=ORG,
                    patient_id=patient,
                    placer_order_number="HIS-1",
                    loinc_codes=["99999-9"],
                    ordering_clinician_name="Dr Rao",
                )
            ),
        ),
    ],
)
def test_an_invalid_command_names_its_field_and_writes_nothing(
    bus: MessageBus, engine: Engine, field: str, send: Any
) -> None:
    patient_id = register(bus)["patient_id"]
    before = row_counts(engine)
    with pytest.raises(InvalidInput) as error:
        send(bus, patient_id)
    assert error.value.field == field
    assert row_counts(engine) == before


def test_another_organization_can_neither_order_for_nor_find_the_patient(
    bus: MessageBus, engine: Engine
) -> None:
    patient_id = register(bus)["patient_id"]
    with pytest.raises(NotFound):
        bus.handle(
            PlaceOrder(
                organization_id=OTHER_ORG,
                patient_id=patient_id,
                placer_order_number="HIS-1",
                loinc_codes=[HAEMOGLOBIN],
                ordering_clinician_name="Dr Rao",
            )
        )
    assert search_patients(engine, OTHER_ORG, name="Anita Sharma") == []


def test_a_patient_is_found_by_a_misspelt_name_and_shown_masked(
    bus: MessageBus, engine: Engine
) -> None:
    anita = register(bus, aadhaar=AADHAAR)
    register(bus, "Ramesh", "Kumar", mobile="9123456789")
    found = search_patients(engine, ORG, name="Anita Shrama")
    assert [v.mrn for v in found] == [anita["mrn"]]
    assert found[0].aadhaar_masked == "XXXX-XXXX-" + AADHAAR[-4:]
    assert found[0].mobile_masked == "+91XXXXXX3210"
    assert [v.mrn for v in search_patients(engine, ORG, name="sharma")] == [anita["mrn"]]
    assert [v.mrn for v in search_patients(engine, ORG, mobile="09876543210")] == [anita["mrn"]]
    assert [v.given_name for v in search_patients(engine, ORG, mrn=anita["mrn"])] == ["Anita"]


def test_a_command_sent_twice_from_two_threads_registers_one_patient(
    bus: MessageBus, engine: Engine
) -> None:
    commands = [
        RegisterPatient(
            organization_id=ORG,
            given_name="Ravi",
            family_name=f"Das{c}",
            date_of_birth=date(1990, 1, 1),
            sex="male",
        )
        for c in "abcde"
    ]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(bus.handle, [c for c in commands for _ in (1, 2)]))
    assert outcomes[0::2] == outcomes[1::2]
    assert bus.handle(commands[0]) == outcomes[0]
    assert row_counts(engine)["patients"] == row_counts(engine)["outbox"] == len(commands)


def test_a_lab_day_starts_with_patient_order_and_an_accessioned_sample(
    bus: MessageBus, engine: Engine
) -> None:
    patient_id = register(bus)["patient_id"]
    order = bus.handle(
        PlaceOrder(
            organization_id=ORG,
            patient_id=patient_id,
            placer_order_number="HIS-1",
            loinc_codes=[HAEMOGLOBIN],
            ordering_clinician_name="Dr Rao",
        )
    )
    bus.handle(ConfirmOrder(organization_id=ORG, order_id=order["order_id"]))
    sample = bus.handle(
        CollectSample(organization_id=ORG, order_id=order["order_id"], specimen_type="whole_blood")
    )
    assert check_accession_number(sample["accession_number"])
    with engine.connect() as conn:
        versions = conn.execute(
            text("SELECT aggregate_type, aggregate_version FROM outbox ORDER BY id")
        ).all()
    assert [tuple(v) for v in versions] == [
        ("Patient", 1),
        ("Order", 1),
        ("Order", 2),
        ("Sample", 1),
    ]


def test_two_clerks_changing_one_order_cannot_both_win(bus: MessageBus, engine: Engine) -> None:
    patient_id = register(bus)["patient_id"]
    order_id = bus.handle(
        PlaceOrder(
            organization_id=ORG,
            patient_id=patient_id,
            placer_order_number="HIS-1",
            loinc_codes=[HAEMOGLOBIN],
            ordering_clinician_name="Dr Rao",
        )
    )["order_id"]
    factory = make_session_factory(engine)
    before = row_counts(engine)
    with (
        SqlUnitOfWork(factory, encode=encode, topics=Topics()) as one,
        SqlUnitOfWork(factory, encode=encode, topics=Topics()) as two,
    ):
        first, second = (u.repository(Order).get(ORG, order_id) for u in (one, two))
        first.confirm()
        second.cancel("duplicate request", verified_loinc_codes=set())
        one.commit(ConfirmOrder(organization_id=ORG, order_id=order_id), {})
        with pytest.raises(ConcurrencyConflict):
            two.commit(ConfirmOrder(organization_id=ORG, order_id=order_id), {})
    after = row_counts(engine)
    assert after["outbox"] == before["outbox"] + 1
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT status FROM orders")) == "confirmed"
