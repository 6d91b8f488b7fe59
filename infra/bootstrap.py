"""The one composition root: settings become adapters, adapters are wired into the message bus,
the outbox relay and (as they come) workers and the API. Nothing below infra reads settings;
what it needs is handed over from here.

Tests call ``bootstrap(Settings(database_url=...))`` for a fresh database; unit tests wire fakes
through the same ``domains.handlers.command_handlers``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from sqlalchemy import Engine

from consumers.base import ConsumerBase, Handler
from consumers.processors import criticals, routing
from consumers.processors.base import Processor, ProcessorHandler
from consumers.processors.notifications import Notifier
from consumers.processors.timers import TimerWorker
from domains.catalog.model import Catalog, load_catalog
from domains.handlers import command_handlers
from domains.notification.ports import Channel
from domains.shared.bus import MessageBus
from domains.shared.clock import Clock, SystemClock
from domains.shared.policy import PolicySource
from infra.config.logging import configure_logging
from infra.config.policies import load_policies
from infra.config.settings import Settings, get_settings
from infra.crypto.aadhaar_vault import FernetAadhaarVault
from infra.crypto.blind_index import HmacIndex
from infra.crypto.patient_keys import SqlPatientKeyring
from infra.db.catalog_store import SqlAccessionSource, SqlMrnSource, store_catalog
from infra.db.engine import make_engine, make_session_factory
from infra.db.uow import SqlUnitOfWork
from infra.fhir import documents
from infra.hl7 import delivery
from infra.hl7.inbound import Hl7Inbound, Services
from infra.hl7.routes import MESSAGE_HANDLERS
from infra.hl7.store import InterfaceStore
from infra.notify.http_gateway import HttpGatewayChannel
from infra.notify.smtp import SmtpChannel
from infra.runners import Runner, Together
from infra.stack.common import host_port
from producers.kafka_config import producer_config
from producers.relay import Relay, libpq_url
from producers.topics import Topics
from schemas.avro_codec import encode
from schemas.decoder import RegistryDecoder
from schemas.registry import SchemaIds, registry_client
from schemas.writer_schemas import WriterSchemaIds

if TYPE_CHECKING:
    from fastapi import FastAPI


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


# Every processor ``lis worker`` can run, by name: a factory from the test catalog.
PROCESSORS: dict[str, Callable[[Catalog], Processor]] = {
    routing.NAME: routing.processor,
}

# Workers whose effect lies outside the domain (a delivery intent, a signed document), written
# in the consumer's own transaction with the inbox claim: name -> factory(topics, clock).
SIDE_EFFECTS: dict[str, Callable[[Topics, Clock], Handler]] = {
    delivery.NAME: delivery.ResultIntents,
    documents.NAME: documents.FhirDocuments,
}


def build_runner(settings: Settings, name: str) -> Runner:
    """What ``lis worker NAME`` runs: a worker of ``RUNNERS``, or processor ``name``."""
    return RUNNERS[name](settings) if name in RUNNERS else build_worker(settings, name)


def build_worker(settings: Settings, name: str, *, catalog: Catalog | None = None) -> ConsumerBase:
    """The consumer that runs processor ``name``: its commands go through the bus."""
    catalog = catalog or load_catalog()
    engine = make_engine(settings.database_url)
    handler: Handler
    if name in SIDE_EFFECTS:
        handler = SIDE_EFFECTS[name](settings.topics(), SystemClock())
    else:
        bus = bootstrap(settings, engine=engine, catalog=catalog)
        handler = ProcessorHandler(PROCESSORS[name](catalog), settings.topics(), bus.handle)
    return ConsumerBase(
        handler,
        bootstrap=settings.kafka_bootstrap,
        topics=settings.topics(),
        session_factory=make_session_factory(engine),
        decoder=RegistryDecoder(settings.schema_registry_url),
    )


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
    services = Services(bus.handle, InterfaceStore(engine), catalog, clock)
    return Hl7Inbound(services, MESSAGE_HANDLERS)


def build_api(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """The HTTP API on the bus: tokens, sessions, limits and idempotency keys in Redis, reads
    from the Redis read models with Postgres behind them."""
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

    from infra.http.app import create_app
    from infra.http.auth import TokenConfig, TokenVerifier
    from infra.http.context import ApiContext
    from infra.http.guard import Guard, Limits
    from infra.http.health import HealthChecks
    from infra.http.idempotency import IdempotencyKeys
    from infra.http.metrics import ApiMetrics
    from infra.http.reads.postgres import PostgresReadModels
    from infra.http.reads.redis import RedisReadModels
    from infra.http.sessions import SessionStore
    from infra.http.system import LiveSources, health_checks

    settings = settings or get_settings()
    configure_logging(settings.log_level)  # uvicorn's worker processes start unconfigured
    db_threads = 16  # the API's threads doing database work, and its pool's connections
    engine = engine or make_engine(settings.database_url, pool_size=db_threads, max_overflow=0)
    bus = bootstrap(settings, engine=engine, clock=clock)
    secret = settings.jwt_secret.get_secret_value()
    redis = AsyncRedis.from_url(settings.redis_url)
    sync_redis = Redis.from_url(settings.redis_url, socket_timeout=2)
    topics = settings.topics()
    verifier = TokenVerifier(
        TokenConfig(
            secret=secret,
            jwks_url=settings.jwt_jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    limits = Limits(
        settings.rate_limit_api_per_minute,
        settings.rate_limit_token_per_minute,
        settings.rate_limit_address_per_minute,
    )
    groups = {name: topics.group(name) for name in PROCESSORS}
    return create_app(
        ApiContext(
            bus=bus,
            guard=Guard(verifier, redis, limits),
            idempotency=IdempotencyKeys(redis),
            sessions=SessionStore(
                redis,
                secret,
                access_minutes=settings.access_token_minutes,
                refresh_hours=settings.refresh_token_hours,
            ),
            reads=RedisReadModels(sync_redis, PostgresReadModels(engine)),
            metrics=ApiMetrics(
                LiveSources(engine, settings.kafka_bootstrap, groups, topics.events)
            ),
            health=HealthChecks(
                health_checks(
                    engine, sync_redis, settings.kafka_bootstrap, settings.schema_registry_url
                )
            ),
            redis=redis,
            max_body_bytes=settings.max_body_bytes,
            db_threads=db_threads,
        )
    )


def channels(settings: Settings) -> dict[str, Channel]:
    """The channels this deployment sends on: email always; SMS and WhatsApp when a gateway
    endpoint is configured. A fresh set per caller (an SMTP session is one thread's)."""
    host, port = host_port(settings.smtp_url, 1025)
    token = settings.gateway_token.get_secret_value() if settings.gateway_token else None
    found: dict[str, Channel] = {"email": SmtpChannel(host, port, settings.mail_from)}
    for name, url in (
        ("sms", settings.sms_gateway_url),
        ("whatsapp", settings.whatsapp_gateway_url),
    ):
        if url:
            found[name] = HttpGatewayChannel(name, url, token=token)
    return found


def build_criticals(
    settings: Settings,
    *,
    policies: PolicySource | None = None,
    clock: Clock | None = None,
    poll_interval: float = 0.25,
    **consumer_overrides: Any,
) -> Together:
    """The critical value loop in one worker: its consumer (result events: notify, start and
    cancel timers), the notifier (send, retry, record) and the timer worker (escalate)."""
    engine = make_engine(settings.database_url)
    bus = bootstrap(settings, engine=engine, clock=clock)
    sessions = make_session_factory(engine)
    clock = clock or SystemClock()
    policies = policies or load_policies(settings.lab_policy_file)
    handler = criticals.CriticalsHandler(
        settings.topics(), policies, set(channels(settings)), clock.now
    )
    consumer = ConsumerBase(
        handler,
        bootstrap=settings.kafka_bootstrap,
        topics=settings.topics(),
        session_factory=sessions,
        decoder=RegistryDecoder(settings.schema_registry_url),
        **consumer_overrides,
    )
    notifier = Notifier(
        engine,
        bus.handle,
        lambda: channels(settings),
        listen_conninfo=libpq_url(settings.database_url),
        senders=settings.notify_senders,
        max_attempts=settings.notify_max_attempts,
        retry_seconds=settings.notify_retry_seconds,
    )
    fire = {criticals.TIMER_KIND: criticals.escalate(bus.handle)}
    timer_worker = TimerWorker(sessions, fire, poll_interval=poll_interval)
    return Together(criticals.NAME, [consumer, notifier, timer_worker])


# Workers that are more than a command-issuing processor (side effects, several loops).
RUNNERS: dict[str, Callable[[Settings], Runner]] = {
    criticals.NAME: build_criticals,
}
