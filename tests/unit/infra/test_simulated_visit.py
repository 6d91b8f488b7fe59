"""The simulator's visit follows the domain rules: an amended result is verified again by a
second person before the amended report is issued, signed and delivered. Staff do only what
people do; routing, completion, the report and its delivery are the processors' (run inline)."""

from __future__ import annotations

import random

import pytest

from domains.report.events import ReportDelivered, ReportGenerated
from domains.result.events import ResultAmended, ResultVerified
from domains.sample.events import SampleRouted
from infra.simulation.journey import Visit
from infra.simulation.lookout import Lookout, ProcessorsTooSlow
from infra.simulation.people import Staff, synthetic_patient
from infra.simulation.plan import VisitPlan
from tests.unit.fakes import FakeApp
from tests.unit.processor_pump import PumpedApp

PROCESSORS_COMMANDS = {"RouteSample", "CompleteOrder", "GenerateReport", "AmendReport"}


def plan(app: FakeApp, rng: random.Random, *, amend: bool) -> VisitPlan:
    return VisitPlan(
        patient=synthetic_patient(rng, app.clock.today()),
        panels=("RFT",),
        priority="stat",
        reject_first_sample=False,
        critical_loinc="2823-3",
        escalate_before_ack=True,
        amend_after_sign=amend,
        placer_order_number="HIS-SIM-1",
    )


def visit(app: FakeApp, *, amend: bool, timeout_s: float = 5.0) -> Visit:
    rng = random.Random(3)
    lookout = Lookout(app.bus.uow_factory, timeout_s=timeout_s)
    return Visit(
        app.handle, app.catalog, "org-1", plan(app, rng, amend=amend), rng, app.clock.today(),
        lookout=lookout,
    )  # fmt: skip


def test_a_visit_amended_after_sign_off_reverifies_before_the_amended_report() -> None:
    app = PumpedApp()
    outcome = visit(app, amend=True).run()
    assert app.uow.event_types()[-6:] == [
        "RESULT_AMENDED",
        "RESULT_VERIFIED",
        "REPORT_GENERATED",
        "REPORT_SIGNED",
        "REPORT_DELIVERED",  # to the ordering clinician
        "REPORT_DELIVERED",  # and to the patient
    ]
    [amended] = app.uow.events(ResultAmended)
    reverified = app.uow.events(ResultVerified)[-1]
    assert reverified.value_text == amended.value_text
    assert reverified.verified_by == Staff().verifier != Staff().technologist
    assert app.uow.events(ReportGenerated)[-1].report_version == 2
    assert {d.report_version for d in app.uow.events(ReportDelivered)} == {1, 2}
    assert not PROCESSORS_COMMANDS & set(outcome.commands)  # none issued by the staff


def test_the_staff_work_only_from_what_the_processors_made_for_them() -> None:
    app = PumpedApp()
    outcome = visit(app, amend=False).run()
    assert app.uow.events(SampleRouted)
    assert len(app.uow.events(ReportDelivered)) == 2
    assert not PROCESSORS_COMMANDS & set(outcome.commands)
    assert {"SignReport", "VerifyResult", "ReceiveSample"} <= set(outcome.commands)


def test_without_processors_the_visit_stops_with_a_clear_error() -> None:
    app = FakeApp()  # nothing reacts: the sample is never routed
    with pytest.raises(ProcessorsTooSlow, match=r"to be routed.*lis worker"):
        visit(app, amend=False, timeout_s=0.3).run()
