"""The API's command table covers the bus: every command class the domains handle has a route,
and its request body is the command's own fields less identity, path and caller fields."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from domains.patient.commands import RegisterPatient
from domains.report.commands import DeliverReport, Recipient
from domains.result.commands import AcknowledgeCriticalValue
from infra.http.auth import Principal, Unauthenticated, principal_from_claims
from infra.http.client import request_for
from infra.http.command_table import (
    IDENTITY_FIELDS,
    INTERNAL_COMMANDS,
    ROUTE_BY_COMMAND,
    ROUTES,
)
from infra.http.models import bound_fields, request_model
from tests.unit.fakes import FakeApp


def test_every_command_the_bus_handles_has_a_route_unless_only_the_system_issues_it() -> None:
    handled = set(FakeApp().bus.handlers)
    missing = sorted(c.__name__ for c in handled - set(ROUTE_BY_COMMAND) - INTERNAL_COMMANDS)
    assert missing == [], f"add a line to infra/http/command_table.py ROUTES for {missing}"
    assert not INTERNAL_COMMANDS & set(ROUTE_BY_COMMAND)  # never both


def test_no_two_routes_share_a_method_and_path() -> None:
    seen = [(r.method, r.path) for r in ROUTES]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_a_request_body_is_the_commands_fields_less_identity_and_path(route: object) -> None:
    from infra.http.command_table import CommandRoute

    assert isinstance(route, CommandRoute)
    body = set(request_model(route).model_fields)
    own = {f.name for f in dataclasses.fields(route.command)}
    expected = own - set(IDENTITY_FIELDS) - set(route.path_params)
    # organization_id and user_id may be repeated (and must then be the token's)
    assert body == expected | {"organization_id", "user_id"}
    for name in bound_fields(route):
        assert not request_model(route).model_fields[name].is_required()


def test_a_command_travels_as_its_route_and_body() -> None:
    command = DeliverReport(
        organization_id="org-1",
        user_id="path-1",
        report_id="r-1",
        recipients=[Recipient(role="patient", name="P", channel="sms", destination="9876543210")],
    )
    route, path, body = request_for(command)
    assert (route.method, path) == ("POST", "/api/v1/reports/r-1/deliver")
    parsed = request_model(route).model_validate(body)
    assert parsed.recipients == command.recipients  # type: ignore[attr-defined]
    registered = request_for(
        RegisterPatient(
            organization_id="o",
            family_name="S",
            given_name="P",
            date_of_birth=date(1985, 4, 12),
            sex="female",
        )
    )[2]
    assert registered["date_of_birth"] == "1985-04-12"
    assert not set(registered) & set(IDENTITY_FIELDS)


def test_a_clinician_acknowledges_as_themselves_and_lab_staff_as_the_caller() -> None:
    route = ROUTE_BY_COMMAND[AcknowledgeCriticalValue]
    assert route.bind is not None
    clinician = Principal("dr-1", "o", frozenset({"clinician"}))
    tech = Principal("tech-1", "o", frozenset({"technologist"}))
    assert route.bind(clinician, {}) == {"acknowledged_by": "dr-1"}
    assert route.bind(tech, {}) == {"called_by": "tech-1"}


@pytest.mark.parametrize(
    "claims",
    [
        {"org": "o", "roles": []},
        {"sub": "u", "roles": []},
        {"sub": "u", "org": "o", "roles": "admin"},
        {"sub": " u", "org": "o"},
        {"sub": "u" * 65, "org": "o"},
    ],
)
def test_a_token_without_a_usable_identity_is_refused(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        principal_from_claims(claims)


def test_unknown_roles_in_a_token_grant_nothing() -> None:
    principal = principal_from_claims({"sub": "u", "org": "o", "roles": ["root", "clinician"]})
    assert principal.roles == frozenset({"clinician"})
