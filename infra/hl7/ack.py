"""Acknowledgements (original mode): AA accepted, AE application error (content), AR rejected
(the message as such); each error an ERR segment naming the segment, field and reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from domains.shared.ids import new_id
from infra.hl7.er7 import VERSION, Hl7Error, Seg, escape, ts

_TABLE_0357 = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "207": "Application internal error",
}


def header_of(text: str) -> Seg:
    """The MSH of a message as sent, even one that does not parse (the ACK must answer it)."""
    first = text.replace("\n", "\r").split("\r", 1)[0]
    return Seg("MSH", first.split("|")) if first.startswith("MSH|") else Seg("MSH", ["MSH"])


def ack(
    inbound: Seg, code: str, errors: Sequence[Hl7Error], now: datetime, *, text: str = ""
) -> str:
    """The ACK for ``inbound`` (its MSH): ``code`` is AA, AE or AR."""
    m = Message("ACK", version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
    trigger = inbound.get(9, 2)
    m.msh.msh_3 = escape(inbound.get(5) or "LIS")
    m.msh.msh_4 = escape(inbound.get(6) or "LAB")
    if inbound.get(3):
        m.msh.msh_5 = escape(inbound.get(3))
    if inbound.get(4):
        m.msh.msh_6 = escape(inbound.get(4))
    m.msh.msh_7 = ts(now)
    m.msh.msh_9 = f"ACK^{escape(trigger)}^ACK" if trigger else "ACK"
    m.msh.msh_10 = new_id().replace("-", "")[:20]
    m.msh.msh_11 = inbound.get(11) if inbound.get(11) in ("P", "D", "T") else "P"
    m.msh.msh_12 = VERSION
    m.msa.msa_1 = code
    m.msa.msa_2 = escape(inbound.get(10)[:199])
    summary = text or (errors[0].reason if errors else "")
    if summary:
        m.msa.msa_3 = escape(summary[:80])
    for error in errors:
        err = m.add_segment("ERR")
        location = f"{error.segment}^1^{error.field}" if error.field else f"{error.segment}^1"
        err.err_2 = location
        err.err_3 = f"{error.code}^{_TABLE_0357.get(error.code, 'Error')}^HL70357"
        err.err_4 = "E"
        err.err_8 = escape(error.reason[:250])
    m.validate()
    return str(m.to_er7())
