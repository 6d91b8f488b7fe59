"""The small error hierarchy every domain raises; the API and CLI map each kind to one answer."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a command can end in."""

    code = "domain_error"

    def details(self) -> dict[str, str]:
        """What the caller needs beyond the message (the API adds it to the problem details),
        e.g. the chart a duplicate registration points at. Never PHI."""
        return {}


class InvalidInput(DomainError):
    """A command field fails validation (HTTP 422)."""

    code = "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(DomainError):
    """The aggregate the command names does not exist in this organization (HTTP 404)."""

    code = "not_found"

    def __init__(self, aggregate_type: str, aggregate_id: str) -> None:
        super().__init__(f"{aggregate_type} {aggregate_id} not found")
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id


class Conflict(DomainError):
    """The command clashes with existing state, e.g. a duplicate patient (HTTP 409)."""

    code = "conflict"


class IllegalTransition(Conflict):
    """A state machine refused a transition (HTTP 409)."""

    code = "illegal_transition"

    def __init__(self, aggregate_type: str, state: str, action: str) -> None:
        super().__init__(f"{aggregate_type} in state {state} cannot {action}")
        self.aggregate_type = aggregate_type
        self.state = state
        self.action = action


class ConcurrencyConflict(Conflict):
    """Another writer saved the aggregate first (optimistic concurrency; HTTP 409)."""

    code = "concurrency_conflict"

    def __init__(self, aggregate_type: str, aggregate_id: str, expected_version: int) -> None:
        super().__init__(
            f"{aggregate_type} {aggregate_id} changed concurrently "
            f"(expected version {expected_version}); reload and retry"
        )
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version


class PermissionDenied(DomainError):
    """The acting user may not do this (e.g. verify their own result; HTTP 403)."""

    code = "permission_denied"
