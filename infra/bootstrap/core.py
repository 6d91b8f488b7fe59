"""The bus, the schema ids and the relay, from the settings."""

from __future__ import annotations

from confluent_kafka.schema_registry import SchemaRegistryClient
from sqlalchemy import Engine

from domains.catalog.model import Catalog, load_catalog
from domains.handlers import command_handlers
from domains.shared.bus import MessageBus
from domains.shared.clock import Clock, SystemClock
from infra.config.logging import configure_logging
from infra.config.policies import load_policies
from infra.config.settings import Settings, get_settings
from infra.crypto.aadhaar_vault import FernetAadhaarVault
from infra.crypto.blind_index import HmacIndex
from infra.crypto.patient_keys import SqlPatientKeyring
from infra.db.catalog_store import SqlAccessionSource, SqlMrnSource, store_catalog
from infra.db.engine import make_engine, make_session_factory
from infra.db.uow import SqlUnitOfWork
from producers.kafka_config import producer_config
from producers.relay import Relay
from schemas.avro_codec import encode
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
    index = HmacIndex(settings.phi_index_key)
    handlers = command_handlers(
        catalog=catalog,
        aadhaar_vault=FernetAadhaarVault(settings.phi_key),
        identifier_index=index,
        patient_keys=SqlPatientKeyring(sequences, settings.phi_key),
        mrn_source=SqlMrnSource(sequences),
        accession_source=SqlAccessionSource(sequences),
        clock=clock or SystemClock(),
        policies=load_policies(settings.lab_policy_file),
    )
    topics = settings.topics()
    return MessageBus(
        lambda: SqlUnitOfWork(
            session_factory, encode=encode, topics=topics, payload_digest=index.command_payload
        ),
        handlers,
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
