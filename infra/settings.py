"""All configuration, from the environment (``LIS_*``); defaults point at the local stack."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIS_", extra="ignore")

    database_url: str = "postgresql+psycopg://lis:lis@127.0.0.1:5432/lis"
    kafka_bootstrap: str = "127.0.0.1:9092"
    schema_registry_url: str = "http://127.0.0.1:8081/apis/ccompat/v7"
    redis_url: str = "redis://127.0.0.1:6379/0"

    # Where `lis stack` keeps downloads, data and logs. Outside the checkout, so a fresh clone
    # reuses what an earlier run fetched.
    stack_home: Path = Field(default_factory=lambda: Path.home() / ".lis-stack")

    topic_partitions: int = 6
    topic_replication_factor: int = 1

    # Key for Aadhaar encryption at rest (Fernet, urlsafe base64 of 32 bytes). The default is for
    # the local stack only; production must set LIS_PHI_KEY.
    phi_key: str = "bGlzLWxvY2FsLWRldmVsb3BtZW50LWtleS0wMDAwMDA="

    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
