"""Replay filters: headers decide early only what they can; the payload decides the rest."""

from __future__ import annotations

from consumers.replay import PartitionRange, ReplayFilter

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
