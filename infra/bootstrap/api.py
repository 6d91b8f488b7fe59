"""The HTTP API, wired to the bus, Redis and the read models."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from domains.shared.clock import Clock
from infra.bootstrap.core import bootstrap
from infra.bootstrap.workers import worker_names
from infra.config.logging import configure_logging
from infra.config.settings import Settings, get_settings
from infra.db.engine import make_engine

if TYPE_CHECKING:
    from fastapi import FastAPI


def build_api(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """The HTTP API on the bus: tokens, sessions, limits and idempotency keys in Redis, reads
    from the Redis read models with Postgres behind them."""
    from redis import Redis
    from redis.asyncio import Redis as AsyncRedis

    from infra.fhir.documents import FhirDocumentStore
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
    groups = {name: topics.group(name) for name in worker_names()}
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
            fhir=FhirDocumentStore(engine),
            max_body_bytes=settings.max_body_bytes,
            db_threads=db_threads,
        )
    )
