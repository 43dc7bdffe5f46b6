"""Fixtures of the fault tests: a service stack per test on a fresh database, and a private
Redis that a test may restart (the machine's Redis is shared and is never touched)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from models.migrations import upgrade
from tests.faults.stack import Stack, free_port, wait_until
from tests.service.conftest import REDIS_URL, Databases, services_missing


@pytest.fixture(scope="session")
def fault_databases() -> Iterator[Databases]:
    databases = Databases()
    yield databases
    databases.drop_all()


class PrivateRedis:
    """redis-server on a free port, data in a temporary directory; `restart` keeps the port."""

    def __init__(self, directory: Path, durable: bool = True) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.durable = durable
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._up, "redis-server", timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def restart(self, down_seconds: float = 0) -> None:
        import time

        self.stop()
        time.sleep(down_seconds)
        self.start()

    def _up(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        services_missing("redis-server is not installed")
    (tmp_path / "redis").mkdir()
    server = PrivateRedis(tmp_path / "redis")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def make_stack(databases: Databases, tmp_path: Path, redis_url: str = REDIS_URL, **env: str) -> Stack:
    try:
        redis.Redis.from_url(redis_url).ping()
    except redis.ConnectionError as exc:
        services_missing(f"Redis at {redis_url} is not reachable: {exc}")
    (tmp_path / "logs").mkdir(exist_ok=True)
    return Stack(databases.create(), redis_url, tmp_path / "storage", tmp_path / "logs", **env)


@pytest.fixture
def stack(fault_databases: Databases, tmp_path: Path) -> Iterator[Stack]:
    stack = make_stack(fault_databases, tmp_path)
    yield stack
    stack.stop()
    stack.clear_redis_keys()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb + pg_ctl), so that it can be restarted
    without touching the machine's; run as the `postgres` user when the tests run as root."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="docextract-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.directory, "postgres")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/docextract"

    def _run(self, program: str, *args: str) -> None:
        command = [*self.as_postgres, str(postgres_bin() / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "docextract")
        upgrade(self.url)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory}"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def postgres_bin() -> Path:
    """Where initdb and pg_ctl are: on the PATH, or Debian's versioned directory."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent  # a link to the versioned directory, as a rule
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else Path("/nonexistent")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if not (postgres_bin() / "initdb").is_file():
        services_missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = PrivatePostgres()
    try:
        server.init()
        yield server
    finally:
        server.remove()
