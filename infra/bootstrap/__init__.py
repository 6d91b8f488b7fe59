"""The one composition root: settings become adapters, adapters are wired into the message bus
(``core``), the outbox relay (``core``), the workers (``workers``), the HL7 listener
(``interfaces``) and the HTTP API (``api``). Nothing below infra reads settings;
what it needs is handed over from here.

Tests call ``bootstrap(Settings(database_url=...))`` for a fresh database; unit tests wire fakes
through the same ``domains.handlers.command_handlers``.
"""

from infra.bootstrap.api import build_api
from infra.bootstrap.core import bootstrap, build_relay, schema_ids
from infra.bootstrap.interfaces import build_hl7_inbound
from infra.bootstrap.workers import (
    PROCESSORS,
    RUNNERS,
    SIDE_EFFECTS,
    build_criticals,
    build_read_model_worker,
    build_runner,
    build_worker,
    channels,
    worker_names,
    worker_topics,
)

__all__ = [
    "PROCESSORS",
    "RUNNERS",
    "SIDE_EFFECTS",
    "bootstrap",
    "build_api",
    "build_criticals",
    "build_hl7_inbound",
    "build_read_model_worker",
    "build_relay",
    "build_runner",
    "build_worker",
    "channels",
    "schema_ids",
    "worker_names",
    "worker_topics",
]
