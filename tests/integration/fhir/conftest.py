"""The relay fixture the HL7 tests use (the worker reads what the relay publishes)."""

from tests.integration.hl7.conftest import relay

__all__ = ["relay"]
