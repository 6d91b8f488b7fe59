"""The read-model processor: events -> operations -> one store call per batch
(``consumers.batch``). No inbox: every operation is idempotent by aggregate version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consumers.read_models.ops import Op, ReadModelStore, coalesce
from consumers.read_models.projection import AGGREGATES, project
from producers.topics import Topics

NAME = "read-models"


class ReadModelHandler:
    """A ``consumers.batch.BatchHandler``."""

    def __init__(self, topics: Topics, store: ReadModelStore, name: str = NAME) -> None:
        self.name = name
        self.topics: Sequence[str] = self.topics_of(topics)
        self.store = store

    @staticmethod
    def topics_of(topics: Topics) -> list[str]:
        return [topics.for_aggregate(a) for a in AGGREGATES]

    def prepare(self, schema_name: str, record: dict[str, Any]) -> list[Op]:
        return project(schema_name, record)

    def apply(self, prepared: Sequence[list[Op]]) -> None:
        self.store.apply(coalesce(op for ops in prepared for op in ops))
