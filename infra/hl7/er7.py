"""Reading and writing HL7 v2 values: escaping, timestamps, and field access on parsed segments.

hl7apy validates every segment of a message against its v2.5.1 definition and a small grammar
per message structure checks their order (``parse``); reading one value out of a validated
segment is then plain ER7 splitting (``Seg``), the same for OML_O21 and ORM_O01.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_field, parse_segment

VERSION = "2.5.1"
_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("&", "\\T\\"), ("~", "\\R\\"))
_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$")


class Hl7Error(Exception):
    """What is wrong with a message, and where: the ACK's ERR segment names it.

    ``code`` is from HL7 table 0357 (100 segment sequence, 101 required field missing, 102 data
    type error, 103 table value not found, 200 unsupported message type, 204 unknown key
    identifier, 205 duplicate key identifier, 207 application internal error); ``reject``
    answers AR (the message as such is refused) rather than AE (its content is wrong)."""

    def __init__(
        self, segment: str, field: int, reason: str, code: str = "207", *, reject: bool = False
    ) -> None:
        super().__init__(f"{segment}-{field}: {reason}" if field else f"{segment}: {reason}")
        self.segment, self.field, self.reason = segment, field, reason
        self.code, self.reject = code, reject


def escape(text: str) -> str:
    for plain, escaped in _ESCAPES:
        text = text.replace(plain, escaped)
    return text.replace("\r", "\\X0D\\").replace("\n", "\\X0A\\")


def unescape(text: str) -> str:
    text = text.replace("\\X0D\\", "\r").replace("\\X0A\\", "\n")
    for plain, escaped in reversed(_ESCAPES):
        text = text.replace(escaped, plain)
    return text


def ts(moment: datetime) -> str:
    """An HL7 DTM with seconds and offset: 20260615093000+0530."""
    return moment.strftime("%Y%m%d%H%M%S%z")


def parse_ts(text: str, segment: str, field: int) -> datetime:
    """An HL7 TS/DTM; without an offset it is refused (a lab cannot guess the sender's zone)."""
    match = _TS.match(text)
    if not match or match.group(8) is None or match.group(5) is None:
        raise Hl7Error(segment, field, "must be a date/time to the minute with offset", "102")
    y, mo, d, h, mi, s, _frac, offset = match.groups()
    sign = 1 if offset[0] == "+" else -1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    try:
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), tzinfo=zone)
    except ValueError:
        raise Hl7Error(segment, field, "is not a real date/time", "102") from None


def parse_date(text: str, segment: str, field: int) -> date:
    try:
        return datetime.strptime(text[:8], "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        raise Hl7Error(segment, field, "must be a date YYYYMMDD", "102") from None


# The segment grammar of each message structure we read or write (v2.5.1, chapters 2, 4 and 7;
# the groups we do not take, such as prior results, are left out, so they are refused by name).
# hl7apy validates each segment (types, lengths, required fields); its own group finder cannot
# tell OML_O21's second ORDER from an ORDER_PRIOR, so the order of segments is checked here.
_P = r"(PID (PD1 )?(NTE )*(NK1 )*(PV1 (PV2 )?)?(IN1 (IN2 )?(IN3 )?)*(GT1 )?(AL1 )*)"
GRAMMAR = {
    "OML_O21": re.compile(
        rf"^MSH (SFT )*(NTE )*{_P}?(ORC (TQ1 (TQ2 )*)*(OBR (TCD )?(NTE )*(CTD )?(DG1 )*"
        r"(OBX (TCD )?(NTE )*)*(SPM (OBX )*)*)?(FT1 )*(CTI )*(BLG )?)+$"
    ),
    "ORM_O01": re.compile(
        rf"^MSH (NTE )*{_P}?(ORC (OBR (NTE )*(CTD )?(DG1 )*(OBX (NTE )*)*)?(FT1 )*(CTI )*"
        r"(BLG )?)+$"
    ),
    "ORU_R01": re.compile(
        r"^MSH (SFT )*((PID (PD1 )?(NTE )*(NK1 )*(PV1 (PV2 )?)?)?((ORC )?OBR (NTE )*"
        r"(TQ1 (TQ2 )*)*(CTD )?(OBX (NTE )*)*(FT1 )*(CTI )*(SPM (OBX )*)*)+)+(DSC )?$"
    ),
    "ACK": re.compile(r"^MSH (SFT )*MSA (ERR )*$"),
}
_FIELD = re.compile(r"\b[A-Z][A-Z0-9]{2}_(\d+)")


def structure_of(header: Seg) -> str:
    """MSH-9.3, or what the message code and trigger imply (an ACK is always ACK)."""
    code, trigger = header.get(9, 1), header.get(9, 2)
    if code == "ACK":
        return "ACK"
    return header.get(9, 3) or f"{code}_{trigger}"


def parse(text: str) -> list[Seg]:
    """The segments of a v2.5.1 message, each validated by hl7apy (data types, lengths,
    required fields) and their order by the structure's grammar; Hl7Error (AR) names the
    first problem."""
    lines = [line for line in text.replace("\n", "\r").split("\r") if line.strip()]
    if not lines or not lines[0].startswith("MSH|^~\\&"):
        raise Hl7Error("MSH", 0, "a message starts with MSH|^~\\&", "100", reject=True)
    segs = [Seg(line[:3], line.split("|")) for line in lines]
    header = segs[0]
    if header.get(12) != VERSION:
        raise Hl7Error("MSH", 12, f"version must be {VERSION}", "203", reject=True)
    for seg, line in zip(segs, lines, strict=True):
        _check_segment(seg, line)
    structure = structure_of(header)
    grammar = GRAMMAR.get(structure)
    if grammar is None:
        raise Hl7Error(
            "MSH", 9, f"message structure {structure} is not read here", "200", reject=True
        )
    if not grammar.match("".join(f"{s.name} " for s in segs)):
        order = " ".join(s.name for s in segs)
        raise Hl7Error("MSH", 9, f"segments {order} do not follow {structure}", "100", reject=True)
    return segs


def _check_segment(seg: Seg, line: str) -> None:
    if not re.fullmatch(r"[A-Z][A-Z0-9]{2}", seg.name) or seg.name.startswith("Z"):
        raise Hl7Error(seg.name[:3] or "?", 0, "unknown segment", "100", reject=True)
    if seg.name == "MSH":
        return  # hl7apy reads MSH only as part of a message; its fields are read by name
    try:
        segment = parse_segment(line, version=VERSION, validation_level=VALIDATION_LEVEL.STRICT)
        segment.validate()
    except (HL7apyException, ValueError) as exc:
        match = _FIELD.search(str(exc))
        field = int(match.group(1)) if match else _bad_field(seg)
        code = "101" if "required" in str(exc).lower() else "102"
        raise Hl7Error(seg.name, field, str(exc), code, reject=True) from None


def _bad_field(seg: Seg) -> int:
    """hl7apy names no field for a bad value: find the first field that does not read."""
    for n in range(1, len(seg.fields)):
        if not seg.fields[n]:
            continue
        try:
            parse_field(
                seg.fields[n], name=f"{seg.name}_{n}", version=VERSION,
                validation_level=VALIDATION_LEVEL.STRICT,
            )  # fmt: skip
        except (HL7apyException, ValueError):
            return n
    return 0


@dataclass(frozen=True)
class Seg:
    """One segment's fields as ER7 text (``fields[0]`` is the segment name)."""

    name: str
    fields: list[str]

    def raw(self, n: int) -> str:
        # MSH-1 is the field separator itself, so MSH's fields sit one to the left
        index = n - 1 if self.name == "MSH" else n
        return self.fields[index] if index < len(self.fields) else ""

    def get(self, n: int, component: int = 1, rep: int = 0, sub: int = 1) -> str:
        reps = self.raw(n).split("~")
        if rep >= len(reps):
            return ""
        components = reps[rep].split("^")
        if component > len(components):
            return ""
        subs = components[component - 1].split("&")
        return unescape(subs[sub - 1]).strip() if sub <= len(subs) else ""

    def repetitions(self, n: int) -> int:
        raw = self.raw(n)
        return len(raw.split("~")) if raw else 0

    def required(self, n: int, what: str, component: int = 1) -> str:
        value = self.get(n, component)
        if not value:
            raise Hl7Error(self.name, n, f"{what} is required", "101")
        return value


def compose(*segments: list[str]) -> str:
    """A message from its segments (each a list of field values, already escaped), checked
    as ``parse`` checks what comes in before it leaves: ValueError if it is not valid."""
    text = "\r".join("|".join(fields).rstrip("|") for fields in segments)
    try:
        parse(text)
        return text
    except Hl7Error as exc:
        raise ValueError(f"built an invalid message: {exc.reason}") from exc
