"""Issue 12 on real Postgres: a command id reused with another body is refused by its keyed
fingerprint; one Aadhaar is one chart even when two registrations race past the handler's
look."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, text

from domains.patient.commands import RegisterPatient
from domains.shared.bus import MessageBus
from domains.shared.errors import Conflict
from domains.shared.uow import AbstractUnitOfWork, Outcome
from infra.config.settings import Settings
from infra.crypto.blind_index import HmacIndex
from tests.integration.db.test_persistence_consistency import ORG, scalar

pytestmark = pytest.mark.integration
AADHAAR = "234567890124"


def register(command_id: str, given_name: str, **extra: Any) -> RegisterPatient:
    return RegisterPatient(
        organization_id=ORG,
        command_id=command_id,
        family_name="Rao",
        given_name=given_name,
        date_of_birth=date(1990, 1, 2),
        sex="male",
        **extra,
    )


def test_the_command_log_keeps_a_keyed_fingerprint_and_refuses_another_body(
    bus: MessageBus, engine: Engine, settings: Settings
) -> None:
    first = bus.handle(register("idem-1", "Vikram"))
    assert bus.handle(register("idem-1", "Vikram")) == first
    with pytest.raises(Conflict, match="different payload"):
        bus.handle(register("idem-1", "Arjun"))
    stored = scalar(engine, "SELECT payload_hash FROM command_log WHERE command_id = 'idem-1'")
    keyed = HmacIndex(settings.phi_index_key).command_payload(
        register("idem-1", "Vikram").canonical_payload()
    )
    assert stored == keyed
    assert scalar(engine, "SELECT count(*) FROM patients") == 1


def test_a_fingerprintless_row_from_before_the_migration_still_replays(
    bus: MessageBus, engine: Engine
) -> None:
    first = bus.handle(register("idem-2", "Vikram"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE command_log SET payload_hash = NULL WHERE command_id = 'idem-2'"))
    assert bus.handle(register("idem-2", "Arjun")) == first


def test_two_registrations_racing_with_one_aadhaar_store_one_chart(
    bus: MessageBus, engine: Engine
) -> None:
    read, go = threading.Barrier(2), threading.Event()
    go.set()
    racing = MessageBus(bus.uow_factory, bus.handlers)
    inner = bus.handlers[RegisterPatient]

    def both_look_first(command: Any, uow: AbstractUnitOfWork) -> Outcome:
        outcome = inner(command, uow)
        read.wait(timeout=20)
        return outcome

    racing.handlers[RegisterPatient] = both_look_first
    commands = [
        register("r-1", "Vikram", aadhaar=AADHAAR),
        register("r-2", "Arjun", aadhaar=AADHAAR),
    ]
    with ThreadPoolExecutor(2) as pool:
        errors = [
            f.exception(timeout=30) for f in [pool.submit(racing.handle, c) for c in commands]
        ]
    (conflict,) = [e for e in errors if e is not None]
    assert isinstance(conflict, Conflict)
    assert "aadhaar_index" in str(conflict)
    assert AADHAAR not in str(conflict)
    assert scalar(engine, "SELECT count(*) FROM patients") == 1
    index = scalar(engine, "SELECT aadhaar_index FROM patients")
    assert index is not None
    assert AADHAAR not in index
