"""What ``lis worker`` runs: command-issuing processors, workers with side effects (interfaces),
the read models and the critical value loop, each built from the settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consumers.base import ConsumerBase, Handler
from consumers.batch import BatchConsumer
from consumers.processors import completion, criticals, reporting, routing
from consumers.processors.base import Deps, Processor, ProcessorHandler
from consumers.processors.notifications import Notifier
from consumers.processors.timers import TimerWorker
from consumers.read_models import handler as read_models
from domains.catalog.model import Catalog, load_catalog
from domains.notification.ports import Channel
from domains.shared.clock import Clock, SystemClock
from domains.shared.policy import PolicySource, StaticPolicies
from domains.shared.uow import AbstractUnitOfWork
from infra.bootstrap.core import bootstrap
from infra.config.policies import load_policies
from infra.config.settings import Settings
from infra.db.engine import make_engine, make_session_factory
from infra.fhir import documents
from infra.hl7 import delivery
from infra.notify.http_gateway import HttpGatewayChannel
from infra.notify.smtp import SmtpChannel
from infra.redis.store import RedisReadModelStore, redis_client
from infra.runners import Runner, Together
from infra.stack.common import host_port
from producers.relay import libpq_url
from producers.topics import Topics
from schemas.decoder import RegistryDecoder

# Every processor ``lis worker`` can run, by name: a factory from what processors may use.
PROCESSORS: dict[str, Callable[[Deps], Processor]] = {
    routing.NAME: lambda deps: routing.processor(deps.catalog),
    completion.NAME: completion.processor,
    reporting.NAME: reporting.processor,
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


def worker_names() -> list[str]:
    """What ``lis worker`` runs by default: every processor, the read models, the workers
    with side effects (interfaces) and the critical value loop."""
    return [*PROCESSORS, read_models.NAME, *SIDE_EFFECTS, *RUNNERS]


def worker_topics(settings: Settings, name: str) -> list[str]:
    """The topics worker ``name`` reads (to tell whether its group has caught up)."""
    topics = settings.topics()
    if name == read_models.NAME:
        return list(read_models.ReadModelHandler.topics_of(topics))
    if name in SIDE_EFFECTS:
        return list(SIDE_EFFECTS[name](topics, SystemClock()).topics)
    if name == criticals.NAME:
        handler = criticals.CriticalsHandler(topics, StaticPolicies(), set(), SystemClock().now)
        return list(handler.topics)
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
    handler: Handler
    if name in SIDE_EFFECTS:
        handler = SIDE_EFFECTS[name](settings.topics(), SystemClock())
    else:
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
