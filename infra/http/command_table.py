"""Every command of the domains as an HTTP route: one line per command.

A route names its command class, its path (path parameters fill the command fields of the same
name), the roles that may send it, and the fields that identify the caller (set from the token,
refused when the body names someone else). Request bodies are derived from the dataclass fields,
so a field added to a command appears in the API (and its OpenAPI document) by itself, and a
new command is one more line here (``tests/unit/infra/http`` fails for one without a route).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from domains.notification import commands as notification
from domains.order import commands as order
from domains.patient import commands as patient
from domains.payment import commands as payment
from domains.report import commands as report
from domains.result import commands as result
from domains.sample import commands as sample
from domains.shared.messages import Command
from infra.http.auth import Principal

# Fields that never come from a body: the token names who and for which organization, the
# Idempotency-Key / X-Correlation-ID headers give the ids, and only processors set causation.
IDENTITY_FIELDS = ("organization_id", "user_id", "command_id", "correlation_id", "causation_id")

# (principal, body fields) -> fields the caller's identity fixes
Binder = Callable[[Principal, dict[str, object]], dict[str, str]]


def _caller_as(field_name: str) -> Binder:
    return lambda principal, _body: {field_name: principal.user_id}


def _critical_call(principal: Principal, _body: dict[str, object]) -> dict[str, str]:
    """A clinician acknowledges as themselves; lab staff record the read-back of a phone call
    they made (they are ``called_by``; the person who took the call is named in the body)."""
    if "clinician" in principal.roles:
        return {"acknowledged_by": principal.user_id}
    return {"called_by": principal.user_id}


@dataclass(frozen=True)
class CommandRoute:
    command: type[Command]
    method: str
    path: str
    roles: tuple[str, ...]
    status_code: int = 200
    summary: str = ""
    bind: Binder | None = None
    tags: tuple[str, ...] = field(default=())
    # a clinician may send it only about a result of an order they placed (else 404, as for a
    # read of it); lab staff act on any of the organization's
    clinicians_own_results: bool = False
    # fields a clinician may not send (the server's clock records them): lab staff may, to
    # record when the phone call they are writing down took place
    server_time_for_clinicians: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.command.__name__

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


LAB = ("technologist", "pathologist")

ROUTES: tuple[CommandRoute, ...] = (
    CommandRoute(patient.RegisterPatient, "POST", "/patients", ("front_desk",), 201),
    CommandRoute(patient.UpdatePatient, "PATCH", "/patients/{patient_id}", ("front_desk",)),
    CommandRoute(patient.DeletePatient, "POST", "/patients/{patient_id}/delete", ("front_desk",)),
    CommandRoute(order.PlaceOrder, "POST", "/orders", ("front_desk",), 201),
    CommandRoute(order.ConfirmOrder, "POST", "/orders/{order_id}/confirm", ("front_desk",)),
    CommandRoute(order.CancelOrder, "POST", "/orders/{order_id}/cancel", ("front_desk",)),
    CommandRoute(order.CompleteOrder, "POST", "/orders/{order_id}/complete", ("pathologist",)),
    CommandRoute(
        sample.CollectSample,
        "POST",
        "/orders/{order_id}/samples",
        ("phlebotomist",),
        201,
        bind=_caller_as("collected_by"),
    ),
    CommandRoute(sample.ReceiveSample, "POST", "/samples/{sample_id}/receive", ("technologist",)),
    CommandRoute(sample.RejectSample, "POST", "/samples/{sample_id}/reject", ("technologist",)),
    CommandRoute(sample.RouteSample, "POST", "/samples/{sample_id}/route", ("technologist",)),
    CommandRoute(
        result.EnterResult, "POST", "/samples/{sample_id}/results", ("technologist",), 201
    ),
    CommandRoute(result.VerifyResult, "POST", "/results/{result_id}/verify", ("pathologist",)),
    CommandRoute(result.AmendResult, "POST", "/results/{result_id}/amend", ("pathologist",)),
    CommandRoute(
        result.AcknowledgeCriticalValue,
        "POST",
        "/results/{result_id}/critical-acknowledgements",
        (*LAB, "clinician"),
        bind=_critical_call,
        clinicians_own_results=True,
        server_time_for_clinicians=("acknowledged_at",),
    ),
    CommandRoute(result.EscalateCriticalValue, "POST", "/results/{result_id}/escalations", LAB),
    # withdrawing a value (mislabelled specimen found at the bench, a fault found afterwards)
    CommandRoute(result.InvalidateResult, "POST", "/results/{result_id}/invalidate", LAB),
    CommandRoute(report.GenerateReport, "POST", "/orders/{order_id}/report", ("pathologist",), 201),
    CommandRoute(report.AmendReport, "POST", "/orders/{order_id}/report/amend", ("pathologist",)),
    CommandRoute(report.SignReport, "POST", "/reports/{report_id}/sign", ("pathologist",)),
    CommandRoute(
        report.DeliverReport, "POST", "/reports/{report_id}/deliver", ("pathologist", "front_desk")
    ),
    CommandRoute(payment.RaiseInvoice, "POST", "/orders/{order_id}/invoice", ("front_desk",), 201),
    CommandRoute(
        payment.CancelInvoice, "POST", "/orders/{order_id}/invoice/cancel", ("front_desk",)
    ),
    CommandRoute(
        payment.RecordPayment, "POST", "/orders/{order_id}/payments", ("front_desk",), 201
    ),
    CommandRoute(
        payment.RecordPaymentFailure,
        "POST",
        "/orders/{order_id}/payment-failures",
        ("front_desk",),
        201,
    ),
    CommandRoute(payment.RefundPayment, "POST", "/orders/{order_id}/refunds", ("front_desk",), 201),
)

ROUTE_BY_COMMAND: dict[type[Command], CommandRoute] = {r.command: r for r in ROUTES}

# Commands only the system issues, never a person: the notifier records what a channel said
# about a send it made. Routing them would let anyone write a false delivery record.
INTERNAL_COMMANDS: frozenset[type[Command]] = frozenset(
    {notification.RecordNotificationSent, notification.RecordNotificationFailed}
)
