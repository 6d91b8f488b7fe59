"""Inbound HL7 over a real MLLP connection: each message kind applied (ACK AA, the domain change,
its events on Kafka caused by the message control id), refused (AE/AR naming the segment and
field, nothing written) and resent (same control id: the same answer, applied once). Every
message sent and every answer is checked by HAPI HL7v2 as well."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from consumers.flow_reader import read_flows, watermarks
from domains.order.commands import ConfirmOrder, PlaceOrder
from domains.patient.commands import RegisterPatient
from domains.result.model import Result
from domains.sample.commands import CollectSample, ReceiveSample
from domains.shared.bus import MessageBus
from domains.shared.ids import derived_id, new_id
from infra.config.settings import Settings
from infra.db.aggregates import OrderRow, PatientRow, ResultRow
from infra.hl7 import mllp
from infra.hl7.er7 import Seg
from infra.simulation import analyzer, hospital_system
from infra.simulation.analyzer import Measurement
from infra.simulation.hospital_system import HisOrder, HisPatient
from tests.integration.hl7.conftest import ORG, Listener
from tests.interop.hapi import HapiValidator

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC) - timedelta(minutes=1)
HIS_SENDER = f"{hospital_system.APPLICATION}|{hospital_system.FACILITY}"
LAB_SENDER = f"{analyzer.APPLICATION}|{analyzer.FACILITY}"


def exchange(listener: Listener, message: str, hapi: HapiValidator) -> tuple[str, Seg, list[Seg]]:
    """Send over MLLP; the answer, its MSA and ERR segments. Both checked by HAPI HL7v2."""
    answer = mllp.exchange(listener.host, listener.port, message, timeout=30)
    hapi.assert_valid({"sent.hl7": message, "answer.hl7": answer})
    segs = [Seg(line[:3], line.split("|")) for line in answer.split("\r") if line]
    msa = next(s for s in segs if s.name == "MSA")
    return answer, msa, [s for s in segs if s.name == "ERR"]


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("patients", "orders", "results", "outbox", "command_log")
        }


def his_patient(hospital_id: str = "H-1001") -> HisPatient:
    return HisPatient(hospital_id, "Sharma", "Asha", date(1984, 3, 9), "female", "+919876500011")


def his_order(placer: str, codes: list[str] | None = None) -> HisOrder:
    return HisOrder(placer, codes or ["2345-7", "2823-3"], "stat", "Rao", "Vikram")


def test_an_oml_o21_places_and_confirms_the_order_with_its_control_id_as_causation(
    settings: Settings, engine: Engine, listener: Listener, relay: None, hapi: HapiValidator
) -> None:
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    control_id = "HIS" + new_id()[:8]
    message = hospital_system.oml_o21(
        control_id, his_patient(), his_order("HIS-ORD-1"), lab=ORG, now=NOW
    )
    _, msa, errors = exchange(listener, message, hapi)
    assert (msa.get(1), msa.get(2), errors) == ("AA", control_id, [])
    with engine.connect() as conn:
        order = conn.execute(
            select(OrderRow.status, OrderRow.data).where(
                OrderRow.placer_order_number == "HIS-ORD-1"
            )
        ).one()
    assert order.status == "confirmed"
    assert [t["loinc_code"] for t in order.data["tests"]] == ["2345-7", "2823-3"]
    assert order.data["priority"] == "stat"
    assert order.data["clinician_name"] == "Vikram Rao"
    correlation = derived_id("hl7", HIS_SENDER, control_id)
    by_type: dict[str, dict[str, Any]] = {}

    def published() -> bool:
        flow = read_flows(
            settings.kafka_bootstrap, settings.schema_registry_url, start, {correlation}
        )
        by_type.update({e.metadata["event_type"]: e.metadata for e in flow})
        return {"PATIENT_CREATED", "ORDER_CREATED", "ORDER_CONFIRMED"} <= set(by_type)

    from tests.integration.hl7.conftest import wait_for

    wait_for(published)
    assert {m["causation_id"] for m in by_type.values()} == {control_id}
    assert by_type["ORDER_CREATED"]["user_id"] == f"hl7:{hospital_system.APPLICATION}"


def test_the_second_order_for_a_hospital_patient_finds_the_same_patient(
    engine: Engine, listener: Listener, hapi: HapiValidator
) -> None:
    for n in (1, 2):
        message = hospital_system.oml_o21(
            f"HIS-LINK-{n}", his_patient("H-77"), his_order(f"HIS-L-{n}"), lab=ORG, now=NOW
        )
        assert exchange(listener, message, hapi)[1].get(1) == "AA"
    with engine.connect() as conn:
        owners = conn.execute(select(OrderRow.patient_id)).scalars().all()
        patients = conn.execute(select(func.count()).select_from(PatientRow)).scalar_one()
    assert len(owners) == 2
    assert len(set(owners)) == 1
    assert patients == 1


def test_a_resent_oml_o21_gets_the_same_answer_and_is_applied_once(
    engine: Engine, listener: Listener, hapi: HapiValidator
) -> None:
    message = hospital_system.oml_o21(
        "HIS-RESEND", his_patient(), his_order("HIS-R"), lab=ORG, now=NOW
    )
    first, msa, _ = exchange(listener, message, hapi)
    assert msa.get(1) == "AA"
    after_first = counts(engine)
    second, _, _ = exchange(listener, message, hapi)
    assert second == first
    assert counts(engine) == after_first
    changed = message.replace("2823-3^^LN", "2951-2^^LN")
    _, msa, errors = exchange(listener, changed, hapi)
    assert (msa.get(1), errors[0].get(2), errors[0].get(2, 3)) == ("AR", "MSH", "10")
    assert counts(engine) == after_first


@pytest.mark.parametrize(
    ("change", "where", "ack_code"),
    [
        (("2823-3^^LN", "9999-9^^LN"), ("OBR", "4"), "AE"),  # not in the catalog
        (("2823-3^^LN", "2823-3^^L"), ("OBR", "4"), "AE"),  # not a LOINC code
        (("|F|||||", "|X|||||"), ("PID", "8"), "AE"),  # administrative sex
        (("ORC|NW|", "ORC|CA|"), ("ORC", "1"), "AE"),  # only new orders
        (("|19840309|", "|1984-03-09|"), ("PID", "7"), "AR"),  # not an HL7 date
        (("^Rao^Vikram", ""), ("ORC", "12"), "AE"),  # no ordering provider
    ],
)
def test_a_bad_order_is_answered_naming_the_field_and_nothing_is_written(
    engine: Engine,
    listener: Listener,
    hapi: HapiValidator,
    change: tuple[str, str],
    where: tuple[str, str],
    ack_code: str,
) -> None:
    good = hospital_system.oml_o21("HIS-BAD", his_patient(), his_order("HIS-B"), lab=ORG, now=NOW)
    assert change[0] in good
    before = counts(engine)
    answer = mllp.exchange(
        listener.host, listener.port, good.replace(change[0], change[1]), timeout=30
    )
    hapi.assert_valid({"answer.hl7": answer})
    segs = [Seg(line[:3], line.split("|")) for line in answer.split("\r") if line]
    msa, err = segs[1], segs[2]
    assert (msa.get(1), err.get(2, 1), err.get(2, 3)) == (ack_code, *where)
    assert err.get(8), "the ERR segment says why"
    assert counts(engine) == before


def test_a_message_from_an_unknown_sender_is_rejected(
    engine: Engine, listener: Listener, hapi: HapiValidator
) -> None:
    message = hospital_system.oml_o21("X-1", his_patient(), his_order("X-1"), lab=ORG, now=NOW)
    before = counts(engine)
    _, msa, errors = exchange(listener, message.replace("CITYHOSP", "OTHERHOSP", 1), hapi)
    assert (msa.get(1), errors[0].get(2, 1), errors[0].get(2, 3)) == ("AR", "MSH", "4")
    assert counts(engine) == before


def test_an_orm_o01_is_taken_like_an_oml_o21(
    engine: Engine, listener: Listener, hapi: HapiValidator
) -> None:
    oml = hospital_system.oml_o21("HIS-ORM", his_patient(), his_order("HIS-ORM"), lab=ORG, now=NOW)
    orm = "\r".join(
        line for line in oml.replace("OML^O21^OML_O21", "ORM^O01^ORM_O01").split("\r")
        if not line.startswith("TQ1")
    )  # fmt: skip
    _, msa, errors = exchange(listener, orm, hapi)
    assert (msa.get(1), errors) == ("AA", [])
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(OrderRow.status).where(OrderRow.placer_order_number == "HIS-ORM")
            ).scalar_one()
            == "confirmed"
        )


def received_sample(bus: MessageBus, codes: list[str]) -> str:
    """A confirmed order's serum tube, received in the lab: its accession number."""

    def send(command: Any) -> dict[str, Any]:
        return bus.handle(command)

    patient = send(RegisterPatient(
        organization_id=ORG, user_id="desk", family_name="Iyer", given_name="Kavya",
        date_of_birth=date(1990, 1, 2), sex="female",
    ))["patient_id"]  # fmt: skip
    order = send(PlaceOrder(
        organization_id=ORG, user_id="desk", patient_id=patient, loinc_codes=codes,
        placer_order_number=f"P-{new_id()[:8]}", priority="routine",
        ordering_clinician_name="Dr. Rao",
    ))["order_id"]  # fmt: skip
    send(ConfirmOrder(organization_id=ORG, user_id="desk", order_id=order))
    collected = send(CollectSample(
        organization_id=ORG, user_id="phleb", order_id=order, specimen_type="serum",
        collected_at=NOW - timedelta(minutes=30),
    ))  # fmt: skip
    send(ReceiveSample(organization_id=ORG, user_id="tech", sample_id=collected["sample_id"]))
    return str(collected["accession_number"])


def test_an_analyzer_oru_r01_enters_results_with_the_analyzer_recorded(
    settings: Settings,
    engine: Engine,
    bus: MessageBus,
    listener: Listener,
    relay: None,
    hapi: HapiValidator,
) -> None:
    accession = received_sample(bus, ["2345-7", "2160-0"])
    start = watermarks(settings.kafka_bootstrap, settings.topics().events)
    values = [Measurement("2345-7", "512", "mg/dL"), Measurement("2160-0", "<0.20", "mg/dL")]
    message = analyzer.oru_r01("AN-1", accession, values, lab=ORG, now=NOW)
    _, msa, errors = exchange(listener, message, hapi)
    assert (msa.get(1), errors) == ("AA", [])
    with bus.uow_factory() as uow:
        results = {r.loinc_code: r for r in uow.repository(Result).list_by(ORG)}
    assert results["2345-7"].reading.value_text == "512"
    assert results["2345-7"].interpretation.flag == "HH"  # critical high: called as any other
    assert results["2160-0"].reading.value_text == "<0.20"
    assert results["2345-7"].analyzer_id == f"{analyzer.MODEL}-01"
    assert results["2345-7"].analyzed_at == NOW.replace(microsecond=0)
    correlation = derived_id("hl7", LAB_SENDER, "AN-1")
    seen: list[dict[str, Any]] = []

    def published() -> bool:
        seen[:] = [
            e.metadata
            for e in read_flows(
                settings.kafka_bootstrap, settings.schema_registry_url, start, {correlation}
            )
        ]
        return sum(m["event_type"] == "RESULT_ENTERED" for m in seen) == 2

    from tests.integration.hl7.conftest import wait_for

    wait_for(published)
    assert {m["causation_id"] for m in seen} == {"AN-1"}
    assert "CRITICAL_VALUE_DETECTED" in {m["event_type"] for m in seen}


def test_a_resent_oru_r01_is_not_applied_twice(
    engine: Engine, bus: MessageBus, listener: Listener, hapi: HapiValidator
) -> None:
    accession = received_sample(bus, ["2345-7"])
    message = analyzer.oru_r01(
        "AN-2", accession, [Measurement("2345-7", "101", "mg/dL")], lab=ORG, now=NOW
    )
    first, msa, _ = exchange(listener, message, hapi)
    assert msa.get(1) == "AA"
    before = counts(engine)
    assert exchange(listener, message, hapi)[0] == first
    assert counts(engine) == before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ResultRow)).scalar_one() == 1


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("|S2", "|S9"), ("OBR", "3")),  # no such sample (the accession number)
        (("GLU^GLU^L", "XYZ^XYZ^L"), ("OBX", "3")),  # a code the analyzer map lacks
        (("GLU^GLU^L", "2823-3^^LN"), ("OBX", "3")),  # a test not requested on the tube
        (("|mg/dL|", "|mg/L|"), ("OBX", "6")),  # a unit the catalog cannot convert
        (("|F|", "|P|"), ("OBX", "11")),  # a preliminary value
    ],
)
def test_a_bad_result_message_is_answered_ae_naming_the_field_and_nothing_is_written(
    engine: Engine,
    bus: MessageBus,
    listener: Listener,
    hapi: HapiValidator,
    change: tuple[str, str],
    where: tuple[str, str],
) -> None:
    accession = received_sample(bus, ["2345-7"])
    good = analyzer.oru_r01(
        "AN-BAD", accession, [Measurement("2345-7", "99", "mg/dL")], lab=ORG, now=NOW
    )
    assert change[0] in good
    before = counts(engine)
    _, msa, errors = exchange(listener, good.replace(change[0], change[1], 1), hapi)
    assert (msa.get(1), errors[0].get(2, 1), errors[0].get(2, 3)) == ("AE", *where)
    assert counts(engine) == before
