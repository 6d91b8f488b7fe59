"""Messages the email channel cannot build or carry are a permanent failure of that delivery,
said without the address, and never an exception that stops the notifier."""

from __future__ import annotations

import pytest

from domains.notification.ports import DeliveryFailed, OutgoingMessage
from infra.notify.smtp import SmtpChannel


def message(address: str, name: str = "Dr. A. Rao") -> OutgoingMessage:
    return OutgoingMessage(
        channel="email", address=address, recipient_name=name, subject="CRITICAL VALUE",
        body="Potassium 7.1 mmol/L", message_id="<m-1@lis.local>",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("müller@wards.test.lis", "Dr. K. Müller"),  # not ASCII: SMTP without SMTPUTF8
        ("a.rao@wards.test.lis", "Dr. A. Rao\r\nBcc: someone@else.test"),  # a header injected
    ],
)
def test_a_message_that_cannot_be_built_fails_for_good_before_any_connection(
    address: str, name: str
) -> None:
    channel = SmtpChannel("127.0.0.1", 9, "lab@lis.local", timeout=0.5)  # nothing listens
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(message(address, name))
    assert failed.value.permanent
    assert failed.value.reason.startswith("the message cannot be built")
    assert address not in failed.value.reason
