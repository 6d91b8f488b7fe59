"""What ``lis demo`` adds for the interfaces: the MLLP listener and the FHIR documents worker as
processes of their own, the partners registered, then what was exchanged and where a report's
FHIR bundle is served."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from domains.shared.clock import SystemClock
from infra.config.settings import Settings
from infra.db.engine import make_engine
from infra.fhir.documents import FhirDocumentStore
from infra.hl7.store import InterfaceStore
from infra.simulation.interop import Interfaces


@contextmanager
def interfaces_running(
    settings: Settings, org: str, port: int, console: Console
) -> Iterator[Interfaces]:
    lis = shutil.which("lis") or str(Path(sys.executable).with_name("lis"))
    log_dir = settings.stack_home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    interfaces = Interfaces("127.0.0.1", port, InterfaceStore(engine), SystemClock())
    interfaces.register_partners(org)
    procs = [
        subprocess.Popen([lis, *args], stdout=(log_dir / log).open("ab"), stderr=subprocess.STDOUT)
        for args, log in (
            (["hl7", "listen", "--port", str(port)], "hl7-listen.log"),
            (["worker", "fhir-documents"], "fhir-documents.log"),
        )
    ]
    console.print(f"MLLP listener on 127.0.0.1:{port}, FHIR documents worker (logs: {log_dir})")
    try:
        _wait_for_port(port)
        yield interfaces
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        engine.dispose()


def print_exchanges(console: Console, interfaces: Interfaces, settings: Settings, org: str) -> None:
    console.rule("HL7 v2.5.1 over MLLP (one of each kind)")
    for kind in ("OML^O21", "ORU^R01"):
        first = next((m for m, _ in interfaces.exchanged if f"|{kind}^" in m), None)
        if first:
            console.print(first.replace("\r", "\n"), markup=False, highlight=False)
            console.print("")
    counts = ", ".join(f"{n} {k}" for k, n in interfaces.counts.items())
    console.print(f"messages answered AA: {counts}")
    store = FhirDocumentStore(make_engine(settings.database_url))
    deadline = time.monotonic() + 60
    bundles = store.all_bundles(org)
    while not bundles and time.monotonic() < deadline:
        time.sleep(1)
        bundles = store.all_bundles(org)
    console.rule("FHIR R4 documents")
    if not bundles:
        console.print("no FHIR bundle stored yet (see fhir-documents.log)")
        return
    report_id = next(
        e["resource"]["id"] for e in bundles[-1]["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    )  # fmt: skip
    console.print(f"{len(bundles)} signed report versions as FHIR document bundles")
    console.print(f"one of them: GET /fhir/Bundle/{report_id}?_format=json")
    console.print(f"             GET /fhir/DiagnosticReport/{report_id}")


def _wait_for_port(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the MLLP listener did not open port {port}")
