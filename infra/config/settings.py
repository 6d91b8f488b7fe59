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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIS_", extra="ignore")

    # "local" (a developer's machine, tests) or anything else (staging, production): only
    # "local" may run with the committed PHI key.
    environment: str = "local"

    database_url: str = "postgresql+psycopg://lis:lis@127.0.0.1:5432/lis"
    kafka_bootstrap: str = "127.0.0.1:9092"
    schema_registry_url: str = "http://127.0.0.1:8081/apis/ccompat/v7"
    redis_url: str = "redis://127.0.0.1:6379/0"
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

    log_level: str = "INFO"

    # Per-organization lab policies (YAML, see infra/config/policies.py); none = safe defaults.
    lab_policy_file: Path | None = None

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


class UnsafeSettings(RuntimeError):
    """The configuration must not start in this environment (the message names the setting)."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
