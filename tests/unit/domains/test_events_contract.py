"""The event classes are a contract with the Avro schema generator and every consumer."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime

import pytest

from domains.events import ALL_EVENTS, EVENT_BY_TYPE
from domains.shared.messages import Event

SCALARS = (str, int, float, bool, datetime, date)
DESIGN_TYPES = {
    "Patient": {"PATIENT_CREATED", "PATIENT_UPDATED", "PATIENT_DELETED"},
    "Order": {"ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_CANCELLED", "ORDER_COMPLETED"},
    "Sample": {"SAMPLE_COLLECTED", "SAMPLE_RECEIVED", "SAMPLE_REJECTED", "SAMPLE_ROUTED"},
    "Result": {
        "RESULT_ENTERED",
        "RESULT_VERIFIED",
        "RESULT_AMENDED",
        "CRITICAL_VALUE_DETECTED",
        "CRITICAL_VALUE_ACKNOWLEDGED",
        "CRITICAL_VALUE_ESCALATED",
        # issue 12: withdrawn values, and values read again after a demographic correction
        "RESULT_INVALIDATED",
        "RESULT_REINTERPRETED",
    },
    "Report": {"REPORT_GENERATED", "REPORT_SIGNED", "REPORT_DELIVERED"},
    "Payment": {
        "PAYMENT_RECEIVED",
        "PAYMENT_FAILED",
        # issue 12: the invoice, refunds and cancellation of the order's account
        "INVOICE_RAISED",
        "PAYMENT_REFUNDED",
        "INVOICE_CANCELLED",
    },
    "Notification": {"NOTIFICATION_SENT", "NOTIFICATION_FAILED"},
}


def test_every_design_event_type_has_exactly_one_class_on_its_topic() -> None:
    by_aggregate = {
        a: {e.event_type for e in ALL_EVENTS if e.aggregate_type == a} for a in DESIGN_TYPES
    }
    assert by_aggregate == DESIGN_TYPES
    assert {e.aggregate_type for e in ALL_EVENTS} == set(DESIGN_TYPES)
    assert len(EVENT_BY_TYPE) == len(ALL_EVENTS)


def _check_type(tp: object, where: str) -> None:
    origin = typing.get_origin(tp)
    if tp in SCALARS:
        return
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(tp)
        assert type(None) in args, where
        assert len(args) == 2, where
        _check_type(next(a for a in args if a is not type(None)), where)
        return
    if origin is list:
        (item,) = typing.get_args(tp)
        _check_type(item, where)
        return
    assert dataclasses.is_dataclass(tp), where
    assert isinstance(tp, type), where
    assert tp.__dataclass_params__.frozen, where  # type: ignore[attr-defined]
    for name, hint in typing.get_type_hints(tp).items():
        _check_type(hint, f"{where}.{name}")


@pytest.mark.parametrize("event_class", ALL_EVENTS, ids=lambda e: e.__name__)
def test_event_fields_use_only_avro_friendly_types(event_class: type[Event]) -> None:
    hints = typing.get_type_hints(event_class)
    for f in dataclasses.fields(event_class):
        _check_type(hints[f.name], f"{event_class.__name__}.{f.name}")
        if typing.get_origin(hints[f.name]) is types.UnionType:
            assert f.default is None, f"{f.name} is optional and needs default None"


@pytest.mark.parametrize("event_class", ALL_EVENTS, ids=lambda e: e.__name__)
def test_no_event_carries_an_unmasked_phone_or_aadhaar(event_class: type[Event]) -> None:
    for f in dataclasses.fields(event_class):
        if any(word in f.name for word in ("aadhaar", "mobile", "phone", "contact")):
            assert f.name.endswith("_masked"), f.name
