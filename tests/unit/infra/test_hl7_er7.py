"""HL7 values and structure without a network: escaping round trips, timestamps need an offset,
each message structure's segment order is enforced, a bad field is located."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from infra.hl7.er7 import Hl7Error, Seg, escape, parse, parse_ts, ts, unescape

MSH = "MSH|^~\\&|A|B|LIS|lab|20260101120000+0530||ORU^R01^ORU_R01|C1|P|2.5.1"


@pytest.mark.parametrize("text", ["D'Souza & Co", "a|b^c~d\\e", "line\rbreak", "नाम"])
def test_escaped_text_reads_back_unchanged(text: str) -> None:
    escaped = escape(text)
    assert not set("|^~&\r") & set(escaped)
    assert unescape(escaped) == text


def test_a_timestamp_keeps_its_offset_and_one_without_is_refused() -> None:
    moment = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert parse_ts(ts(moment), "OBX", 19) == moment
    assert parse_ts("20260101063000+0000", "OBX", 19) == moment.astimezone(UTC)
    with pytest.raises(Hl7Error) as refused:
        parse_ts("20260101120000", "OBX", 19)
    assert (refused.value.segment, refused.value.field) == ("OBX", 19)


def test_segments_out_of_their_structures_order_are_rejected() -> None:
    good = f"{MSH}\rOBR|1||S1|2345-7^^LN\rOBX|1|NM|2345-7^^LN||5|mg/dL|||||F"
    assert [s.name for s in parse(good)] == ["MSH", "OBR", "OBX"]
    with pytest.raises(Hl7Error) as refused:
        parse(f"{MSH}\rOBX|1|NM|2345-7^^LN||5|mg/dL|||||F\rOBR|1||S1|2345-7^^LN")
    assert refused.value.reject
    assert refused.value.code == "100"


def test_a_bad_value_is_located_by_segment_and_field() -> None:
    with pytest.raises(Hl7Error) as refused:
        parse(f"{MSH}\rOBR|1||S1|2345-7^^LN|||2026-01-01")
    assert (refused.value.segment, refused.value.field) == ("OBR", 7)


def test_fields_components_and_repetitions_are_read_unescaped() -> None:
    pid = Seg("PID", ["PID", "1", "", "X1^^^H^PI~0000000018^^^lab^MR", "", "D\\T\\Souza^Ria"])
    assert pid.repetitions(3) == 2
    assert pid.get(3, 4, rep=1) == "lab"
    assert pid.get(5) == "D&Souza"
    assert pid.get(5, 2) == "Ria"
