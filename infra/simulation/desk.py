"""The reception desk of a simulated day (issue 12): one Aadhaar is one chart, so a patient
who presents a known Aadhaar is a returning patient, found rather than registered again."""

from __future__ import annotations

from domains.patient.commands import RegisterPatient
from domains.patient.model import DuplicateIdentifier
from infra.http.client import ApiError
from infra.simulation.context import VisitContext


def register_or_find(visit: VisitContext, user: str, **fields: object) -> str:
    """A returning patient presents the same Aadhaar (a second simulated day with the same seed
    draws the same people): the desk finds the chart instead of opening a second one."""
    try:
        return str(visit.send(RegisterPatient, user, **fields)["patient_id"])
    except DuplicateIdentifier as known:
        visit.outcome.commands["RegisterPatient"] -= 1  # refused, so not a handled command
        return known.existing_patient_id
    except ApiError as refused:  # the same refusal through the HTTP API: 409 with the chart
        if refused.problem.get("code") != DuplicateIdentifier.code:
            raise
        visit.outcome.commands["RegisterPatient"] -= 1
        return str(refused.problem["existing_patient_id"])
