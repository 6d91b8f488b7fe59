"""Aggregate base: identity, tenant, optimistic version and the events it has recorded."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from domains.shared.errors import IllegalTransition
from domains.shared.messages import Event

Transitions = dict[str, frozenset[str]]


def check_transition(
    transitions: Transitions, kind: str, state: str, new_state: str, action: str
) -> None:
    """The one transition-table check: every state machine (aggregates, and the small ones
    inside them such as a critical value episode) refuses through here with a named error."""
    if new_state not in transitions.get(state, frozenset()):
        raise IllegalTransition(kind, state, action)


class Aggregate:
    """An aggregate records its own events; the unit of work collects and publishes them.

    ``version`` is the number of events the aggregate has ever published: 0 when new, and each
    recorded event takes the next number (its ``aggregate_version``). The repository saves with
    ``WHERE version = <version when loaded>`` so a concurrent writer is caught.

    Persistence is generic: ``snapshot()`` gives a JSON-able dict of the whole state and
    ``restore()`` rebuilds the aggregate from it. ``lookup_fields`` names the snapshot keys the
    repository keeps as indexed columns, so that ``find_by`` / ``list_by`` can query them.
    """

    aggregate_type: ClassVar[str]
    lookup_fields: ClassVar[tuple[str, ...]] = ()
    # state -> states reachable from it; subclasses fill it in (an explicit transition table).
    transitions: ClassVar[Transitions] = {}

    def __init__(self, *, id: str, organization_id: str, status: str, version: int = 0) -> None:
        self.id = id
        self.organization_id = organization_id
        self.status = status
        self.version = version
        self.pending_events: list[Event] = []

    def _record(self, event: Event) -> None:
        self.pending_events.append(event)

    def _check_can_move_to(self, new_status: str, action: str) -> None:
        """Refuse early, before other checks, when the table forbids the move anyway."""
        check_transition(self.transitions, self.aggregate_type, self.status, new_status, action)

    def _move_to(self, new_status: str, action: str) -> None:
        """Change state through the transition table, or raise a named error."""
        self._check_can_move_to(new_status, action)
        self.status = new_status

    def snapshot(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def restore(cls, snapshot: dict[str, Any], *, version: int) -> Self:
        raise NotImplementedError
