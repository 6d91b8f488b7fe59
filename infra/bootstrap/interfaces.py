"""The HL7 v2 listener's message handlers, wired to the bus."""

from __future__ import annotations

from functools import partial

from sqlalchemy import Engine

from domains.catalog.model import Catalog, load_catalog
from domains.shared.bus import send_retrying_races
from domains.shared.clock import Clock, SystemClock
from infra.bootstrap.core import bootstrap
from infra.config.settings import Settings
from infra.db.engine import make_engine
from infra.hl7.inbound import Hl7Inbound, Services
from infra.hl7.routes import MESSAGE_HANDLERS
from infra.hl7.store import InterfaceStore


def build_hl7_inbound(
    settings: Settings,
    *,
    engine: Engine | None = None,
    catalog: Catalog | None = None,
    clock: Clock | None = None,
) -> Hl7Inbound:
    """What ``lis hl7 listen`` answers messages with: their commands go through the bus."""
    engine = engine or make_engine(settings.database_url)
    catalog = catalog or load_catalog()
    clock = clock or SystemClock()
    bus = bootstrap(settings, engine=engine, catalog=catalog, clock=clock)
    # a command that lost a race with a processor (say, routing the same sample) is sent again:
    # the sender would otherwise get an AE for a refusal that says nothing about its message
    services = Services(
        partial(send_retrying_races, bus.handle), InterfaceStore(engine), catalog, clock
    )
    return Hl7Inbound(services, MESSAGE_HANDLERS)
