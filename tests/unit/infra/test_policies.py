"""Lab policies from a file: safe defaults, per-organization overrides, and typos refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from domains.shared.policy import LabPolicy
from infra.config.policies import PolicyFileError, load_policies


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policies.yaml"
    path.write_text(text)
    return path


def test_without_a_file_every_organization_gets_the_safe_defaults() -> None:
    assert load_policies(None).policy_for("any-lab") == LabPolicy()
    assert LabPolicy().allow_self_verification is False


def test_an_organization_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = write(tmp_path, "organizations:\n  lab-night:\n    allow_self_verification: true\n")
    policies = load_policies(path)
    assert policies.policy_for("lab-night").allow_self_verification is True
    assert policies.policy_for("lab-day").allow_self_verification is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("organizations:\n  lab-1:\n    allow_self_verificaton: true\n", "unknown policy key"),
        ("default:\n  allow_self_verification: 'yes'\n", "default.allow_self_verification"),
        ("organisations: {}\n", "expected the keys"),
        ("organizations:\n  lab-1: [1]\n", "organizations.lab-1 must be a mapping"),
        ("default:\n  critical_ack_sla_seconds: 0\n", "default.critical_ack_sla_seconds: must"),
    ],
)
def test_a_typo_or_a_wrong_type_is_refused_naming_the_place(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(PolicyFileError, match=message):
        load_policies(write(tmp_path, text))
