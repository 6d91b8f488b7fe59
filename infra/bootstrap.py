"""The one place the real adapters are built and wired into the message bus.

Tests call ``bootstrap(Settings(database_url=...))`` for a fresh database; unit tests wire fakes
through the same ``domains.handlers.command_handlers``.
"""

from __future__ import annotations

from sqlalchemy import Engine

from domains.catalog.model import Catalog, load_catalog
from domains.handlers import command_handlers
from domains.shared.bus import MessageBus
from domains.shared.clock import Clock, SystemClock
from infra.db.catalog_store import SqlAccessionSource, SqlMrnSource, store_catalog
from infra.db.engine import make_engine, make_session_factory
from infra.db.uow import SqlUnitOfWork
from infra.phi import FernetAadhaarVault
from infra.settings import Settings, get_settings
from producers.avro_codec import encode


def bootstrap(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    catalog: Catalog | None = None,
) -> MessageBus:
    """A message bus on Postgres. The catalog file is stored (once per version) on the way, so
    every catalog version results were flagged against stays in the database."""
    settings = settings or get_settings()
    settings.check_deployable()  # before touching the database: fail fast, with the reason
    engine = engine or make_engine(settings.database_url)
    catalog = catalog or load_catalog()
    store_catalog(engine, catalog)
    session_factory = make_session_factory(engine)
    # Numbers are drawn while the command's session holds a connection. From the same pool,
    # a burst of commands could take every connection and then wait forever for a second one;
    # a pool of their own (each use a few milliseconds, never waiting on anything) cannot.
    sequences = make_engine(
        engine.url.render_as_string(hide_password=False), pool_size=2, max_overflow=4
    )
    handlers = command_handlers(
        catalog=catalog,
        aadhaar_vault=FernetAadhaarVault(settings.phi_key),
        mrn_source=SqlMrnSource(sequences),
        accession_source=SqlAccessionSource(sequences),
        clock=clock or SystemClock(),
    )
    return MessageBus(lambda: SqlUnitOfWork(session_factory, encode=encode), handlers)
