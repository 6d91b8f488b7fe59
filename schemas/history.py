"""Earlier committed versions of a schema file, read from git (no registry needed).

This is what lets ``lis schemas check`` run in CI before anything is registered: the git history
of a ``.avsc`` file is the list of versions consumers may have seen.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Version:
    rev: str  # commit hash
    summary: str  # "<short hash> <date> <subject>" for messages
    schema: dict[str, Any]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def earlier_versions(path: Path, repo: Path) -> list[Version]:
    """Each distinct committed content of ``path`` (newest first); [] outside git history."""
    rel = path.resolve().relative_to(repo.resolve()).as_posix()
    try:
        log = _git(repo, "log", "--format=%H%x09%h %cs %s", "--", rel)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return []  # not a git checkout, or git missing: nothing to compare with
    versions, seen = [], set()
    for line in log.splitlines():
        rev, summary = line.split("\t", 1)
        try:
            text = _git(repo, "show", f"{rev}:{rel}")
        except subprocess.CalledProcessError:
            continue  # the commit deleted the file
        if text in seen:
            continue
        seen.add(text)
        try:
            schema = json.loads(text)
        except ValueError:
            continue  # a broken commit can't have been registered or read by anyone
        versions.append(Version(rev, summary, schema))
    return versions
