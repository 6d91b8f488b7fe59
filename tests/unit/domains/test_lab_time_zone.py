"""The lab's calendar (issue 12): events keep UTC, but dates of birth, accession dates and
ages at collection are the organization's local days (default Asia/Kolkata)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domains.result.model import Result
from domains.sample.events import SampleCollected
from domains.shared.errors import InvalidInput
from domains.shared.policy import LabPolicy
from tests.unit.domains.conftest import ORG, POTASSIUM, order, received_sample, register, result
from tests.unit.fakes import FakeApp

# 01:00 on 15 June in Kolkata is still 14 June in UTC
KOLKATA_1AM = datetime(2024, 6, 14, 19, 30, tzinfo=UTC)


def app_at(when: datetime, **policy: str) -> FakeApp:
    app = FakeApp(policy=LabPolicy(**policy))  # type: ignore[arg-type]
    app.clock.current = when
    return app


def test_a_baby_born_after_midnight_in_kolkata_can_be_registered_that_night() -> None:
    app = app_at(KOLKATA_1AM)
    outcome = register(app, given_name="Baby of Priya", date_of_birth=date(2024, 6, 15))
    assert outcome["mrn"]


def test_a_lab_in_utc_still_refuses_a_date_of_birth_after_its_own_today() -> None:
    app = app_at(KOLKATA_1AM, time_zone="UTC")
    with pytest.raises(InvalidInput) as err:
        register(app, date_of_birth=date(2024, 6, 15))
    assert err.value.field == "date_of_birth"


def test_accession_numbers_carry_the_labs_date_not_utcs() -> None:
    app = app_at(KOLKATA_1AM)
    order_id = order(app, register(app)["patient_id"], POTASSIUM)
    received_sample(app, order_id)
    [collected] = app.uow.events(SampleCollected)
    assert collected.accession_number.startswith("S240615")
    assert collected.collected_at == KOLKATA_1AM  # the event keeps the UTC instant


def test_age_at_collection_is_counted_on_the_labs_calendar() -> None:
    app = app_at(KOLKATA_1AM)
    flow = result(app, value="4.2", given_name="Ravi", date_of_birth=date(2024, 5, 15))
    context = app.load(Result, flow["result_id"], ORG).context
    assert context.collected_on == date(2024, 6, 15)  # one month old in Kolkata that morning
