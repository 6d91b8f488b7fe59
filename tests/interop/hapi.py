"""The field's own validators, driven from the tests: the Maven module in interop/validator
(HAPI FHIR instance validator, R4 core; HAPI HL7v2, v2.5.1) is built once and started once per
test session; each test hands it what it produced and reads back every issue."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "interop" / "validator"
JAR = MODULE / "target" / "interop-validator.jar"


@dataclass(frozen=True)
class Checked:
    name: str
    kind: str
    errors: int
    issues: list[dict[str, str]]

    def error_lines(self) -> list[str]:
        return [
            f"{self.name} {i['location']}: {i['message']}"
            for i in self.issues
            if i["severity"] in ("error", "fatal")
        ]


def tools_missing() -> str | None:
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def build() -> None:
    sources = [p for p in MODULE.rglob("*") if p.is_file() and "target" not in p.parts]
    if JAR.exists() and JAR.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return
    subprocess.run(["mvn", "-q", "-B", "-f", str(MODULE / "pom.xml"), "package"], check=True)


class HapiValidator:
    """One JVM answering folder after folder (``--serve``); modest heap, serial GC (2 cores)."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            ["java", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar",
             str(JAR), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
        )  # fmt: skip
        self._lock = threading.Lock()
        self.log: list[Checked] = []

    def validate(self, items: dict[str, str]) -> list[Checked]:
        """``items``: file name (``*.json`` FHIR, ``*.hl7`` HL7 v2) -> content."""
        with self._lock, tempfile.TemporaryDirectory(prefix="hapi-") as folder:
            for name, content in items.items():
                (Path(folder) / name).write_text(content, encoding="utf-8")
            assert self._proc.stdin is not None
            assert self._proc.stdout is not None
            self._proc.stdin.write(folder + "\n")
            self._proc.stdin.flush()
            found: list[Checked] = []
            while True:
                line = self._proc.stdout.readline()
                if not line:
                    raise RuntimeError("the validator JVM exited")
                record: dict[str, Any] = json.loads(line)
                if record.get("summary"):
                    break
                found.append(
                    Checked(
                        Path(record["file"]).name,
                        record["kind"],
                        int(record["errors"]),
                        record["issues"],
                    )
                )
        self.log += found
        return found

    def assert_valid(self, items: dict[str, str]) -> list[Checked]:
        checked = self.validate(items)
        assert len(checked) == len(items)
        errors = [line for c in checked for line in c.error_lines()]
        assert errors == [], "\n".join(errors)
        return checked

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
