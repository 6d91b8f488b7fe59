"""Report aggregate: one per order; each amendment adds a version that must be signed again."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self

from domains.order.model import Order
from domains.patient.model import Patient
from domains.report.events import ReportDelivered, ReportGenerated, ReportLine, ReportSigned
from domains.report.rendering import render_text
from domains.result.model import Result
from domains.shared.aggregate import Aggregate
from domains.shared.contacts import mask_contact, normalize_contact
from domains.shared.errors import Conflict, InvalidInput

CHANNELS = ("email", "sms", "whatsapp", "portal", "print")
_NEEDS_CONTACT = ("email", "sms", "whatsapp")


@dataclass
class ReportVersion:
    report_version: int
    lines: list[ReportLine]
    document_text: str = field(repr=False)  # names the patient: not for reprs and logs
    generated_at: str  # ISO
    amendment_reason: str | None = None
    signed_by: str | None = None
    signed_at: str | None = None
    signed_by_user_id: str | None = None  # the authenticated signer (signed_by is printed text)
    # recipients' destinations (mobiles, emails) in the clear: not for reprs either
    deliveries: list[dict[str, Any]] = field(default_factory=list, repr=False)


class Report(Aggregate):
    aggregate_type = "Report"
    lookup_fields = ("order_id",)
    transitions: ClassVar[dict[str, frozenset[str]]] = {
        "generated": frozenset({"generated", "signed"}),  # regenerate before sign-off is fine
        "signed": frozenset({"delivered", "generated"}),  # generated again = amended version
        "delivered": frozenset({"delivered", "generated"}),
    }

    def __init__(
        self,
        *,
        id: str,
        organization_id: str,
        order_id: str,
        patient_id: str,
        mrn: str,
        catalog_version: str,
        versions: list[ReportVersion],
        status: str = "generated",
        version: int = 0,
    ) -> None:
        super().__init__(id=id, organization_id=organization_id, status=status, version=version)
        self.order_id = order_id
        self.patient_id = patient_id
        self.mrn = mrn
        self.catalog_version = catalog_version
        self.versions = versions

    @property
    def current(self) -> ReportVersion:
        return self.versions[-1]

    @classmethod
    def generate(
        cls, *, id: str, order: Order, patient: Patient, results: list[Result], now: datetime
    ) -> Report:
        order.check_reportable("be reported")
        report = cls(
            id=id,
            organization_id=order.organization_id,
            order_id=order.id,
            patient_id=patient.id,
            mrn=patient.mrn,
            catalog_version=order.catalog_version,
            versions=[],
        )
        report._add_version(order, patient, results, now, amendment_reason=None)
        return report

    def amend(
        self, *, order: Order, patient: Patient, results: list[Result], reason: str, now: datetime
    ) -> None:
        if not reason.strip():
            raise InvalidInput("reason", "an amended report needs a reason")
        order.check_reportable("be reported")
        self._move_to("generated", "be amended")
        self._add_version(order, patient, results, now, amendment_reason=reason.strip())

    def sign(self, pathologist: str, now: datetime, *, user_id: str | None) -> None:
        if not pathologist.strip():
            raise InvalidInput("pathologist_name", "is required to sign a report")
        if not user_id:
            # the printed name is free text anyone could type: a signature needs an identity
            raise InvalidInput("user_id", "signing a report needs the signing user")
        self._move_to("signed", "be signed")
        self.current.signed_by, self.current.signed_at = pathologist.strip(), now.isoformat()
        self.current.signed_by_user_id = user_id
        self._record(
            ReportSigned(
                report_id=self.id,
                order_id=self.order_id,
                report_version=self.current.report_version,
                signed_by=pathologist.strip(),
                signed_at=now,
                signed_by_user_id=user_id,
            )
        )

    def deliver(self, recipients: list[tuple[str, str, str, str | None]], now: datetime) -> None:
        """Deliver the signed version to (role, name, channel, destination) recipients."""
        checked = [_check_recipient(*r) for r in recipients]
        if not checked:
            raise InvalidInput("recipients", "at least one recipient is required")
        self._move_to("delivered", "be delivered")
        for role, name, channel, destination in checked:
            masked = mask_contact(destination) if destination else None
            self.current.deliveries.append(
                {
                    "recipient_role": role,
                    "recipient_name": name,
                    "channel": channel,
                    "destination": destination,
                    "delivered_at": now.isoformat(),
                }
            )
            self._record(
                ReportDelivered(
                    report_id=self.id,
                    order_id=self.order_id,
                    report_version=self.current.report_version,
                    recipient_role=role,
                    recipient_name=name,
                    channel=channel,
                    delivered_at=now,
                    destination_masked=masked,
                )
            )

    def _add_version(
        self,
        order: Order,
        patient: Patient,
        results: list[Result],
        now: datetime,
        amendment_reason: str | None,
    ) -> None:
        lines = _lines(order, results)
        number = len(self.versions) + 1
        d = patient.demographics
        text = render_text(
            patient_name=f"{d.given_name} {d.family_name}",
            mrn=patient.mrn,
            sex=d.sex,
            date_of_birth=d.date_of_birth.isoformat(),
            placer_order_number=order.placer_order_number,
            clinician_name=order.clinician_name,
            report_version=number,
            generated_at=now,
            lines=lines,
            amendment_reason=amendment_reason,
        )
        self.versions.append(
            ReportVersion(
                report_version=number,
                lines=lines,
                document_text=text,
                generated_at=now.isoformat(),
                amendment_reason=amendment_reason,
            )
        )
        self._record(
            ReportGenerated(
                report_id=self.id,
                order_id=order.id,
                patient_id=patient.id,
                mrn=patient.mrn,
                report_version=number,
                lines=lines,
                catalog_version=self.catalog_version,
                result_ids=[line.result_id for line in lines],
                amendment_reason=amendment_reason,
            )
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "status": self.status,
            "order_id": self.order_id,
            "patient_id": self.patient_id,
            "mrn": self.mrn,
            "catalog_version": self.catalog_version,
            "versions": [asdict(v) for v in self.versions],
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        s = dict(snapshot)
        s["versions"] = [
            ReportVersion(**{**v, "lines": [ReportLine(**line) for line in v["lines"]]})
            for v in s["versions"]
        ]
        return cls(**s, version=version)


def _lines(order: Order, results: list[Result]) -> list[ReportLine]:
    """One line per ordered test, from its verified value, in the order's test order. A report
    never shows an unverified value, nor silently drops a test whose amended value still awaits
    verification: that is refused until a second person has verified it."""
    lines, waiting = [], []
    for code in order.loinc_codes:
        mine = [r for r in results if r.order_id == order.id and r.loinc_code == code]
        verified = [r for r in mine if r.is_verified]
        if not verified or any(r.status == "amended" for r in mine):
            waiting.append(order.test(code).name)
            continue
        r = verified[-1]
        lines.append(
            ReportLine(
                result_id=r.id,
                loinc_code=r.loinc_code,
                test_name=r.test_name,
                value_text=r.reading.value_text,
                unit=r.reading.unit,
                flag=r.interpretation.flag,
                reference_text=r.interpretation.reference_text,
                amended=r.is_corrected,
            )
        )
    if waiting:
        raise Conflict(
            f"order {order.placer_order_number} has results awaiting verification: "
            f"{', '.join(waiting)}"
        )
    return lines


def _check_recipient(
    role: str, name: str, channel: str, destination: str | None
) -> tuple[str, str, str, str | None]:
    if not role.strip() or not name.strip():
        raise InvalidInput("recipients", "each recipient needs a role and a name")
    if channel not in CHANNELS:
        raise InvalidInput("recipients", f"channel must be one of {', '.join(CHANNELS)}")
    if channel in _NEEDS_CONTACT and not destination:
        raise InvalidInput("recipients", f"{channel} delivery needs a destination")
    contact = normalize_contact(destination, field="recipients") if destination else None
    return role.strip(), name.strip(), channel, contact
