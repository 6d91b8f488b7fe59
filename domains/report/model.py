"""Report aggregate: one per order; each amendment adds a version that must be signed again."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self

from domains.order.model import Order
from domains.patient.model import Patient
from domains.report.events import (
    CriticalCall,
    ReportDelivered,
    ReportGenerated,
    ReportLine,
    ReportSigned,
    ReportSource,
)
from domains.report.lines import (
    check_calls_documented,
    check_current,
    report_lines,
    sources_of,
)
from domains.report.rendering import Letterhead, ReportHeading, render_text
from domains.result.model import Result
from domains.sample.model import Sample
from domains.shared.aggregate import Aggregate
from domains.shared.contacts import mask_contact, normalize_contact
from domains.shared.errors import InvalidInput

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
    # result id -> the result's version this version was made from (empty: made before the
    # check existed, and so never released again)
    sources: dict[str, int] = field(default_factory=dict)


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
        cls,
        *,
        id: str,
        order: Order,
        patient: Patient,
        results: list[Result],
        samples: list[Sample],
        letterhead: Letterhead,
        now: datetime,
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
        report._add_version(
            order, patient, results, samples, letterhead, now, amendment_reason=None
        )
        return report

    def amend(
        self,
        *,
        order: Order,
        patient: Patient,
        results: list[Result],
        samples: list[Sample],
        letterhead: Letterhead,
        reason: str,
        now: datetime,
    ) -> None:
        if not reason.strip():
            raise InvalidInput("reason", "an amended report needs a reason")
        order.check_reportable("be reported")
        self._move_to("generated", "be amended")
        self._add_version(
            order, patient, results, samples, letterhead, now, amendment_reason=reason.strip()
        )

    def sign(
        self, pathologist: str, now: datetime, *, user_id: str | None, results: list[Result]
    ) -> None:
        """Release the current version: only by an identified user, only while the results it
        was made from are unchanged (else the amended version goes out) and every critical
        value on them was called."""
        if not pathologist.strip():
            raise InvalidInput("pathologist_name", "is required to sign a report")
        if not user_id:
            # the printed name is free text anyone could type: a signature needs an identity
            raise InvalidInput("user_id", "signing a report needs the signing user")
        self._check_can_move_to("signed", "be signed")
        check_current(self.current.sources, results, "be signed")
        check_calls_documented(results, "be signed")
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

    def deliver(
        self,
        recipients: list[tuple[str, str, str, str | None]],
        now: datetime,
        *,
        results: list[Result],
    ) -> None:
        """Deliver the signed version to (role, name, channel, destination) recipients, unless
        a result changed since it was generated: a known-wrong value is never sent (again)."""
        checked = [_check_recipient(*r) for r in recipients]
        if not checked:
            raise InvalidInput("recipients", "at least one recipient is required")
        self._check_can_move_to("delivered", "be delivered")
        check_current(self.current.sources, results, "be delivered")
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
        samples: list[Sample],
        letterhead: Letterhead,
        now: datetime,
        amendment_reason: str | None,
    ) -> None:
        mine = [r for r in results if r.order_id == order.id]
        # a report never goes out claiming (or implying) a critical call nobody recorded
        check_calls_documented(mine, "be generated")
        lines = report_lines(order, mine, samples)
        number = len(self.versions) + 1
        d = patient.demographics
        heading = ReportHeading(
            patient_name=" ".join(n for n in (d.given_name, d.family_name) if n),
            mrn=patient.mrn,
            sex=d.sex,
            date_of_birth=d.date_of_birth.isoformat(),
            placer_order_number=order.placer_order_number,
            clinician_name=order.clinician_name,
            report_version=number,
            generated_at=now,
            amendment_reason=amendment_reason,
        )
        sources = sources_of(mine)
        self.versions.append(
            ReportVersion(
                report_version=number,
                lines=lines,
                document_text=render_text(letterhead, heading, lines),
                generated_at=now.isoformat(),
                amendment_reason=amendment_reason,
                sources=sources,
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
                sources=[ReportSource(result_id=k, result_version=v) for k, v in sources.items()],
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
            "versions": [
                {**asdict(v), "lines": [_line_to_json(line) for line in v.lines]}
                for v in self.versions
            ],
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        s = dict(snapshot)
        s["versions"] = [
            ReportVersion(**{**v, "lines": [_line_from_json(line) for line in v["lines"]]})
            for v in s["versions"]
        ]
        return cls(**s, version=version)


_LINE_TIMES = ("collected_at", "received_at")


def _line_to_json(line: ReportLine) -> dict[str, Any]:
    data = asdict(line)
    for key in _LINE_TIMES:
        data[key] = data[key].isoformat() if data[key] else None
    for call in data["critical_calls"]:
        call["acknowledged_at"] = call["acknowledged_at"].isoformat()
    return data


def _line_from_json(data: dict[str, Any]) -> ReportLine:
    values = dict(data)
    for key in _LINE_TIMES:
        values[key] = datetime.fromisoformat(values[key]) if values.get(key) else None
    values["critical_calls"] = [
        CriticalCall(**{**c, "acknowledged_at": datetime.fromisoformat(c["acknowledged_at"])})
        for c in values.get("critical_calls", [])
    ]
    return ReportLine(**values)


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
