"""Result aggregate: one test's value on one sample, flagged against the catalog, verified by a
second person, amended with a reason; and its critical value episodes (``critical``: detected,
escalated, acknowledged by read-back, superseded by an amendment)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any, ClassVar, Self

from domains.catalog.interpretation import Interpretation, Reading, interpret, read_value
from domains.catalog.model import TestDefinition
from domains.result import events as ev
from domains.result.corrections import ResultCorrections
from domains.result.critical import CriticalEpisode
from domains.shared.aggregate import Aggregate, Transitions
from domains.shared.errors import IllegalTransition, InvalidInput, PermissionDenied
from domains.shared.ids import derived_id


@dataclass(frozen=True)
class ResultContext:
    """Who and what a result is about, fixed at entry (ranges use age at collection)."""

    order_id: str
    sample_id: str
    patient_id: str
    accession_number: str
    priority: str
    patient_sex: str
    patient_date_of_birth: date = field(repr=False)  # PHI: not in reprs and logs
    collected_on: date
    # for the critical value call (CRITICAL_VALUE_DETECTED carries them to the notifier);
    # absent from results entered before they were recorded
    ordering_provider_id: str | None = None
    ordering_clinician_name: str | None = None
    placer_order_number: str | None = None
    mrn: str | None = None
    collected_at: datetime | None = None


class Result(ResultCorrections):
    aggregate_type = "Result"
    lookup_fields = ("order_id", "sample_id", "loinc_code")
    transitions: ClassVar[Transitions] = {
        # an unverified result is simply corrected ("entered" -> "entered")
        "entered": frozenset({"entered", "verified", "invalidated"}),
        # a verified value that changes is a new, unverified value: "amended" waits for a
        # second person to verify it before it counts (order completion, reports) again
        "verified": frozenset({"amended", "invalidated"}),
        "amended": frozenset({"amended", "verified", "invalidated"}),
        # withdrawn for good (wrong specimen, analytical fault): a new tube, a new result
        "invalidated": frozenset(),
    }
    context: ResultContext

    def __init__(
        self,
        *,
        id: str,
        organization_id: str,
        context: ResultContext,
        test: TestDefinition,
        catalog_version: str,
        entered_by: str | None,
        status: str = "entered",
        version: int = 0,
    ) -> None:
        super().__init__(id=id, organization_id=organization_id, status=status, version=version)
        self.context = context
        self.loinc_code = test.loinc_code
        self.test_name = test.name
        self.catalog_version = catalog_version
        self.entered_by = entered_by
        self.reading = Reading(value=None, value_text="", unit="")
        self.interpretation = Interpretation(flag="N", is_critical=False)
        self.verified_by: str | None = None
        self.self_verified = False
        self.amendments: list[dict[str, Any]] = []
        self.criticals: list[CriticalEpisode] = []
        self.invalidation: dict[str, Any] | None = None
        self.review_required: str | None = None  # demographics corrected after release
        self.analyzer_id: str | None = None  # the analyzer that measured the value, if any
        self.analyzed_at: datetime | None = None

    # -- what it is --------------------------------------------------------------------------

    @property
    def order_id(self) -> str:
        return self.context.order_id

    @property
    def sample_id(self) -> str:
        return self.context.sample_id

    @property
    def is_verified(self) -> bool:
        """The current value has been verified: only such a value completes an order or is
        printed on a report."""
        return self.status == "verified"

    @property
    def has_been_verified(self) -> bool:
        """Some value of this result was released once (an order holding it cannot be
        cancelled), even if an amendment now awaits verification or it was withdrawn since."""
        if self.status == "invalidated":
            return bool((self.invalidation or {}).get("was_released"))
        return self.status in ("verified", "amended")

    @property
    def is_corrected(self) -> bool:
        """A released value was changed afterwards (the report marks the line "(c)")."""
        return any(a.get("after_verification", False) for a in self.amendments)

    @property
    def value_written_by(self) -> str | None:
        """Who typed the current value: its enterer, or its latest amender."""
        return self.amendments[-1]["amended_by"] if self.amendments else self.entered_by

    # -- the value ---------------------------------------------------------------------------

    @classmethod
    def enter(
        cls,
        *,
        id: str,
        organization_id: str,
        context: ResultContext,
        test: TestDefinition,
        value_text: str,
        unit: str | None,
        catalog_version: str,
        entered_by: str | None,
        now: datetime,
        censored_at_bound: bool = False,
        analyzer_id: str | None = None,
        analyzed_at: datetime | None = None,
    ) -> Result:
        if analyzed_at is not None and (analyzed_at.tzinfo is None or analyzed_at > now):
            raise InvalidInput("analyzed_at", "must be timezone-aware and not in the future")
        if analyzer_id is not None and not 0 < len(analyzer_id.strip()) <= 64:
            raise InvalidInput("analyzer_id", "must be 1-64 characters")
        result = cls(
            id=id,
            organization_id=organization_id,
            context=context,
            test=test,
            catalog_version=catalog_version,
            entered_by=entered_by,
        )
        result._read(test, value_text, unit, catalog_version, censored_at_bound)
        result.analyzer_id, result.analyzed_at = analyzer_id, analyzed_at
        r, i, c = result.reading, result.interpretation, context
        result._record(
            ev.ResultEntered(
                result_id=id,
                order_id=c.order_id,
                sample_id=c.sample_id,
                patient_id=c.patient_id,
                accession_number=c.accession_number,
                loinc_code=test.loinc_code,
                test_name=test.name,
                value_text=r.value_text,
                unit=r.unit,
                flag=i.flag,
                is_critical=i.is_critical,
                value=r.value,
                reference_low=i.reference_low,
                reference_high=i.reference_high,
                reference_text=i.reference_text or None,
                entered_value_text=r.entered_value_text,
                entered_unit=r.entered_unit,
                **result._interpretation_stamp(),
                analyzer_id=analyzer_id,
                analyzed_at=analyzed_at,
            )
        )
        result._detect_critical(test, now)
        return result

    def verify(self, verifier: str | None, *, allow_self_verification: bool) -> None:
        if not verifier:
            raise InvalidInput("user_id", "verification needs the verifying user")
        self._check_can_move_to("verified", "be verified")
        if verifier == self.value_written_by and not allow_self_verification:
            raise PermissionDenied(
                "a result must be verified by someone other than the person who entered "
                "or last amended its value"
            )
        self._move_to("verified", "be verified")
        self.verified_by = verifier
        self.self_verified = verifier == self.value_written_by
        r = self.reading
        self._record(
            ev.ResultVerified(
                result_id=self.id,
                order_id=self.order_id,
                sample_id=self.sample_id,
                loinc_code=self.loinc_code,
                value_text=r.value_text,
                unit=r.unit,
                flag=self.interpretation.flag,
                verified_by=verifier,
                value=r.value,
                catalog_version=self.catalog_version,
                reference_text=self.interpretation.reference_text or None,
                comparator=r.comparator,
                self_verified=self.self_verified,
            )
        )

    def amend(
        self,
        *,
        test: TestDefinition,
        value_text: str,
        unit: str | None,
        reason: str,
        amended_by: str | None,
        now: datetime,
        catalog_version: str,
        censored_at_bound: bool = False,
    ) -> None:
        """Correct the value; the old one stays in ``amendments`` and the flags are redone
        against ``catalog_version`` (the catalog of today), which the result now carries."""
        if not reason.strip():
            raise InvalidInput("reason", "an amendment needs a reason")
        previous, previous_flag = self.reading.value_text, self.interpretation.flag
        previous_catalog = self.catalog_version
        after_verification = self.status != "entered"
        if after_verification and not amended_by:
            # the amender is who must not verify the new value: an anonymous one can't be told
            raise InvalidInput("user_id", "amending a verified result needs the amending user")
        self._read(test, value_text, unit, catalog_version, censored_at_bound)
        self._move_to("amended" if after_verification else "entered", "be amended")
        self.verified_by = None  # the new value is nobody's verified value yet
        self.self_verified = False
        self.review_required = None  # re-read against the (corrected) demographics above
        number = len(self.amendments) + 1
        self.amendments.append(
            {
                "amendment_number": number,
                "previous_value_text": previous,
                "previous_flag": previous_flag,
                "previous_catalog_version": previous_catalog,
                "catalog_version": catalog_version,
                "value_text": self.reading.value_text,
                "reason": reason.strip(),
                "amended_by": amended_by,
                "amended_at": now.isoformat(),
                "after_verification": after_verification,
            }
        )
        # the value a critical episode was raised for is gone: close it before a new one
        # (if the new value is critical too) opens, so a result never has two open episodes
        superseded = [e for e in self.criticals if e.is_open]
        for episode in superseded:
            episode.supersede(f"amendment {number}: {reason.strip()}", now)
        r, i = self.reading, self.interpretation
        self._record(
            ev.ResultAmended(
                result_id=self.id,
                order_id=self.order_id,
                sample_id=self.sample_id,
                patient_id=self.context.patient_id,
                loinc_code=self.loinc_code,
                amendment_number=number,
                reason=reason.strip(),
                previous_value_text=previous,
                previous_flag=previous_flag,
                value_text=r.value_text,
                unit=r.unit,
                flag=i.flag,
                is_critical=i.is_critical,
                value=r.value,
                superseded_critical_ids=[e.critical_id for e in superseded],
                reference_low=i.reference_low,
                reference_high=i.reference_high,
                reference_text=i.reference_text or None,
                entered_value_text=r.entered_value_text,
                entered_unit=r.entered_unit,
                **self._interpretation_stamp(),
            )
        )
        self._detect_critical(test, now)

    def _read(
        self,
        test: TestDefinition,
        value_text: str,
        unit: str | None,
        catalog_version: str,
        censored_at_bound: bool,
    ) -> None:
        """Read and flag the value; nothing changes unless the whole reading succeeds."""
        c = self.context
        reading = read_value(test, value_text, unit)
        self.interpretation = interpret(
            test,
            reading,
            sex=c.patient_sex,
            date_of_birth=c.patient_date_of_birth,
            on=c.collected_on,
            censored_at_bound=censored_at_bound,
        )
        self.reading, self.catalog_version = reading, catalog_version

    def _interpretation_stamp(self) -> dict[str, Any]:
        """What every interpreting event carries beside the flag: the catalog version and the
        band that were used, the censoring, and why there is no flag or why to review."""
        i = self.interpretation
        return {
            "catalog_version": self.catalog_version,
            "comparator": self.reading.comparator,
            "critical_low": i.critical_low,
            "critical_high": i.critical_high,
            "reference_band": i.reference_band,
            "interpretation_note": i.note,
            "needs_review": i.needs_review,
        }

    # -- critical values ---------------------------------------------------------------------

    def acknowledge_critical(
        self,
        *,
        critical_id: str | None,
        acknowledged_by: str,
        called_by: str,
        acknowledged_at: datetime,
        read_back_confirmed: bool,
    ) -> None:
        episode = self._episode(critical_id, "acknowledge a critical value")
        episode.acknowledge(
            acknowledged_by=acknowledged_by,
            called_by=called_by,
            at=acknowledged_at,
            read_back_confirmed=read_back_confirmed,
        )
        self._record(
            ev.CriticalValueAcknowledged(
                result_id=self.id,
                critical_id=episode.critical_id,
                order_id=self.order_id,
                loinc_code=self.loinc_code,
                acknowledged_by=acknowledged_by,
                called_by=called_by,
                acknowledged_at=acknowledged_at,
                read_back_confirmed=True,
                minutes_to_acknowledge=episode.minutes_to_acknowledge,
            )
        )

    def escalate_critical(
        self, *, critical_id: str | None, tier: int, reason: str | None, now: datetime
    ) -> None:
        episode = self._episode(critical_id, "escalate a critical value")
        episode.escalate(tier)
        self._record(
            ev.CriticalValueEscalated(
                result_id=self.id,
                critical_id=episode.critical_id,
                order_id=self.order_id,
                loinc_code=self.loinc_code,
                tier=tier,
                escalated_at=now,
                reason=reason,
            )
        )

    def _detect_critical(
        self, test: TestDefinition, now: datetime, interpretation: Interpretation | None = None
    ) -> None:
        """Open an episode when the value is critical (by default as currently interpreted;
        a re-interpretation of a released value passes the corrected one)."""
        interpretation = interpretation or self.interpretation
        if not interpretation.is_critical:
            return
        # derived, so a replayed command yields the same critical id
        critical_id = derived_id(self.id, "critical", str(len(self.criticals) + 1))
        r, c, flag = self.reading, self.context, interpretation.flag
        self.criticals.append(
            CriticalEpisode(
                critical_id=critical_id, flag=flag, value_text=r.value_text, detected_at=now
            )
        )
        self._record(
            ev.CriticalValueDetected(
                result_id=self.id,
                critical_id=critical_id,
                order_id=c.order_id,
                sample_id=c.sample_id,
                patient_id=c.patient_id,
                accession_number=c.accession_number,
                loinc_code=self.loinc_code,
                test_name=self.test_name,
                value_text=r.value_text,
                unit=r.unit,
                flag=flag,
                priority=c.priority,
                detected_at=now,
                value=r.value,
                critical_low=interpretation.critical_low,
                critical_high=interpretation.critical_high,
                ordering_provider_id=c.ordering_provider_id,
                ordering_clinician_name=c.ordering_clinician_name,
                placer_order_number=c.placer_order_number,
                mrn=c.mrn,
                collected_at=c.collected_at,
            )
        )

    def _episode(self, critical_id: str | None, action: str) -> CriticalEpisode:
        """The named episode, or the latest one when the caller does not name it."""
        if not self.criticals:
            raise IllegalTransition(self.aggregate_type, "without critical value", action)
        if critical_id is None:
            return self.criticals[-1]
        for episode in self.criticals:
            if episode.critical_id == critical_id:
                return episode
        raise InvalidInput("critical_id", f"no critical value {critical_id} on result {self.id}")

    # -- persistence (see ``Aggregate``) -----------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        context = {
            k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self.context).items()
        }  # (a datetime is a date too)
        return {
            "id": self.id,
            "organization_id": self.organization_id,
            "status": self.status,
            **context,
            "loinc_code": self.loinc_code,
            "test_name": self.test_name,
            "catalog_version": self.catalog_version,
            "entered_by": self.entered_by,
            "verified_by": self.verified_by,
            "self_verified": self.self_verified,
            "invalidation": self.invalidation,
            "review_required": self.review_required,
            **asdict(self.reading),
            **asdict(self.interpretation),
            "amendments": self.amendments,
            "criticals": [e.to_dict() for e in self.criticals],
            "analyzer_id": self.analyzer_id,
            "analyzed_at": self.analyzed_at.isoformat() if self.analyzed_at else None,
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        s = snapshot
        result = cls.__new__(cls)
        Aggregate.__init__(
            result, id=s["id"], organization_id=s["organization_id"], status=s["status"],
            version=version,
        )  # fmt: skip
        dates = ("patient_date_of_birth", "collected_on")
        context: dict[str, Any] = {
            f: date.fromisoformat(s[f]) if f in dates else s.get(f) for f in _fields(ResultContext)
        }
        if context["collected_at"] is not None:
            context["collected_at"] = datetime.fromisoformat(context["collected_at"])
        result.context = ResultContext(**context)
        result.loinc_code, result.test_name = s["loinc_code"], s["test_name"]
        result.catalog_version, result.entered_by = s["catalog_version"], s["entered_by"]
        result.verified_by = s["verified_by"]
        # absent in rows written before issue 12: they keep their defaults
        result.self_verified = s.get("self_verified", False)
        result.invalidation = s.get("invalidation")
        result.review_required = s.get("review_required")
        result.reading = Reading(**{f: s[f] for f in _fields(Reading) if f in s})
        result.interpretation = Interpretation(
            **{f: s[f] for f in _fields(Interpretation) if f in s}
        )
        # rows written before amendments recorded it: "amended" then meant corrected after
        # release
        legacy = s["status"] == "amended"
        result.amendments = [{"after_verification": legacy, **a} for a in s["amendments"]]
        result.criticals = [CriticalEpisode.from_dict(e) for e in s["criticals"]]
        # rows from before the analyzer interface have neither
        result.analyzer_id = s.get("analyzer_id")
        analyzed_at = s.get("analyzed_at")
        result.analyzed_at = datetime.fromisoformat(analyzed_at) if analyzed_at else None
        return result


def _fields(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]
