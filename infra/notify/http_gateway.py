"""SMS and WhatsApp through an HTTP gateway (one adapter, two channels, each its own endpoint).

POST ``{"to", "text", "reference"}`` as JSON with an ``Idempotency-Key`` header (the message's
deterministic id: a gateway that honours it turns a resend after a crash into a no-op) and a
bearer token when configured. A 2xx answer's ``id`` is the provider message id. 4xx answers are
permanent (a bad number, a refused request), except 408 and 429; 5xx answers and network
errors are retried.
"""

from __future__ import annotations

import httpx

from domains.notification.ports import Channel, DeliveryFailed, OutgoingMessage, Receipt
from domains.shared.contacts import mask_mobile

_RETRYABLE_4XX = {408, 425, 429}


class HttpGatewayChannel(Channel):
    def __init__(
        self, name: str, url: str, *, token: str | None = None, timeout: float = 10.0
    ) -> None:
        self.name = name
        self._url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def send(self, message: OutgoingMessage) -> Receipt:
        payload = {
            "to": message.address,
            "text": f"{message.subject}\n{message.body}",
            "reference": message.message_id,
        }
        try:
            answer = self._client.post(
                self._url, json=payload, headers={"Idempotency-Key": message.message_id}
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{self.name} gateway unreachable: {type(exc).__name__}") from exc
        if answer.is_success:
            try:
                body = answer.json()
            except ValueError:
                body = {}
            found = body.get("id") if isinstance(body, dict) else None
            return Receipt(str(found) if found is not None else None)
        status = answer.status_code
        reason = f"{self.name} gateway answered {status}: {answer.text[:200]}"
        permanent = 400 <= status < 500 and status not in _RETRYABLE_4XX
        raise DeliveryFailed(
            reason.replace(message.address, mask_mobile(message.address)), permanent=permanent
        )

    def close(self) -> None:
        self._client.close()
