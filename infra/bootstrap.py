"""The one composition root: settings become adapters, adapters are wired into the message bus,
the outbox relay and (as they come) workers and the API. Nothing below infra reads settings;
what it needs is handed over from here.

Tests call ``bootstrap(Settings(database_url=...))`` for a fresh database; unit tests wire fakes
through the same ``domains.handlers.command_handlers``.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka.schema_registry import SchemaRegistryClient
from sqlalchemy import Engine

from consumers.base import ConsumerBase
from consumers.batch import BatchConsumer
from consumers.processors import completion, reporting, routing
from consumers.processors.base import Deps, Processor, ProcessorHandler
from consumers.read_models import handler as read_models
from domains.catalog.model import Catalog, load_catalog
from domains.handlers import command_handlers
from domains.shared.bus import MessageBus
from domains.shared.clock import Clock, SystemClock
from domains.shared.uow import AbstractUnitOfWork
from infra.config.logging import configure_logging
from infra.config.policies import load_policies
from infra.config.settings import Settings, get_settings
from infra.crypto.aadhaar_vault import FernetAadhaarVault
from infra.db.catalog_store import SqlAccessionSource, SqlMrnSource, store_catalog
from infra.db.engine import make_engine, make_session_factory
from infra.db.uow import SqlUnitOfWork
from infra.redis.store import RedisReadModelStore, redis_client
from producers.kafka_config import producer_config
from producers.relay import Relay
from schemas.avro_codec import encode
from schemas.decoder import RegistryDecoder
from schemas.registry import SchemaIds, registry_client
from schemas.writer_schemas import WriterSchemaIds


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
        policies=load_policies(settings.lab_policy_file),
    )
    topics = settings.topics()
    return MessageBus(
        lambda: SqlUnitOfWork(session_factory, encode=encode, topics=topics), handlers
    )


def schema_ids(settings: Settings, client: SchemaRegistryClient | None = None) -> SchemaIds:
    """Registers the committed schemas under this namespace's subjects, on first use."""
    client = client or registry_client(settings.schema_registry_url)
    return SchemaIds(client, topic_for=settings.topics().for_event)


def build_relay(settings: Settings, batch_size: int, worker: int = 0, workers: int = 1) -> Relay:
    """One relay worker: each row is framed with the id of the schema it was written with (its
    fingerprint), the committed schemas registered on first use.

    Module level and built from picklable arguments: worker processes call it themselves."""
    configure_logging(settings.log_level)  # a spawned worker starts unconfigured
    client = registry_client(settings.schema_registry_url)
    return Relay(
        settings.database_url,
        producer_config(settings.kafka_bootstrap),
        WriterSchemaIds(schema_ids(settings, client), client),
        batch_size=batch_size,
        worker=worker,
        workers=workers,
    )


# Every processor ``lis worker`` can run, by name: a factory from what processors may use.
PROCESSORS: dict[str, Callable[[Deps], Processor]] = {
    routing.NAME: lambda deps: routing.processor(deps.catalog),
    completion.NAME: completion.processor,
    reporting.NAME: reporting.processor,
}


def worker_names() -> list[str]:
    """What ``lis worker`` runs by default: every processor and the read models."""
    return [*PROCESSORS, read_models.NAME]


def worker_topics(settings: Settings, name: str) -> list[str]:
    """The topics worker ``name`` reads (to tell whether its group has caught up)."""
    topics = settings.topics()
    if name == read_models.NAME:
        return list(read_models.ReadModelHandler.topics_of(topics))
    return PROCESSORS[name](Deps(catalog=load_catalog(), uow_factory=_no_reads)).topics(topics)


def _no_reads() -> AbstractUnitOfWork:
    raise RuntimeError("only the processor's topics were asked for")


def build_worker(
    settings: Settings, name: str, *, catalog: Catalog | None = None
) -> ConsumerBase | BatchConsumer:
    """The consumer that runs processor ``name``: its commands go through the bus."""
    if name == read_models.NAME:
        return build_read_model_worker(settings)
    catalog = catalog or load_catalog()
    engine = make_engine(settings.database_url)
    bus = bootstrap(settings, engine=engine, catalog=catalog)
    deps = Deps(catalog=catalog, uow_factory=bus.uow_factory)
    handler = ProcessorHandler(PROCESSORS[name](deps), settings.topics(), bus.handle)
    return ConsumerBase(
        handler,
        bootstrap=settings.kafka_bootstrap,
        topics=settings.topics(),
        session_factory=make_session_factory(engine),
        decoder=RegistryDecoder(settings.schema_registry_url),
    )


def build_read_model_worker(
    settings: Settings, *, name: str = read_models.NAME, max_batch: int = 2000
) -> BatchConsumer:
    """The read-model processor: batches of events into Redis, no Postgres on its path."""
    store = RedisReadModelStore(redis_client(settings.redis_url), settings.read_model_prefix)
    return BatchConsumer(
        read_models.ReadModelHandler(settings.topics(), store, name),
        bootstrap=settings.kafka_bootstrap,
        topics=settings.topics(),
        decoder=RegistryDecoder(settings.schema_registry_url),
        max_batch=max_batch,
    )
