"""Real service processes for fault and hostile-input tests: the API (`docextract serve`),
workers (the scripted one, or the real `docextract worker`), on a fresh PostgreSQL database
and Redis keys of their own. Workers run in their own process group so that a test can
`kill -9` one whole (main process and pool) or one pool process, as a crash would.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from PIL import Image, ImageDraw
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def scan_bytes(n: int, marker: bytes = b"") -> bytes:
    """A small distinct PNG page (the number drawn on it), with a marker after its data."""
    image = Image.new("L", (600, 800), 255)
    ImageDraw.Draw(image).text((50, 50 + (n % 700)), f"document {n}", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue() + marker + b"#%d" % n


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


@dataclass
class Counts:
    """What the database says about every document uploaded."""

    by_status: dict[str, int]
    duplicated_fields: int  # (document, code) pairs stored more than once
    duplicated_review_items: int
    documents: int

    def unfinished(self) -> int:
        return sum(n for s, n in self.by_status.items() if s in ("queued", "processing"))


class Stack:
    def __init__(self, database_url: str, redis_url: str, storage: Path, log_dir: Path, **env: str) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.prefix = f"docextract-test-{uuid.uuid4().hex[:8]}:"
        self.env = (
            os.environ
            | {
                "PYTHONPATH": str(ROOT),
                "DOCEXTRACT_DATABASE_URL": database_url,
                "DOCEXTRACT_BROKER_URL": redis_url,
                "DOCEXTRACT_STORAGE_DIR": str(storage),
                "DOCEXTRACT_WORKER__BROKER_KEY_PREFIX": self.prefix,
                "DOCEXTRACT_WORKER__RETRY_BACKOFF_MAX": "4",
            }
            | env
        )
        self.log_dir = log_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []
        self.engine = create_engine(database_url, pool_pre_ping=True)  # survives the tests dropping connections
        self._logs = 0

    # -- processes ----------------------------------------------------------------------------
    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        self._logs += 1
        log = (self.log_dir / f"{self._logs:02d}-{name}.log").open("wb")
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "docextract.cli_service", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start_api(self) -> None:
        self._spawn([sys.executable, "-m", "docextract.cli_service", "serve", "--port", str(self.port)], "api")
        wait_until(self._healthy, "the API", timeout=60)

    def start_worker(self, concurrency: int = 1, scripted: bool = True) -> subprocess.Popen:
        module = "tests.faults.scripted_worker" if scripted else "docextract.cli_service"
        args = [sys.executable, "-m", module] + ([] if scripted else ["worker"])
        args += ["--concurrency", str(concurrency), "--loglevel", "INFO"]
        process = self._spawn(args, "worker")
        wait_until(lambda: len(children(process.pid)) >= concurrency, "worker pool processes", timeout=120)
        return process

    def kill_group(self, process: subprocess.Popen) -> None:
        """kill -9 of a worker: its main process and every pool process, no clean-up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.engine.dispose()

    def clear_redis_keys(self) -> None:
        try:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
            keys = list(client.scan_iter(match=f"{self.prefix}*"))
            if keys:
                client.delete(*keys)
        except redis.RedisError:
            pass

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-tail:]}" for p in sorted(self.log_dir.glob("*.log"))
        )

    # -- API ----------------------------------------------------------------------------------
    def admin_key(self) -> str:
        created = self.cli("keys", "create", "--role", "admin")
        assert created.returncode == 0, created.stderr
        return created.stdout.strip()

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def upload(self, client: httpx.Client, files: list[tuple[str, bytes]], batch_id: int | None = None) -> dict:
        params = {"batch_id": batch_id} if batch_id else {}
        response = client.post("/v1/documents", files=[("files", f) for f in files], params=params)
        assert response.status_code == 202, response.text
        return response.json()

    # -- database -----------------------------------------------------------------------------
    def counts(self) -> Counts:
        with self.engine.connect() as connection:
            by_status = dict(connection.execute(text("SELECT status, count(*) FROM documents GROUP BY status")).all())
            duplicated_fields = connection.scalar(
                text(
                    "SELECT count(*) FROM (SELECT document_id, code FROM fields "
                    "GROUP BY document_id, code HAVING count(*) > 1) d"
                )
            )
            duplicated_items = connection.scalar(
                text("SELECT count(*) FROM (SELECT field_id FROM review_items GROUP BY field_id HAVING count(*) > 1) d")
            )
            documents = connection.scalar(text("SELECT count(*) FROM documents"))
        return Counts(by_status, duplicated_fields, duplicated_items, documents)

    def documents(self) -> dict[str, tuple[str, str | None, int, int]]:
        """filename → (status, error, attempts, field rows)."""
        query = text(
            "SELECT d.filename, d.status, d.error, d.attempts, (SELECT count(*) FROM fields f "
            "WHERE f.document_id = d.id) FROM documents d"
        )
        with self.engine.connect() as connection:
            return {row[0]: tuple(row[1:]) for row in connection.execute(query).all()}

    def resent(self) -> dict[str, int]:
        """filename → times the sweeper sent the document again."""
        with self.engine.connect() as connection:
            return dict(connection.execute(text("SELECT filename, resent FROM documents")).all())

    def starts(self, log: Path) -> dict[str, list[tuple[int, float, float | None]]]:
        """filename → (pid, start, end or None) of each extraction the scripted worker began
        (its DX_TEST_STARTS_LOG), in start order."""
        with self.engine.connect() as connection:
            names = dict(connection.execute(text("SELECT sha256, filename FROM documents")).all())
        runs: dict[str, list[tuple[int, float, float | None]]] = {}
        lines = log.read_text().split() if log.exists() else []
        for event, sha256, pid, at in zip(lines[::4], lines[1::4], lines[2::4], lines[3::4], strict=True):
            name = names[sha256]
            if event == "start":
                runs.setdefault(name, []).append((int(pid), float(at), None))
            else:  # the end of that process's open run of this document
                open_runs = [i for i, r in enumerate(runs[name]) if r[0] == int(pid) and r[2] is None]
                i = open_runs[-1]
                runs[name][i] = (runs[name][i][0], runs[name][i][1], float(at))
        return runs

    def wait_finished(self, timeout: float = 120) -> Counts:
        wait_until(lambda: self.counts().unfinished() == 0, "every document to finish", timeout=timeout, every=0.5)
        return self.counts()
