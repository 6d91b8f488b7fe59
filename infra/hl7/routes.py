"""Which handler answers which message (MSH-9 message code and trigger event)."""

from __future__ import annotations

from infra.hl7.inbound import MessageHandler
from infra.hl7.orders_in import place_orders
from infra.hl7.results_in import enter_results

MESSAGE_HANDLERS: dict[tuple[str, str], MessageHandler] = {
    ("OML", "O21"): place_orders,
    ("ORM", "O01"): place_orders,
    ("ORU", "R01"): enter_results,
}
