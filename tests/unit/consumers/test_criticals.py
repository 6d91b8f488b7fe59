"""The critical value loop's pure parts on fakes: what a call says per channel and tier, which
channels a person can be reached on, what a fired timer sends, and one worker of several loops."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consumers.processors.critical_messages import Episode, message
from consumers.processors.criticals import escalate
from consumers.processors.directory import Contact
from consumers.processors.notifications import message_id
from consumers.processors.timers import Timer
from domains.result.commands import EscalateCriticalValue
from domains.result.critical import CriticalValueClosed
from domains.shared.errors import ConcurrencyConflict
from domains.shared.ids import derived_id
from domains.shared.messages import Command
from infra.runners import Together

DETECTED = datetime(2024, 6, 15, 4, 30, tzinfo=UTC)
EPISODE = Episode(
    critical_id="crit-1", result_id="res-1", order_id="ord-1", loinc_code="2823-3",
    detected_at=DETECTED.isoformat(), priority="stat", test_name="Potassium", value_text="7.1",
    unit="mmol/L", flag="HH", critical_low=2.8, critical_high=6.2, patient_id="pat-1",
    mrn="0000000042", placer_order_number="HIS-1", accession_number="S1",
)  # fmt: skip


def test_an_email_names_test_value_limits_patient_order_and_the_deadline() -> None:
    text = message(EPISODE, tier=0, recipient="Dr. A. Rao", channel="email",
                   sla=timedelta(minutes=15))  # fmt: skip
    assert text.subject == "CRITICAL VALUE: Potassium 7.1 mmol/L (HH) - MRN 0000000042"
    for part in (
        "Dear Dr. A. Rao",
        "critical limits < 2.8 or > 6.2",
        "HIS-1 (priority stat)",
        "within 15 min",
        "escalated to the lab supervisor",
        "critical value crit-1",
    ):
        assert part in text.body, part  # fmt: skip


def test_an_escalation_says_so_and_names_what_follows() -> None:
    text = message(EPISODE, tier=1, recipient="R. Menon", channel="email", sla=timedelta(seconds=5))
    assert text.subject.startswith("CRITICAL VALUE (escalated)")
    assert "ESCALATED to the lab supervisor" in text.body
    assert "escalated to the on-call pathologist" in text.body
    last = message(EPISODE, tier=2, recipient="Dr. Pillai", channel="email", sla=timedelta(1))
    assert "it stays open" in last.body


def test_a_text_message_is_one_short_line_without_the_result_details() -> None:
    text = message(EPISODE, tier=0, recipient="Dr. A. Rao", channel="sms",
                   sla=timedelta(minutes=15))  # fmt: skip
    assert "\n" not in text.body
    assert len(text.body) < 160
    assert "MRN 0000000042" in text.body


def test_a_person_is_reached_only_on_channels_this_deployment_has_with_masked_addresses() -> None:
    contact = Contact(
        provider_id="dr-rao", name="Dr. A. Rao", role="clinician", channels=("sms", "email"),
        addresses={"email": "a.rao@wards.lis.local", "sms": "+919876543210"},
    )  # fmt: skip
    assert contact.routes({"email"}) == [("email", "a.rao@wards.lis.local", "a***@wards.lis.local")]
    assert [r[0] for r in contact.routes({"email", "sms"})] == ["sms", "email"]
    assert contact.routes({"sms"})[0][2] == "+91XXXXXX3210"
    assert "9876543210" not in repr(contact)


def test_message_ids_are_the_same_for_a_resend_and_new_for_a_retry() -> None:
    assert message_id("n-1", 1) == message_id("n-1", 1)
    assert message_id("n-1", 1) != message_id("n-1", 2)
    assert message_id("n-1", 1).endswith("@lis.local>")


def timer(tier: int) -> Timer:
    return Timer(
        id="timer-1", organization_id="org-1", kind="critical_ack_sla", subject_id="crit-1",
        due_at=DETECTED + timedelta(minutes=15), correlation_id="flow-1",
        causation_id="event-1", payload={"tier": tier, "episode": EPISODE.to_dict()},
    )  # fmt: skip


def test_a_fired_timer_escalates_one_tier_up_with_an_id_derived_from_the_timer() -> None:
    sent: list[Command] = []

    def send(command: Command) -> dict[str, Any]:
        sent.append(command)
        return {}

    outcome = escalate(send)(timer(0))
    [command] = sent
    assert isinstance(command, EscalateCriticalValue)
    assert (command.tier, command.critical_id, command.result_id) == (1, "crit-1", "res-1")
    assert command.command_id == derived_id("timers", "timer-1")  # fired twice = sent once
    assert (command.causation_id, command.correlation_id) == ("event-1", "flow-1")
    assert command.user_id is None
    assert command.reason == "no read-back from the ordering clinician 15 min after detection"
    assert outcome == "escalated to tier 1"


def test_a_timer_hurried_because_nobody_was_reached_says_so_in_the_escalation() -> None:
    sent: list[Command] = []

    def send(command: Command) -> dict[str, Any]:
        sent.append(command)
        return {}

    hurried = timer(0)
    hurried = Timer(**{**hurried.__dict__, "payload": {**hurried.payload,
                       "unreached": "the address cannot be sent over SMTP"}})  # fmt: skip
    escalate(send)(hurried)
    [command] = sent
    assert isinstance(command, EscalateCriticalValue)
    assert command.reason == (
        "the ordering clinician could not be reached (the address cannot be sent over SMTP)"
    )


def test_a_timer_for_an_episode_read_back_meanwhile_is_answered_not_raised() -> None:
    def refuse(command: Command) -> dict[str, Any]:
        raise CriticalValueClosed("crit-1", "acknowledged", "be escalated")

    assert escalate(refuse)(timer(1)).startswith("refused: critical value crit-1 is already")


def test_an_escalation_that_lost_a_race_is_sent_again_and_one_that_keeps_losing_stays_due() -> None:
    # a verification saved the result between the escalation's read and write: not an answer
    lost = 0

    def racing(command: Command) -> dict[str, Any]:
        nonlocal lost
        lost += 1
        if lost <= 2:
            raise ConcurrencyConflict("Result", "res-1", 3)
        return {}

    assert escalate(racing)(timer(0)) == "escalated to tier 1"
    assert lost == 3

    def always(command: Command) -> dict[str, Any]:
        raise ConcurrencyConflict("Result", "res-1", 3)

    # raised, so the timer worker keeps the timer pending and fires it again later
    with pytest.raises(ConcurrencyConflict):
        escalate(always)(timer(0))


class Loop:
    def __init__(self, fail: bool = False) -> None:
        self.fail, self.stopped = fail, threading.Event()

    def run(self) -> None:
        if self.fail:
            raise RuntimeError("lost the database")
        self.stopped.wait(30)

    def stop(self) -> None:
        self.stopped.set()


def test_one_loop_dying_stops_the_others_and_the_worker_fails_so_it_is_restarted() -> None:
    healthy = Loop()
    with pytest.raises(RuntimeError, match="lost the database"):
        Together("criticals", [healthy, Loop(fail=True)]).run()
    assert healthy.stopped.is_set()
