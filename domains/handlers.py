"""The one place command classes meet their handlers and the ports they need.

Real wiring (infra bootstrap) and test wiring (fakes) both call ``command_handlers``, so a test
exercises exactly the dispatch table production uses.
"""

from __future__ import annotations

from functools import partial

from domains.catalog.model import Catalog
from domains.notification import commands as notification_cmd
from domains.notification import handlers as notification
from domains.notification.model import Notification
from domains.order import commands as order_cmd
from domains.order import handlers as order
from domains.order.model import Order
from domains.patient import commands as patient_cmd
from domains.patient import handlers as patient
from domains.patient.model import Patient
from domains.patient.ports import AadhaarVault, IdentifierIndex, MrnSource, PatientKeyring
from domains.payment import commands as payment_cmd
from domains.payment import handlers as payment
from domains.payment.model import Payment
from domains.payment.tariff import Tariff, load_tariff
from domains.report import commands as report_cmd
from domains.report import handlers as report
from domains.report.model import Report
from domains.result import commands as result_cmd
from domains.result import handlers as result
from domains.result.model import Result
from domains.sample import commands as sample_cmd
from domains.sample import handlers as sample
from domains.sample.model import Sample
from domains.sample.ports import AccessionSource
from domains.shared.aggregate import Aggregate
from domains.shared.bus import Handler
from domains.shared.clock import Clock
from domains.shared.messages import Command
from domains.shared.policy import PolicySource


def command_handlers(
    *,
    catalog: Catalog,
    aadhaar_vault: AadhaarVault,
    identifier_index: IdentifierIndex,
    patient_keys: PatientKeyring,
    mrn_source: MrnSource,
    accession_source: AccessionSource,
    clock: Clock,
    policies: PolicySource,
    tariff: Tariff | None = None,
) -> dict[type[Command], Handler]:
    """Lab choices (``policies``) are the organization's, never something a caller can ask for
    per command. ``tariff``: the price list (default: domains/payment/tariff.yaml)."""
    tariff = tariff or load_tariff()
    return {
        patient_cmd.RegisterPatient: partial(
            patient.register_patient,
            mrn_source=mrn_source,
            vault=aadhaar_vault,
            index=identifier_index,
            keyring=patient_keys,
            clock=clock,
            policies=policies,
        ),
        patient_cmd.UpdatePatient: partial(
            patient.update_patient,
            vault=aadhaar_vault,
            index=identifier_index,
            keyring=patient_keys,
            catalog=catalog,
            clock=clock,
            policies=policies,
        ),
        patient_cmd.DeletePatient: patient.delete_patient,
        order_cmd.PlaceOrder: partial(order.place_order, catalog=catalog),
        order_cmd.ConfirmOrder: order.confirm_order,
        order_cmd.CancelOrder: order.cancel_order,
        order_cmd.CompleteOrder: order.complete_order,
        sample_cmd.CollectSample: partial(
            sample.collect_sample,
            catalog=catalog,
            accessions=accession_source,
            clock=clock,
            policies=policies,
        ),
        sample_cmd.ReceiveSample: partial(sample.receive_sample, clock=clock),
        sample_cmd.RejectSample: sample.reject_sample,
        sample_cmd.RouteSample: sample.route_sample,
        result_cmd.EnterResult: partial(
            result.enter_result, catalog=catalog, clock=clock, policies=policies
        ),
        result_cmd.VerifyResult: partial(result.verify_result, policies=policies),
        result_cmd.AmendResult: partial(
            result.amend_result, catalog=catalog, clock=clock, policies=policies
        ),
        result_cmd.InvalidateResult: partial(result.invalidate_result, clock=clock),
        result_cmd.AcknowledgeCriticalValue: partial(
            result.acknowledge_critical_value, clock=clock
        ),
        result_cmd.EscalateCriticalValue: partial(result.escalate_critical_value, clock=clock),
        report_cmd.GenerateReport: partial(report.generate_report, clock=clock, policies=policies),
        report_cmd.AmendReport: partial(report.amend_report, clock=clock, policies=policies),
        report_cmd.SignReport: partial(report.sign_report, clock=clock),
        report_cmd.DeliverReport: partial(report.deliver_report, clock=clock),
        payment_cmd.RaiseInvoice: partial(payment.raise_invoice, tariff=tariff),
        payment_cmd.RecordPayment: partial(payment.record_payment, clock=clock),
        payment_cmd.RecordPaymentFailure: partial(payment.record_payment_failure, clock=clock),
        payment_cmd.RefundPayment: partial(payment.refund_payment, clock=clock),
        payment_cmd.CancelInvoice: partial(payment.cancel_invoice, clock=clock),
        notification_cmd.RecordNotificationSent: notification.record_notification_sent,
        notification_cmd.RecordNotificationFailed: notification.record_notification_failed,
    }


def aggregate_classes() -> tuple[type[Aggregate], ...]:
    """Every aggregate the repositories must persist (one table each, or one generic table)."""
    return (Patient, Order, Sample, Result, Report, Payment, Notification)
