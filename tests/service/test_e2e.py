"""End to end through real processes: `docextract serve` (uvicorn), `docextract worker`
(Celery on the real Redis), PostgreSQL, the real OCR; `docextract upload` over HTTP, then the
results are pulled and compared with what `docextract extract` gives for the same files.

Two of the repository's samples always run (a few seconds of OCR each); the acceptance run over
all of ../shared/samples runs too in CI (CI set) or with DOCEXTRACT_ACCEPTANCE=1, when ../shared
is present.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import SAMPLES, SHARED_SAMPLES
from tests.service.conftest import REDIS_URL, Databases, services_missing

pytestmark = [pytest.mark.services, pytest.mark.ocr]

ROOT = Path(__file__).resolve().parents[2]
QUICK = [SAMPLES / "gk2008-photo.jpg", SAMPLES / "gk2021.pdf"]
ALL = sorted(SHARED_SAMPLES.glob("sample_*"))
ACCEPTANCE = bool(os.environ.get("CI") or os.environ.get("DOCEXTRACT_ACCEPTANCE"))
RUNS = [pytest.param(QUICK, id="quick")]
if ACCEPTANCE:
    RUNS.append(pytest.param(ALL, id="all-samples", marks=[pytest.mark.acceptance, pytest.mark.shared]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "docextract.cli_service", *args]


def _root_cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from docextract.cli import main; main()", *args]


class Stack:
    """API and worker processes on a fresh database and an isolated set of Redis keys."""

    def __init__(self, database_url: str, storage: Path, log_dir: Path) -> None:
        self.prefix = f"docextract-test-{uuid.uuid4().hex[:8]}:"
        self.env = os.environ | {
            "PYTHONPATH": str(ROOT),
            "DOCEXTRACT_DATABASE_URL": database_url,
            "DOCEXTRACT_BROKER_URL": REDIS_URL,
            "DOCEXTRACT_STORAGE_DIR": str(storage),
            "DOCEXTRACT_WORKER__BROKER_KEY_PREFIX": self.prefix,
        }
        self.log_dir = log_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []

    def start(self, *args: str, name: str) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(_command(*args), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            command,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=600,
        )

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"API did not start: {(self.log_dir / 'api.log').read_text()}")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{self.prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def stack(databases: Databases, tmp_path: Path) -> Iterator[Stack]:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:
        services_missing(f"Redis at {REDIS_URL} is not reachable: {exc}")
    stack = Stack(databases.create(), tmp_path / "storage", tmp_path)
    yield stack
    stack.stop()


@pytest.mark.parametrize("inputs", RUNS)
def test_upload_extract_pull_export(stack: Stack, tmp_path: Path, inputs: list[Path]):
    names = [scan.name for scan in inputs]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for scan in inputs:
        shutil.copy(scan, inbox / scan.name)
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")

    key = stack.run(*_command("keys", "create", "--role", "admin")).stdout.strip()
    stack.start("serve", "--port", str(stack.port), name="api")
    stack.start("worker", "--concurrency", "2", "--loglevel", "WARNING", name="worker")
    stack.wait_healthy()

    # `docextract extract` as a user runs it, on the same files, while the service works.
    cli_out = tmp_path / "cli"
    cli = subprocess.Popen(
        _root_cli("extract", *(str(inbox / n) for n in names), "--out", str(cli_out)),
        cwd=ROOT,
        env=stack.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    upload = stack.run(*_command("upload", str(inbox), "--api", stack.url, "--key", key))
    assert f"{len(names) + 1} files, {len(names) + 1} uploaded" in upload.stdout
    batch_id = int(upload.stdout.split("batch ", 1)[1].split(":", 1)[0])
    again = stack.run(*_command("upload", str(inbox), "--api", stack.url, "--key", key))
    assert f"0 uploaded, {len(names) + 1} already on the server" in again.stdout

    http = httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {key}"})
    deadline = time.monotonic() + 120 + 60 * len(names)
    while True:
        batch = http.get(f"/v1/batches/{batch_id}").json()
        if batch["finished"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert (batch["total"], batch["done"], batch["failed"]) == (len(names) + 1, len(names), 1), (
        tmp_path / "worker.log"
    ).read_text()[-3000:]
    assert batch["failures"][0]["filename"] == "broken.pdf"
    assert batch["failures"][0]["error"].startswith("corrupt PDF")
    status = stack.run(*_command("status", str(batch_id), "--api", stack.url, "--key", key), check=False)
    assert status.returncode == 1 and "broken.pdf" in status.stdout

    assert cli.wait(timeout=600) == 0, cli.stderr.read() if cli.stderr else ""
    documents = http.get("/v1/documents", params={"batch_id": batch_id, "limit": 100}).json()
    by_name = {d["filename"]: d for d in documents["documents"]}
    field_rows = 0
    for name in names:
        served = by_name[name]
        expected = json.loads((cli_out / f"{Path(name).stem}.json").read_text(encoding="utf-8"))
        assert served["status"] == expected["status"]
        result = served["result"]
        for part in ("schema_version", "source", "template", "report", "status"):
            assert result[part] == expected[part], (name, part)
        assert result["fields"] == expected["fields"], name
        field_rows += len(result["fields"])

    export = http.get("/v1/exports/fields.csv", params={"batch_id": batch_id})
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) == field_rows
    document_id = by_name[names[0]]["id"]
    page = http.get(f"/v1/documents/{document_id}/pages/1")
    assert page.status_code == 200 and page.content.startswith(b"\x89PNG")
