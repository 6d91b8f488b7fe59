"""Critical values: call the right person, start the clock, escalate when nobody reads back.

On the result topic, in the consumer loop's inbox transaction (so the intent to notify and the
SLA timer exist exactly when the event is marked applied, never one without the other):

- CRITICAL_VALUE_DETECTED -> a delivery per channel of the ordering clinician (provider
  directory, by the event's ``ordering_provider_id``) and a timer due at detection + the
  organization's SLA for the order's priority;
- CRITICAL_VALUE_ESCALATED (tier n) -> deliveries to the tier's on-call person (roster: lab
  supervisor, then pathologist) and, below the last tier, the next timer;
- CRITICAL_VALUE_ACKNOWLEDGED, and RESULT_AMENDED for the episodes it supersedes -> pending
  timers and unsent deliveries of the episode are cancelled;
- NOTIFICATION_FAILED for good (no retry left, or a permanent refusal: an address that bounces)
  of a tier whose other deliveries all failed too -> that tier's timer is due now: nobody can
  read back a call that never reached them, so the next tier is called at once.

Nobody to call (no directory entry, no usable channel) is recorded as a failed notification
and the timer is due at once: the next tier is called now rather than after a silent SLA.
A timer that fires sends EscalateCriticalValue (``escalate``) with an id derived from the timer.
The sending itself is the notifier's (``notifications``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from consumers.base import Received
from consumers.processors import deliveries, directory, timers
from consumers.processors.critical_messages import LAST_TIER, TIER_ROLES, Episode, message
from consumers.processors.deliveries import Delivery
from domains.notification.events import NotificationFailed
from domains.result.commands import EscalateCriticalValue
from domains.result.events import (
    CriticalValueAcknowledged,
    CriticalValueDetected,
    CriticalValueEscalated,
    ResultAmended,
)
from domains.shared.bus import send_retrying_races
from domains.shared.errors import ConcurrencyConflict, DomainError
from domains.shared.ids import derived_id
from domains.shared.messages import Command, EventEnvelope
from domains.shared.policy import PolicySource
from domains.shared.uow import Outcome
from producers.topics import Topics
from schemas.catalog import event_classes

NAME = "criticals"
TIMER_KIND = "critical_ack_sla"
log = structlog.get_logger(__name__)


class CriticalsHandler:
    """The consumer-loop handler (``consumers.base.Handler``) of the critical value loop."""

    def __init__(
        self,
        topics: Topics,
        policies: PolicySource,
        channels: Collection[str],
        now: Callable[[], datetime],
    ) -> None:
        self.name = NAME
        self.topics: Sequence[str] = [
            topics.for_aggregate("Result"),
            topics.for_aggregate("Notification"),
        ]
        self._policies = policies
        self._channels = frozenset(channels)  # the channels this deployment can send on
        self._now = now
        self._reactions: dict[type, Callable[[EventEnvelope, Session], None]] = {
            CriticalValueDetected: self._detected,
            CriticalValueEscalated: self._escalated,
            CriticalValueAcknowledged: self._acknowledged,
            ResultAmended: self._amended,
            NotificationFailed: self._failed,
        }

    def handle(self, message: Received, session: Session) -> None:
        event_class = event_classes().get(message.schema_name)
        reaction = self._reactions.get(event_class) if event_class else None
        if reaction is not None:
            reaction(message.envelope, session)

    # -- reactions ---------------------------------------------------------------------------

    def _detected(self, envelope: EventEnvelope, session: Session) -> None:
        event = envelope.event
        assert isinstance(event, CriticalValueDetected)
        episode = Episode.detected(event)
        contact = directory.provider(
            session, envelope.metadata.organization_id, event.ordering_provider_id
        )
        name = event.ordering_clinician_name or "ordering clinician"
        self._call(session, envelope, episode, 0, contact, name, since=event.detected_at)

    def _escalated(self, envelope: EventEnvelope, session: Session) -> None:
        event = envelope.event
        assert isinstance(event, CriticalValueEscalated)
        tier = min(event.tier, LAST_TIER)
        known = timers.first_payload(session, TIMER_KIND, event.critical_id)
        episode = Episode.from_dict(known["episode"]) if known else Episode.escalated_only(event)
        role = TIER_ROLES[tier]
        org = envelope.metadata.organization_id
        contact = directory.on_call(session, org, role, event.escalated_at)
        self._call(session, envelope, episode, tier, contact, role, since=event.escalated_at)

    def _acknowledged(self, envelope: EventEnvelope, session: Session) -> None:
        event = envelope.event
        assert isinstance(event, CriticalValueAcknowledged)
        self._close(session, event.critical_id, f"acknowledged by {event.acknowledged_by}")

    def _amended(self, envelope: EventEnvelope, session: Session) -> None:
        event = envelope.event
        assert isinstance(event, ResultAmended)
        for critical_id in event.superseded_critical_ids:
            self._close(session, critical_id, f"superseded by amendment {event.amendment_number}")

    def _failed(self, envelope: EventEnvelope, session: Session) -> None:
        event = envelope.event
        assert isinstance(event, NotificationFailed)
        if event.will_retry or event.subject_type != "critical_value" or event.tier is None:
            return
        if deliveries.reachable(session, event.subject_id, event.tier):
            return  # another channel of the tier was sent or is still trying
        if event.tier < LAST_TIER:
            timer_id = derived_id(TIMER_KIND, event.subject_id, str(event.tier))
            hurried = timers.due_now(session, timer_id, event.reason)
            log.warning("critical.unreached", critical_id=event.subject_id, tier=event.tier,
                        next_tier_now=hurried)  # fmt: skip

    # -- what a reaction writes --------------------------------------------------------------

    def _call(
        self,
        session: Session,
        envelope: EventEnvelope,
        episode: Episode,
        tier: int,
        contact: directory.Contact | None,
        name: str,
        *,
        since: datetime,
    ) -> None:
        meta = envelope.metadata
        sla = self._policies.policy_for(meta.organization_id).critical_ack_sla(episode.priority)
        routes = contact.routes(self._channels) if contact else []
        recipient = contact.name if contact else name
        for channel, address, masked in routes:
            text = message(episode, tier=tier, recipient=recipient, channel=channel, sla=sla)
            deliveries.plan(
                session,
                self._delivery(envelope, episode, tier, contact, recipient, channel, address,
                               masked, text.subject, text.body),
            )  # fmt: skip
        if not routes:
            why = (
                "no usable channel for this person in this deployment"
                if contact
                else f"nobody in the directory for the {TIER_ROLES[tier].replace('_', ' ')}"
            )
            log.warning("critical.unreachable", critical_id=episode.critical_id, tier=tier)
            empty = self._delivery(envelope, episode, tier, contact, recipient, "none", None,
                                   "", "unreachable", "")  # fmt: skip
            deliveries.unreachable(session, empty, why)
        if tier < LAST_TIER:
            # nobody reached: the next tier now, not after an SLA nobody could meet
            due = since + sla if routes else self._now()
            timers.start(session, self._timer(envelope, episode, tier, due))

    def _delivery(
        self,
        envelope: EventEnvelope,
        episode: Episode,
        tier: int,
        contact: directory.Contact | None,
        recipient: str,
        channel: str,
        address: str | None,
        masked: str,
        subject: str,
        body: str,
    ) -> Delivery:
        meta = envelope.metadata
        who = contact.provider_id if contact else TIER_ROLES[tier]
        return Delivery(
            id=derived_id(NAME, meta.event_id, who, channel),
            organization_id=meta.organization_id, trigger_event_id=meta.event_id,
            correlation_id=meta.correlation_id,
            purpose="critical_value" if tier == 0 else "escalation",
            subject_id=episode.critical_id, result_id=episode.result_id,
            order_id=episode.order_id, patient_id=episode.patient_id, tier=tier,
            recipient_role=TIER_ROLES[tier], provider_id=contact.provider_id if contact else None,
            recipient_name=recipient, channel=channel, address=address, address_masked=masked,
            subject_line=subject, body=body, detected_at=episode.detected_time,
        )  # fmt: skip

    @staticmethod
    def _timer(envelope: EventEnvelope, episode: Episode, tier: int, due: datetime) -> timers.Timer:
        meta = envelope.metadata
        return timers.Timer(
            id=derived_id(TIMER_KIND, episode.critical_id, str(tier)),
            organization_id=meta.organization_id, kind=TIMER_KIND,
            subject_id=episode.critical_id, due_at=due,
            payload={"tier": tier, "episode": episode.to_dict()},
            correlation_id=meta.correlation_id, causation_id=meta.event_id,
        )  # fmt: skip

    @staticmethod
    def _close(session: Session, critical_id: str, reason: str) -> None:
        cancelled = timers.cancel(session, critical_id, reason)
        unsent = deliveries.cancel(session, critical_id, reason)
        log.info("critical.closed", critical_id=critical_id, timers=cancelled, unsent=unsent)


def escalate(send: Callable[[Command], Outcome]) -> timers.Fire:
    """What a critical ack timer does when it fires: escalate to the next tier, by a command
    whose id is the timer's (a timer fired twice escalates once)."""

    def fire(timer: timers.Timer) -> str:
        tier = int(timer.payload["tier"]) + 1
        episode = Episode.from_dict(timer.payload["episode"])
        waited = timer.due_at - episode.detected_time
        command = EscalateCriticalValue(
            organization_id=timer.organization_id, user_id=None,
            command_id=derived_id("timers", timer.id), correlation_id=timer.correlation_id,
            causation_id=timer.causation_id, result_id=episode.result_id,
            critical_id=timer.subject_id, tier=tier,
            reason=_why(timer, tier, waited),
        )  # fmt: skip
        try:
            # a race lost to a verification or an acknowledgement is tried again (reading
            # afresh); if it keeps losing, the timer stays pending and fires again later
            send_retrying_races(send, command)
        except ConcurrencyConflict:
            raise
        except DomainError as exc:  # acknowledged or superseded meanwhile: nothing to do
            return f"refused: {exc}"
        return f"escalated to tier {tier}"

    return fire


def _why(timer: timers.Timer, tier: int, waited: timedelta) -> str:
    who = TIER_ROLES[tier - 1].replace("_", " ")
    unreached = timer.payload.get("unreached")
    if unreached:
        return f"the {who} could not be reached ({unreached})"[:500]
    return f"no read-back from the {who} {_minutes(waited)} after detection"


def _minutes(delta: timedelta) -> str:
    seconds = max(0.0, delta.total_seconds())
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
