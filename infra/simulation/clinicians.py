"""The people at the other end of a critical value call, for the simulated day.

``ImmediateCalls``: nothing notifies anyone (no critical worker runs): the lab phones at once
and the clinician reads the value back (what a lab without the notifier does).

``NotifiedCalls``: the critical value worker notifies; people answer the notification. Each
call waits, on a thread of its own, until the notification has gone out (the Notification
recorded as sent for the critical, in Postgres), then the clinician reads the value back. The
few left to escalate wait for the escalation's notification instead, and the lab supervisor
(or, every other time, after the next tier, the on-call pathologist) reads it back. Nobody
issues EscalateCriticalValue here: escalating is the timers' job. Whoever acknowledges, it is a
person's command (AcknowledgeCriticalValue with read-back).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine, text

from domains.result.commands import AcknowledgeCriticalValue
from domains.shared.messages import Command
from infra.simulation.races import retrying_races

Send = Callable[[Command], object]
# who reads back, by the tier whose notification they answer
READERS = {0: "the ordering clinician", 1: "R. Menon (lab supervisor)", 2: "Dr. M. Pillai"}
PROVIDER_IDS = {  # the simulated clinicians' ids in infra/simulation/directory.yaml
    "Dr. A. Rao": "dr-rao",
    "Dr. S. Banerjee": "dr-banerjee",
    "Dr. P. Kulkarni": "dr-kulkarni",
    "Dr. N. Joseph": "dr-joseph",
}


class CriticalCalls(Protocol):
    def call(self, call: Call) -> None: ...

    def finish(self) -> CallReport: ...


@dataclass(frozen=True)
class Call:
    organization_id: str
    correlation_id: str
    result_id: str
    critical_id: str
    called_by: str
    clinician: str
    leave_to_escalate: bool


@dataclass
class CallReport:
    commands: Counter[str] = field(default_factory=Counter)
    acknowledged_by_tier: Counter[int] = field(default_factory=Counter)
    without_notification: int = 0  # nobody was notified in time; acknowledged on a phone call


class ImmediateCalls:
    def __init__(self, send: Send) -> None:
        self._send = retrying_races(send)
        self.report = CallReport()

    def call(self, call: Call) -> None:
        _acknowledge(self._send, call, call.clinician, self.report)
        self.report.acknowledged_by_tier[0] += 1

    def finish(self) -> CallReport:
        return self.report


class NotifiedCalls:
    def __init__(
        self, send: Send, engine: Engine, *, patience_s: float = 120.0, seed: int = 0
    ) -> None:
        self._send, self._engine = retrying_races(send), engine
        self._patience = patience_s
        self._rng = random.Random(seed)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.report = CallReport()

    def call(self, call: Call) -> None:
        # escalated ones: half answered by the supervisor, half only by the pathologist
        tier = (1 if self._rng.random() < 0.5 else 2) if call.leave_to_escalate else 0
        delay = self._rng.uniform(0.2, 1.5)  # the time a person takes to pick up
        thread = threading.Thread(target=self._answer, args=(call, tier, delay), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _answer(self, call: Call, tier: int, delay: float) -> None:
        notified = self._wait_for_notification(call, tier)
        time.sleep(delay)
        who = call.clinician if tier == 0 else READERS[tier]
        with self._lock:
            self.report.without_notification += not notified
            self.report.acknowledged_by_tier[tier] += 1
        _acknowledge(self._send, call, who, self.report, self._lock)

    def _wait_for_notification(self, call: Call, tier: int) -> bool:
        query = text(
            "SELECT 1 FROM notifications WHERE organization_id = :org AND subject_id = :c"
            " AND status = 'sent' AND (data -> 'facts' ->> 'tier')::int >= :tier LIMIT 1"
        )
        params = {"org": call.organization_id, "c": call.critical_id, "tier": tier}
        deadline = time.monotonic() + self._patience
        while time.monotonic() < deadline:
            with self._engine.connect() as conn:
                if conn.execute(query, params).first() is not None:
                    return True
            time.sleep(0.2)
        return False

    def finish(self) -> CallReport:
        """Wait for every call still open (escalations take their SLAs)."""
        for thread in self._threads:
            thread.join()
        return self.report


def _acknowledge(
    send: Send, call: Call, who: str, report: CallReport, lock: threading.Lock | None = None
) -> None:
    send(
        AcknowledgeCriticalValue(
            organization_id=call.organization_id, user_id=call.called_by,
            correlation_id=call.correlation_id, result_id=call.result_id,
            critical_id=call.critical_id, acknowledged_by=who, called_by=call.called_by,
            read_back_confirmed=True,
        )
    )  # fmt: skip
    if lock is None:
        report.commands["AcknowledgeCriticalValue"] += 1
        return
    with lock:
        report.commands["AcknowledgeCriticalValue"] += 1
