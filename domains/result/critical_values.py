"""The Result's critical value episodes: detection, escalation, read-back acknowledgement,
and superseding when the value is amended away (the episode itself is in ``critical``)."""

from __future__ import annotations

from datetime import datetime

from domains.catalog.model import TestDefinition
from domains.result import events as ev
from domains.result.critical import CriticalEpisode
from domains.result.value import ResultValue
from domains.shared.errors import IllegalTransition, InvalidInput
from domains.shared.ids import derived_id


class CriticalValues(ResultValue):
    """Mixin of ``Result`` (which sets this state up): its critical value episodes."""

    loinc_code: str
    test_name: str
    criticals: list[CriticalEpisode]

    def acknowledge_critical(
        self,
        *,
        critical_id: str | None,
        acknowledged_by: str,
        called_by: str,
        acknowledged_at: datetime,
        read_back_confirmed: bool,
    ) -> None:
        if not read_back_confirmed:
            raise InvalidInput("read_back_confirmed", "the receiver must read the value back")
        for value, name in ((acknowledged_by, "acknowledged_by"), (called_by, "called_by")):
            if not value.strip():
                raise InvalidInput(name, "is required for a critical value call")
        episode = self._episode(critical_id, "acknowledge a critical value")
        episode.check_can_move_to("acknowledged", "be acknowledged")
        if acknowledged_at < episode.detected_at:
            raise InvalidInput("acknowledged_at", "is before the critical value was detected")
        episode.move_to("acknowledged", "be acknowledged")
        episode.acknowledged_by, episode.called_by = acknowledged_by, called_by
        episode.acknowledged_at = acknowledged_at
        minutes = int((acknowledged_at - episode.detected_at).total_seconds() // 60)
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
                minutes_to_acknowledge=minutes,
            )
        )

    def escalate_critical(
        self, *, critical_id: str | None, tier: int, reason: str | None, now: datetime
    ) -> None:
        if tier < 1:
            raise InvalidInput("tier", "escalation tiers start at 1")
        episode = self._episode(critical_id, "escalate a critical value")
        episode.check_can_move_to("escalated", "be escalated")
        if tier <= episode.tier:
            raise IllegalTransition(
                "CriticalValue", f"escalated to tier {episode.tier}", f"escalate to tier {tier}"
            )
        episode.move_to("escalated", "be escalated")
        episode.tier = tier
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

    def _detect_critical(self, test: TestDefinition, now: datetime) -> None:
        if not self.interpretation.is_critical:
            return
        # derived, so a replayed command yields the same critical id
        critical_id = derived_id(self.id, "critical", str(len(self.criticals) + 1))
        r, c = self.reading, self.context
        self.criticals.append(
            CriticalEpisode(
                critical_id=critical_id,
                flag=self.interpretation.flag,
                value_text=r.value_text,
                detected_at=now,
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
                flag=self.interpretation.flag,
                priority=c.priority,
                detected_at=now,
                value=r.value,
                critical_low=test.critical_low,
                critical_high=test.critical_high,
            )
        )

    def _supersede_open_criticals(self, reason: str, now: datetime) -> list[str]:
        open_episodes = [e for e in self.criticals if e.is_open]
        for episode in open_episodes:
            episode.supersede(reason, now)
        return [e.critical_id for e in open_episodes]

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
