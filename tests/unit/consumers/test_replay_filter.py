"""Replay filters: headers decide early only what they can; the payload decides the rest."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from consumers.replay import PartitionRange, ReplayError, ReplayFilter, read_ranges

META = {
    "event_type": "RESULT_ENTERED",
    "aggregate_id": "result-1",
    "organization_id": "org-a",
    "correlation_id": "flow-1",
}
HEADERS: dict[str, bytes | None] = {"event_type": b"RESULT_ENTERED", "correlation_id": b"flow-1"}


def test_an_empty_filter_keeps_everything() -> None:
    assert ReplayFilter().keeps_headers(b"result-1", HEADERS)
    assert ReplayFilter().keeps(META)


def test_headers_reject_other_types_keys_and_flows_before_decoding() -> None:
    assert not ReplayFilter(event_types=frozenset({"SAMPLE_RECEIVED"})).keeps_headers(
        b"result-1", HEADERS
    )
    assert not ReplayFilter(aggregate_ids=frozenset({"result-2"})).keeps_headers(
        b"result-1", HEADERS
    )
    assert not ReplayFilter(correlation_ids=frozenset({"flow-2"})).keeps_headers(
        b"result-1", HEADERS
    )


def test_a_message_without_headers_is_decided_on_its_payload() -> None:
    wanted = ReplayFilter(event_types=frozenset({"SAMPLE_RECEIVED"}))

    assert wanted.keeps_headers(b"result-1", {})  # not rejected blind
    assert not wanted.keeps(META)


def test_organization_is_decided_on_the_payload_and_all_filters_must_match() -> None:
    both = ReplayFilter(organizations=frozenset({"org-a"}), event_types=frozenset({"X"}))

    assert ReplayFilter(organizations=frozenset({"org-a"})).keeps(META)
    assert not ReplayFilter(organizations=frozenset({"org-b"})).keeps(META)
    assert not both.keeps(META)


def test_a_range_never_has_a_negative_size() -> None:
    assert PartitionRange("t", 0, 10, 4).size == 0
    assert PartitionRange("t", 0, 4, 10).size == 6


# --- reading ranges to their end -------------------------------------------------------------


class _Msg:
    def __init__(self, offset: int, eof: bool = False) -> None:
        self._offset, self._eof = offset, eof

    def topic(self) -> str:
        return "t"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def error(self) -> object:
        return KafkaError(KafkaError._PARTITION_EOF) if self._eof else None


class _FakeConsumer:
    """Hands out prepared batches, then nothing; remembers that it was closed."""

    def __init__(self, batches: list[list[_Msg]]) -> None:
        self.batches, self.closed, self.assigned = batches, False, []

    def assign(self, parts: list[object]) -> None:
        self.assigned = parts

    def consume(self, _n: int, timeout: float) -> list[_Msg]:
        return self.batches.pop(0) if self.batches else []

    def incremental_unassign(self, _parts: list[object]) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_a_range_ending_in_a_transaction_marker_ends_at_the_partition_end() -> None:
    consumer = _FakeConsumer([[_Msg(0), _Msg(1), _Msg(2)], [_Msg(4, eof=True)]])  # 3: a marker

    read = [m.offset() for m, _kept in read_ranges(consumer, [PartitionRange("t", 0, 0, 4)])]  # type: ignore[arg-type]

    assert read == [0, 1, 2]
    assert consumer.closed


def test_a_silent_broker_fails_the_replay_instead_of_waiting_for_ever() -> None:
    consumer = _FakeConsumer([[_Msg(0)]])

    with pytest.raises(ReplayError, match=r"still to read: t\[0\] to 5"):
        list(read_ranges(consumer, [PartitionRange("t", 0, 0, 5)], idle_timeout_s=2.0))  # type: ignore[arg-type]
    assert consumer.closed
