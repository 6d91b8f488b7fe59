"""Email over SMTP (``smtplib``), one session kept open between messages and reopened when the
server has dropped it.

The provider message id is the server's queue id from its reply to DATA ("250 ... queued as
X"), the delivery log entry a postmaster can find the message by. A 5xx reply is permanent
(the address or message is refused); 4xx replies and lost connections are retried.
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate

from domains.notification.ports import Channel, DeliveryFailed, OutgoingMessage, Receipt
from domains.shared.contacts import mask_email

_QUEUED_AS = re.compile(rb"queued as (\S+)", re.IGNORECASE)


class SmtpChannel(Channel):
    name = "email"

    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 10.0) -> None:
        self._host, self._port, self._sender, self._timeout = host, port, sender, timeout
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: OutgoingMessage) -> Receipt:
        try:
            email = _email(message, self._sender)
        except ValueError as exc:  # a header it cannot write (a line break in a name)
            raise DeliveryFailed(f"the message cannot be built: {type(exc).__name__}",
                                 permanent=True) from exc  # fmt: skip
        try:
            try:
                return self._send(email, message.address)
            except smtplib.SMTPServerDisconnected:
                self.close()  # a kept-open session the server timed out: once more, fresh
                return self._send(email, message.address)
        except smtplib.SMTPResponseException as exc:
            self.close()
            reason = _masked(f"{exc.smtp_code} {exc.smtp_error!r}", message.address)
            raise DeliveryFailed(reason, permanent=exc.smtp_code >= 500) from exc
        except UnicodeError as exc:  # an address SMTP without SMTPUTF8 cannot carry
            self.close()
            raise DeliveryFailed(
                f"the address cannot be sent over SMTP: {type(exc).__name__}", permanent=True
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            reason = _masked(f"{type(exc).__name__}: {exc}", message.address)
            raise DeliveryFailed(reason) from exc

    def _send(self, email: EmailMessage, address: str) -> Receipt:
        smtp = self._session()
        code, reply = smtp.mail(self._sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, self._sender)
        code, reply = smtp.rcpt(address)
        if code not in (250, 251):
            smtp.rset()
            raise smtplib.SMTPResponseException(code, reply)  # 5xx: this address, for good
        # CRLF line ends: smtplib sends bytes as they are, and a server reads a message with
        # bare LFs as one long line (refused past 1000 characters, RFC 5321 4.5.3.1.6)
        code, reply = smtp.data(email.as_bytes(policy=SMTP))
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        queued = _QUEUED_AS.search(reply)
        return Receipt(queued[1].decode(errors="replace") if queued else None)

    def _session(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            smtp.ehlo_or_helo_if_needed()
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _email(message: OutgoingMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = formataddr((message.recipient_name, message.address))
    email["Subject"] = message.subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message.message_id
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to us
    email.set_content(message.body)
    return email


def _masked(reason: str, address: str) -> str:
    """Servers echo the recipient in refusals; a reason reaches events and logs."""
    return reason.replace(address, mask_email(address))
