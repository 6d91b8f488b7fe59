"""The invalid-input cases of the unit suite again, on real Postgres: each is refused with the
field named, and not one row anywhere (aggregates, outbox, command log) changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from domains.shared.bus import MessageBus
from domains.shared.errors import InvalidInput
from infra.bootstrap import bootstrap
from infra.config.settings import Settings
from tests.unit.domains.test_invalid_input import CASES, Build
from tests.unit.domains.test_invalid_input import flow as unit_flow
from tests.unit.fakes import FakeApp

pytestmark = pytest.mark.integration
TABLES = (
    "patients",
    "orders",
    "samples",
    "results",
    "reports",
    "outbox",
    "command_log",
    "mrn_counters",
    "accession_counters",
)
flow = unit_flow  # the same set-up: a critical result, a signed report, a fresh sample


class PostgresApp(FakeApp):
    """The unit suite's app with the real bus: fakes replaced by Postgres-backed adapters."""

    def __init__(self, bus: MessageBus) -> None:
        super().__init__()
        self.bus = bus


@pytest.fixture
def app(postgres: Settings, fresh_database_url: str, engine: Engine) -> PostgresApp:
    settings = postgres.model_copy(update={"database_url": fresh_database_url})
    return PostgresApp(bootstrap(settings, engine=engine))


def _fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every row, per table."""
    with engine.connect() as conn:
        return {
            table: tuple(
                conn.execute(
                    text(
                        "SELECT count(*),"
                        " coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"
                        f" FROM {table} t"
                    )
                ).one()
            )  # type: ignore[misc]
            for table in TABLES
        }


@pytest.mark.parametrize(
    ("build", "field"), [(b, f) for _, b, f in CASES], ids=[name for name, _, _ in CASES]
)
def test_invalid_input_is_refused_and_leaves_postgres_untouched(
    app: PostgresApp,
    flow: dict[str, Any],
    engine: Engine,
    build: Build,
    field: str,
) -> None:
    before = _fingerprint(engine)
    with pytest.raises(InvalidInput) as err:
        app.handle(build(app, flow))
    assert err.value.field == field
    assert _fingerprint(engine) == before
