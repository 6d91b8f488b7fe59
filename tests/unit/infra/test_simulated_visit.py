"""The simulator's visit follows the domain rules: an amended result is verified again by a
second person before the amended report is issued, signed and delivered."""

from __future__ import annotations

import random

from domains.result.events import ResultAmended, ResultVerified
from infra.simulation.journey import Visit
from infra.simulation.people import Staff, synthetic_patient
from infra.simulation.plan import VisitPlan
from tests.unit.fakes import FakeApp


def test_a_visit_amended_after_sign_off_reverifies_before_the_amended_report() -> None:
    app = FakeApp()
    rng = random.Random(3)
    plan = VisitPlan(
        patient=synthetic_patient(rng, app.clock.today()),
        panels=("RFT",),
        priority="stat",
        reject_first_sample=False,
        critical_loinc="2823-3",
        escalate_before_ack=True,
        amend_after_sign=True,
        placer_order_number="HIS-SIM-1",
    )
    Visit(app.handle, app.catalog, "org-1", plan, rng, app.clock.today()).run()
    assert app.uow.event_types()[-5:] == [
        "RESULT_AMENDED",
        "RESULT_VERIFIED",
        "REPORT_GENERATED",
        "REPORT_SIGNED",
        "REPORT_DELIVERED",
    ]
    [amended] = app.uow.events(ResultAmended)
    reverified = app.uow.events(ResultVerified)[-1]
    assert reverified.value_text == amended.value_text
    assert reverified.verified_by == Staff().verifier != Staff().technologist
