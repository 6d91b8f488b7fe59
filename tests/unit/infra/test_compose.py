"""compose.yaml offers the same stack, ports and credentials as the settings' defaults."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from infra.config.settings import REPO_ROOT, Settings


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    return data


@pytest.fixture(scope="module")
def defaults() -> Settings:
    """The defaults in infra/config/settings.py, whatever LIS_* this shell happens to set."""
    return Settings.model_construct()


def _host_ports(service: dict[str, Any]) -> set[int]:
    """Host-side ports of "127.0.0.1:HOST:CONTAINER" mappings."""
    return {int(str(mapping).split(":")[-2]) for mapping in service.get("ports", [])}


STACK = {"postgres", "redis", "kafka", "registry", "smtp"}
APP = {"migrate", "topics", "relay", "workers", "demo"}


def test_the_four_stack_services_with_expected_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == STACK | APP
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["registry"]["image"].startswith("apicurio/apicurio-registry:3.")
    # SMTP is the project's own Maildir server (aiosmtpd), so it runs from the project image
    assert services["smtp"]["image"] == "lis:latest"
    assert services["smtp"]["entrypoint"] == ["python", "-m", "infra.stack.maildir_smtpd"]
    assert "--maildir" in services["smtp"]["command"]


def test_host_ports_match_settings_defaults(compose: dict[str, Any], defaults: Settings) -> None:
    services = compose["services"]
    db = make_url(defaults.database_url)
    assert _host_ports(services["postgres"]) == {db.port}
    assert _host_ports(services["redis"]) == {urlsplit(defaults.redis_url).port}
    assert _host_ports(services["kafka"]) == {int(defaults.kafka_bootstrap.rsplit(":", 1)[1])}
    registry = urlsplit(defaults.schema_registry_url)
    assert _host_ports(services["registry"]) == {registry.port}
    assert str(services["registry"]["environment"]["QUARKUS_HTTP_PORT"]) == str(registry.port)
    smtp_port = urlsplit(defaults.smtp_url).port
    assert _host_ports(services["smtp"]) == {smtp_port}
    command = services["smtp"]["command"]
    assert command[command.index("--port") + 1] == str(smtp_port)


def test_credentials_and_databases_match(compose: dict[str, Any], defaults: Settings) -> None:
    db = make_url(defaults.database_url)
    env = compose["services"]["postgres"]["environment"]
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == (
        db.username,
        db.password,
        db.database,
    )
    registry_env = compose["services"]["registry"]["environment"]
    assert registry_env["APICURIO_STORAGE_KIND"] == "sql"
    assert registry_env["APICURIO_STORAGE_SQL_KIND"] == "postgresql"
    assert registry_env["APICURIO_DATASOURCE_USERNAME"] == db.username
    assert registry_env["APICURIO_DATASOURCE_URL"].endswith("/registry")


def test_kafka_is_single_node_kraft_without_auto_create(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "HOST://127.0.0.1:9092" in env["KAFKA_ADVERTISED_LISTENERS"]


def test_app_env_names_are_settings_fields(compose: dict[str, Any], defaults: Settings) -> None:
    env = compose["x-lis-env"]
    fields = {f"LIS_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields
    assert set(env) == {
        "LIS_DATABASE_URL",
        "LIS_KAFKA_BOOTSTRAP",
        "LIS_SCHEMA_REGISTRY_URL",
        "LIS_REDIS_URL",
        "LIS_SMTP_URL",
    }
    # Same credentials and paths as the defaults; only hosts differ inside the network.
    assert make_url(env["LIS_DATABASE_URL"]).set(host="127.0.0.1") == make_url(
        defaults.database_url
    )
    assert (
        urlsplit(env["LIS_SCHEMA_REGISTRY_URL"]).path == urlsplit(defaults.schema_registry_url).path
    )
    assert urlsplit(env["LIS_REDIS_URL"]).path == urlsplit(defaults.redis_url).path
    assert urlsplit(env["LIS_SMTP_URL"]).port == urlsplit(defaults.smtp_url).port


def test_the_registry_refuses_to_delete_schemas(compose: dict[str, Any]) -> None:
    # Events are kept forever and name their schema by id: deleting one orphans them.
    env = compose["services"]["registry"]["environment"]
    for switch in ("ARTIFACT", "ARTIFACT_VERSION", "GROUP"):
        assert env[f"APICURIO_REST_DELETION_{switch}_ENABLED"] == "false"


def test_app_services_run_lis_subcommands_from_the_project_image(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in APP:
        service = services[name]
        assert service["build"] == "."
        assert service["image"] == "lis:latest"
        assert service["environment"] == compose["x-lis-env"]
        assert "ports" not in service  # reached through Kafka and Postgres, not the host
    commands = {name: services[name]["command"] for name in APP}
    assert commands["migrate"] == ["db", "upgrade"]
    assert commands["topics"] == ["topics", "create"]
    assert commands["relay"] == ["relay"]
    assert commands["demo"][0] == "demo"


def test_the_relay_starts_after_tables_and_topics_exist_and_restarts(
    compose: dict[str, Any],
) -> None:
    relay = compose["services"]["relay"]
    assert relay["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert relay["depends_on"]["topics"] == {"condition": "service_completed_successfully"}
    assert relay["restart"] == "unless-stopped"
    # The demo is a job run on request, not part of every `docker compose up`.
    assert compose["services"]["demo"]["profiles"] == ["demo"]


def test_the_dockerfile_builds_a_lis_image_on_python_311_slim() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    assert any(line.startswith("RUN pip install") and "-e ." in line for line in lines)
    assert 'ENTRYPOINT ["lis"]' in lines
    # Every subcommand the services run exists in the CLI the image's entrypoint is.
    from typer.main import get_command

    from infra.cli import app

    cli = get_command(app)
    assert {"db", "topics", "relay", "demo"} <= set(cli.commands)  # type: ignore[attr-defined]
