"""The channel port: how a notification leaves the lab (email, SMS, WhatsApp). Adapters live in
``infra/notify``; tests use fakes that subclass ``Channel``."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    address: str = field(repr=False)  # the contact in the clear: never logged
    recipient_name: str
    subject: str
    body: str = field(repr=False)  # names the patient's result: not for logs either
    # deterministic per (event, recipient, channel, attempt): a resend after a crash carries
    # the same id, so a mail client (or an idempotent gateway) can tell it is the same message
    message_id: str


@dataclass(frozen=True)
class Receipt:
    provider_message_id: str | None  # the provider's own id: SMTP queue id, gateway id


class DeliveryFailed(Exception):
    """The channel did not take the message. ``permanent``: retrying cannot help (a refused
    address, a rejected request); otherwise it is retried with backoff. The reason never
    holds the address in the clear."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Channel(abc.ABC):
    name: str  # email | sms | whatsapp

    @abc.abstractmethod
    def send(self, message: OutgoingMessage) -> Receipt:
        """Hand the message to the provider; raise ``DeliveryFailed`` when it does not take it."""

    def close(self) -> None:  # noqa: B027 - most channels hold nothing to close
        """Release connections (an SMTP session kept open between messages)."""
