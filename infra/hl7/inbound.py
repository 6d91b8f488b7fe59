"""One inbound message in, one ACK out: who sent it, was it answered before, which handler.

A message is identified by its sender (MSH-3|MSH-4, a registered partner that names the
organization) and control id (MSH-10). Its answer is recorded; a resend of the same control id
gets the same answer and changes nothing (a resend with other content is refused). Every command
a message causes carries ``causation_id`` = its control id and a command id derived from
(sender, control id, part), so even a resend that races its first copy applies once.

Validation comes first, writes last: a handler checks everything it can before its first
command, so a bad message is answered AE/AR with nothing written. An unexpected failure (database
down) is answered AE 207 and not recorded: the sender's retry is then applied normally.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from domains.catalog.model import Catalog
from domains.shared.clock import Clock
from domains.shared.ids import derived_id
from domains.shared.messages import MAX_ID_LENGTH, Command
from domains.shared.uow import Outcome
from infra.hl7.ack import ack, header_of
from infra.hl7.er7 import Hl7Error, Seg, parse
from infra.hl7.store import InterfaceStore, Partner

log = structlog.get_logger(__name__)
Send = Callable[[Command], Outcome]


@dataclass(frozen=True)
class Inbound:
    """One message being applied: its segments, sender and the ids its commands carry."""

    segments: list[Seg]
    partner: Partner
    control_id: str

    @property
    def organization_id(self) -> str:
        return self.partner.organization_id

    @property
    def user_id(self) -> str:
        return f"hl7:{self.partner.sending_application}"[:64]

    def command(self, command: type[Command], part: str, **fields: Any) -> Command:
        return command(
            organization_id=self.organization_id,
            user_id=self.user_id,
            command_id=derived_id("hl7", self.partner.sender, self.control_id, part),
            correlation_id=derived_id("hl7", self.partner.sender, self.control_id),
            causation_id=self.control_id,
            **fields,
        )

    def all(self, name: str) -> list[Seg]:
        return [s for s in self.segments if s.name == name]


@dataclass(frozen=True)
class Services:
    send: Send
    store: InterfaceStore
    catalog: Catalog
    clock: Clock


MessageHandler = Callable[[Services, Inbound], str]


class Hl7Inbound:
    """Answers messages with the handlers registered per (message code, trigger event)."""

    def __init__(self, services: Services, handlers: Mapping[tuple[str, str], MessageHandler]):
        self.services = services
        self.handlers = dict(handlers)

    def answer(self, text: str) -> str:
        header, now = header_of(text), self.services.clock.now()
        try:
            return self._answer(text, header)
        except Hl7Error as error:
            log.info("hl7.refused", code=error.code, where=f"{error.segment}-{error.field}")
            return ack(header, "AR" if error.reject else "AE", [error], now)
        except Exception as exc:  # answered, never recorded: the sender's retry will apply it
            log.exception("hl7.failed", error_type=type(exc).__name__)
            failure = Hl7Error("MSH", 0, "internal error; send the message again later", "207")
            return ack(header, "AE", [failure], now)

    def _answer(self, text: str, header: Seg) -> str:
        control_id = header.get(10)
        if not _usable_id(control_id):
            reason = f"message control id must be 1-{MAX_ID_LENGTH} printable characters"
            raise Hl7Error("MSH", 10, reason, "101", reject=True)
        partner = self.services.store.partner(header.get(3), header.get(4))
        if partner is None:
            raise Hl7Error("MSH", 4, "unknown sending application/facility", "204", reject=True)
        digest = hashlib.sha256(text.replace("\n", "\r").strip("\r").encode()).hexdigest()
        store, org = self.services.store, partner.organization_id
        prior = store.prior_answer(org, partner.sender, control_id)
        if prior is not None:
            if prior.digest != digest:
                raise Hl7Error(
                    "MSH", 10, "control id already used for another message", "205", reject=True
                )
            log.info("hl7.resent", control_id=control_id)
            return prior.ack
        now = self.services.clock.now()
        kind = (header.get(9, 1), header.get(9, 2))
        try:
            handler = self.handlers.get(kind)
            if handler is None:
                raise Hl7Error(
                    "MSH", 9, f"{'^'.join(kind)} is not accepted here", "200", reject=True
                )
            inbound = Inbound(parse(text), partner, control_id)
            summary = handler(self.services, inbound)
            answer, code = ack(header, "AA", [], now, text=summary), "AA"
        except Hl7Error as error:
            code = "AR" if error.reject else "AE"
            answer = ack(header, code, [error], now)
        store.record_answer(
            org, partner.sender, control_id, message_type="^".join(kind), digest=digest,
            ack_code=code, ack=answer,
        )  # fmt: skip
        log.info("hl7.answered", message_type="^".join(kind), control_id=control_id, code=code)
        return answer


def _usable_id(value: str) -> bool:
    # it becomes the causation id of the commands: the rules of Command's ids
    printable = value.isprintable() and not any(c.isspace() for c in value)
    return 0 < len(value) <= MAX_ID_LENGTH and printable
