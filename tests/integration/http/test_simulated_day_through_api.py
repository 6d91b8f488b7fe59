"""The simulated lab day drives the HTTP API exactly as it drove the bus: the same visit code,
each command on its route with a token for its user in the route's role, one correlation id
per visit carried into the events, and the demo's summary read from them."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, text

from domains.catalog.model import load_catalog
from infra.config.settings import Settings
from infra.simulation.day import run_day
from infra.simulation.through_api import TimedApiSend

pytestmark = pytest.mark.integration


def test_a_simulated_day_through_the_api_leaves_one_flow_per_visit(
    api_url: str, api_settings: Settings
) -> None:
    send = TimedApiSend(api_url, api_settings.jwt_secret.get_secret_value(), "org-sim-api")
    try:
        report = run_day(
            None,
            load_catalog(),
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
    assert len(rows) == sum(report.commands.values())
    signers = {r.user_id for r in rows if r.command_type == "SignReport"}
    assert signers == {"Dr. M. Pillai (MD Path)"}  # the staff member's id, from the token
