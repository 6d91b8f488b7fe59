"""The simulated lab day drives the HTTP API exactly as it drove the bus: the same visit code,
each command on its route with a token for its user in the route's role, one correlation id
per visit carried into the events, and the demo's summary read from them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, text

from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap
from infra.config.settings import Settings
from infra.simulation.day import run_day
from infra.simulation.through_api import TimedApiSend
from tests.integration.lab import lab_running, own_namespace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_settings(stack: Settings, module_database_url: str) -> Iterator[Settings]:
    """The API on a topic namespace of its own: the relay and the processors run for this
    module's day (the staff wait for their work), and meet only its events."""
    with own_namespace(stack, module_database_url, "api-day") as own:
        yield own.model_copy(
            update={
                "rate_limit_api_per_minute": 1_000_000,
                "rate_limit_address_per_minute": 1_000_000,
            }
        )


def test_a_simulated_day_through_the_api_leaves_one_flow_per_visit(
    api_url: str, api_settings: Settings
) -> None:
    send = TimedApiSend(api_url, api_settings.jwt_secret.get_secret_value(), "org-sim-api")
    catalog = load_catalog()
    try:
        with lab_running(api_settings):
            report = run_day(
                bootstrap(api_settings, catalog=catalog),  # the staff's lookout reads through it
                catalog,
                organization_id="org-sim-api",
                patients=3,
                seed=2026,
                today=date.today(),
                critical_rate=0.5,
                send=send,
            )
    finally:
        send.close()
    assert report.visits == 3
    assert len(send.latencies_s) == sum(report.commands.values())
    engine = create_engine(api_settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT correlation_id, user_id, command_type FROM command_log"
                    " WHERE organization_id = 'org-sim-api'"
                )
            ).all()
    finally:
        engine.dispose()
    assert {r.correlation_id for r in rows} == set(report.correlation_ids)
    # what the staff sent, each under the token's user; the rest the processors issued (no user)
    staff = [r for r in rows if r.user_id is not None]
    assert len(staff) == sum(report.commands.values())
    processors = {r.command_type for r in rows if r.user_id is None}
    assert processors <= {"RouteSample", "CompleteOrder", "GenerateReport", "AmendReport",
                          "DeliverReport"}  # fmt: skip
    signers = {r.user_id for r in rows if r.command_type == "SignReport"}
    assert signers == {"Dr. M. Pillai (MD Path)"}  # the staff member's id, from the token


def test_a_second_day_with_the_same_seed_finds_its_returning_patients_through_the_api(
    api_url: str, api_settings: Settings
) -> None:
    """The same seed draws the same people: the desk's second registration of an Aadhaar is a
    409 naming the existing chart, and the visit goes on with that chart (no second one)."""
    org = "org-sim-returning"
    catalog = load_catalog()

    def day() -> dict[str, int]:
        send = TimedApiSend(api_url, api_settings.jwt_secret.get_secret_value(), org)
        try:
            with lab_running(api_settings):
                report = run_day(
                    bootstrap(api_settings, catalog=catalog), catalog, organization_id=org,
                    patients=2, seed=77, today=date.today(), critical_rate=0.0, send=send,
                )  # fmt: skip
        finally:
            send.close()
        assert report.visits == 2
        engine = create_engine(api_settings.database_url)
        try:
            with engine.connect() as conn:
                patients = conn.execute(
                    text("SELECT count(*) FROM patients WHERE organization_id = :o"), {"o": org}
                ).scalar_one()
                orders = conn.execute(
                    text("SELECT count(*) FROM orders WHERE organization_id = :o"), {"o": org}
                ).scalar_one()
        finally:
            engine.dispose()
        return {"registered": report.commands["RegisterPatient"], "patients": patients,
                "orders": orders}  # fmt: skip

    assert day() == {"registered": 2, "patients": 2, "orders": 2}
    assert day() == {"registered": 0, "patients": 2, "orders": 4}
