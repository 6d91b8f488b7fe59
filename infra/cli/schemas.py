"""``lis schemas``: generate the .avsc files, register them, and guard FULL_TRANSITIVE evolution.

``check`` is meant for CI and for a person about to commit: it compares every schema in the
working tree with every version consumers may already hold, from the registry when it answers
and always from git history, and names the file, the earlier version and the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domains.shared.messages import Event
from infra.config.settings import REPO_ROOT, get_settings
from schemas.catalog import SCHEMAS_DIR, all_events, record_name_of, schema_file_of

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import SchemaRegistryClient

app = typer.Typer(no_args_is_help=True, help="Avro schemas: generate, register, check.")


@app.command("generate")
def generate(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if files are out of date.")
    ] = False,
) -> None:
    """Rewrite schemas/**/*.avsc from the event classes."""
    from schemas.generate import outdated_files, stale_files, write

    changed = list(outdated_files()) if check else write()
    stale = stale_files()
    for rel in changed:
        typer.echo(f"{'out of date' if check else 'wrote'}: schemas/{rel}")
    for rel in stale:
        # Not deleted automatically: the subject stays in the registry and old data needs it.
        typer.echo(f"stale (no event class produces it): schemas/{rel}")
    if not changed and not stale:
        typer.echo("schemas up to date")
    if check and (changed or stale):
        raise typer.Exit(1)


@app.command("register")
def register() -> None:
    """Register every schema under its subject with FULL_TRANSITIVE; print subject -> id."""
    from infra.bootstrap import schema_ids
    from schemas.registry import RegistryError

    try:
        ids = schema_ids(get_settings()).register_all()
    except RegistryError as exc:
        typer.echo(f"registration failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    for subject, schema_id in sorted(ids.items()):
        typer.echo(f"{subject} -> {schema_id}")


@app.command("check")
def check(
    offline: Annotated[bool, typer.Option("--offline", help="Skip the registry.")] = False,
) -> None:
    """Check every schema against all earlier versions (registry and git): FULL_TRANSITIVE."""
    problems = history_problems(SCHEMAS_DIR, REPO_ROOT)
    if not offline:
        problems += registry_problems()
    for problem in problems:
        typer.echo(f"INCOMPATIBLE {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("all schemas FULL_TRANSITIVE-compatible with their earlier versions")


def _load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def history_problems(root: Path, repo: Path) -> list[str]:
    """Each working-tree schema against every distinct committed version of the same file."""
    from schemas.compat import full_incompatibilities
    from schemas.history import earlier_versions

    problems = []
    for path in sorted(root.rglob("*.avsc")):
        current = _load(path)
        for version in earlier_versions(path, repo):
            for issue in full_incompatibilities(current, version.schema):
                rel = path.relative_to(repo) if path.is_relative_to(repo) else path
                problems.append(f"{rel} vs git {version.summary}: {issue}")
    return problems


def registry_problems(
    client: SchemaRegistryClient | None = None,
    topic_for: Callable[[type[Event]], str] | None = None,
) -> list[str]:
    """Each event schema against every version registered under its subject.

    The registry's verdict decides; the reason comes from our own checker run on the
    registered text, because the compatibility endpoint answers only yes or no.
    """
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    from schemas.compat import full_incompatibilities
    from schemas.registry import avro_schema, registry_client, subject_for

    settings = get_settings()
    client = client or registry_client(settings.schema_registry_url, timeout_s=5)
    topic_for = topic_for or settings.topics().for_event
    try:
        client.get_subjects()
    except Exception as exc:  # any failure to answer: fall back to the offline check only
        url = settings.schema_registry_url
        typer.echo(f"registry not reachable at {url} ({exc}); checked git history only")
        return []
    problems = []
    for cls in all_events():
        path = SCHEMAS_DIR / schema_file_of(cls)
        current = _load(path)
        subject = subject_for(topic_for(cls), record_name_of(cls))
        try:
            versions = client.get_versions(subject)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                continue  # a new subject: nothing registered to be compatible with
            raise
        for version in versions:
            if client.test_compatibility(subject, avro_schema(current), version=version):
                continue
            text = client.get_version(subject, version).schema.schema_str or "{}"
            reasons = [str(i) for i in full_incompatibilities(current, json.loads(text))]
            for reason in reasons or ["the registry's compatibility check says no"]:
                problems.append(f"schemas/{schema_file_of(cls)} vs {subject} v{version}: {reason}")
    return problems
