"""All configuration, from the environment (``LIS_*``); defaults point at the local stack."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from producers.topics import Topics

REPO_ROOT = Path(__file__).resolve().parents[2]

# Committed to the repository, so known to everyone: for the local stack and tests only.
LOCAL_PHI_KEY = "bGlzLWxvY2FsLWRldmVsb3BtZW50LWtleS0wMDAwMDA="
LOCAL_PHI_INDEX_KEY = "lis-local-development-index-key-not-for-real-data"
# Signs the API's own (HS256) tokens on the local stack; refused elsewhere, like the PHI key.
LOCAL_JWT_SECRET = "lis-local-development-jwt-secret-not-for-deployment"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIS_", extra="ignore")

    # "local" (a developer's machine, tests) or anything else (staging, production): only
    # "local" may run with the committed PHI key.
    environment: str = "local"

    database_url: str = "postgresql+psycopg://lis:lis@127.0.0.1:5432/lis"
    kafka_bootstrap: str = "127.0.0.1:9092"
    schema_registry_url: str = "http://127.0.0.1:8081/apis/ccompat/v7"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Critical value notifications: email over SMTP (the stack's Maildir server by default);
    # SMS and WhatsApp through an HTTP gateway each, off unless an endpoint is set.
    smtp_url: str = "smtp://127.0.0.1:1025"
    mail_from: str = "LIS critical values <critical-values@lis.local>"
    sms_gateway_url: str | None = None
    whatsapp_gateway_url: str | None = None
    gateway_token: SecretStr | None = None
    notify_max_attempts: int = 5  # a send that keeps failing: then NOTIFICATION_FAILED, final
    notify_retry_seconds: float = 5.0  # first retry after this; doubling, at most 5 minutes
    notify_senders: int = 4  # sending threads per notifier process
    # an outbound HL7 message NAKed (AE/AR) this many times is set aside (an error is logged)
    # so the subscriber's later results are not held back; timeouts and refusals are retried
    hl7_max_naks: int = Field(default=5, ge=1)
    # Read-model keys (patient:{id}, worklist:...) start with this; "" = the documented names.
    read_model_prefix: str = ""

    # Where `lis stack` keeps downloads, data and logs. Outside the checkout, so a fresh clone
    # reuses what an earlier run fetched.
    stack_home: Path = Field(default_factory=lambda: Path.home() / ".lis-stack")

    # Every topic, consumer group and dead-letter name starts with this (``lis.sample.events``).
    # The test suite runs in its own namespace, so it never writes where `make demo` reads.
    topic_namespace: str = "lis"
    topic_partitions: int = 6
    topic_replication_factor: int = 1

    # Key(s) for Aadhaar encryption at rest (Fernet, urlsafe base64 of 32 bytes; several
    # comma-separated: the first encrypts, all decrypt). SecretStr keeps it out of reprs, logs
    # and tracebacks. The default is for the local stack only: bootstrap refuses it elsewhere.
    phi_key: SecretStr = SecretStr(LOCAL_PHI_KEY)
    # HMAC key for blind indexes (duplicate Aadhaar checks) and command-payload fingerprints.
    # Its own key: rotating the encryption keys must not change the indexes. Same rule as
    # the PHI key: the committed default is refused outside "local".
    phi_index_key: SecretStr = SecretStr(LOCAL_PHI_INDEX_KEY)

    log_level: str = "INFO"

    # Per-organization lab policies (YAML, see infra/config/policies.py); none = safe defaults.
    lab_policy_file: Path | None = None

    # -- the HTTP API (infra/http) ---------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # where `lis api`, `lis simulate` and the benchmark find the API
    api_url: str = "http://127.0.0.1:8000"
    # HS256: the API's own access tokens (sessions) and, locally, tokens `lis api token` mints
    jwt_secret: SecretStr = SecretStr(LOCAL_JWT_SECRET)
    # RS256: an identity provider's tokens, verified with the keys its JWKS URL serves
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None  # required "iss" of identity-provider tokens, when set
    jwt_audience: str | None = None  # required "aud" of identity-provider tokens, when set
    access_token_minutes: int = 15
    refresh_token_hours: int = 12  # a session (one shift) ends unless refreshed before
    # requests a minute (Redis ``ratelimit:{...}``): per user; per client address on the token
    # endpoints; per client address on the API (higher: many users may share one address)
    rate_limit_api_per_minute: int = 600
    rate_limit_token_per_minute: int = 10
    rate_limit_address_per_minute: int = 6000
    max_body_bytes: int = 64 * 1024

    @field_validator("topic_namespace")
    @classmethod
    def _legal_namespace(cls, value: str) -> str:
        Topics(namespace=value)  # raises ValueError naming the rule
        return value

    def topics(self) -> Topics:
        """Topic names and settings for producers, consumers and tools."""
        return Topics(self.topic_namespace, self.topic_partitions, self.topic_replication_factor)

    def phi_keys(self) -> list[str]:
        return [k.strip() for k in self.phi_key.get_secret_value().split(",") if k.strip()]

    def check_deployable(self) -> None:
        """Refuse settings that are only safe on a developer's machine. Aadhaar tokens made
        with the committed key can be decrypted by anyone with a clone, so outside
        environment "local" that key is refused, even as an old decrypt-only key (data
        encrypted with it must be re-encrypted, not kept readable by the world)."""
        if self.environment != "local" and LOCAL_PHI_KEY in self.phi_keys():
            raise UnsafeSettings(
                f"LIS_PHI_KEY is the committed development key, which may only be used with "
                f"LIS_ENVIRONMENT=local (it is {self.environment!r}); set LIS_PHI_KEY to this "
                f"deployment's own key (Fernet.generate_key())"
            )
        index_key = self.phi_index_key.get_secret_value().strip()
        if self.environment != "local" and index_key == LOCAL_PHI_INDEX_KEY:
            raise UnsafeSettings(
                f"LIS_PHI_INDEX_KEY is the committed development key, which may only be used "
                f"with LIS_ENVIRONMENT=local (it is {self.environment!r}); set it to this "
                f"deployment's own key (secrets.token_urlsafe(32))"
            )
        if index_key in self.phi_keys():
            raise UnsafeSettings(
                "LIS_PHI_INDEX_KEY must be a key of its own, not one of the LIS_PHI_KEY keys"
            )
        if self.environment != "local" and self.jwt_secret.get_secret_value() == LOCAL_JWT_SECRET:
            raise UnsafeSettings(
                f"LIS_JWT_SECRET is the committed development secret, which may only be used "
                f"with LIS_ENVIRONMENT=local (it is {self.environment!r}): anyone with a clone "
                f"could mint tokens; set LIS_JWT_SECRET to this deployment's own secret"
            )


class UnsafeSettings(RuntimeError):
    """The configuration must not start in this environment (the message names the setting)."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
