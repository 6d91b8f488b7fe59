"""Lab policies from a YAML file (``LIS_LAB_POLICY_FILE``); without one, the safe defaults.

    default:                      # every organization, unless it says otherwise
      allow_self_verification: false
    organizations:
      lab-night:                  # only what differs from the default
        allow_self_verification: true

A key that is not a policy, or a value of the wrong type, stops the process with the file, the
organization and the key: a typo must never silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from domains.shared.policy import LabPolicy, StaticPolicies

_FIELDS = {f.name for f in dataclasses.fields(LabPolicy)}
# The same fields, checked strictly: "yes" is not a boolean here, and 15 is not "15".
_HINTS = typing.get_type_hints(LabPolicy)
_STRICT: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "LabPolicyFile",
    __config__=ConfigDict(strict=True, extra="forbid"),
    **{name: (_HINTS[name], ...) for name in _FIELDS},
)


class PolicyFileError(ValueError):
    """The policy file cannot be used; the message names the file, organization and key."""


def load_policies(path: Path | None) -> StaticPolicies:
    if path is None:
        return StaticPolicies()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyFileError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict) or set(raw) - {"default", "organizations"}:
        raise PolicyFileError(f"{path}: expected the keys 'default' and 'organizations'")
    default = _policy(path, "default", raw.get("default") or {}, LabPolicy())
    organizations = {
        str(org): _policy(path, f"organizations.{org}", values or {}, default)
        for org, values in (raw.get("organizations") or {}).items()
    }
    return StaticPolicies(default, organizations)


def _policy(path: Path, where: str, values: Any, base: LabPolicy) -> LabPolicy:
    if not isinstance(values, dict):
        raise PolicyFileError(f"{path}: {where} must be a mapping of policy keys")
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise PolicyFileError(f"{path}: {where}: unknown policy key(s) {', '.join(unknown)}")
    merged = {**dataclasses.asdict(base), **values}
    try:
        return LabPolicy(**_STRICT.model_validate(merged).model_dump())
    except ValidationError as exc:
        problem = exc.errors()[0]
        key = ".".join(str(p) for p in problem["loc"])
        raise PolicyFileError(f"{path}: {where}.{key}: {problem['msg']}") from exc
    except ValueError as exc:  # a rule of LabPolicy itself (a time zone, an SLA of 0 s)
        raise PolicyFileError(f"{path}: {where}.{exc}") from exc
