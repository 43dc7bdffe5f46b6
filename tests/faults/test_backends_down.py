"""Redis restarted during a batch (with and without its data), PostgreSQL connections dropped
and the PostgreSQL server restarted: every document still ends extracted, none lost, no field
stored twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.faults.conftest import PrivatePostgres, PrivateRedis, make_stack
from tests.faults.stack import Stack, scan_bytes, wait_until
from tests.service.conftest import CODES, PG_ADMIN_URL, REDIS_URL, Databases

pytestmark = pytest.mark.services


def _upload_batch(stack: Stack, count: int, marker: bytes) -> list[str]:
    files = [(f"doc{n}.png", scan_bytes(n, marker)) for n in range(count)]
    with stack.client(stack.admin_key()) as client:
        stack.upload(client, files)
    return [name for name, _ in files]


def _done(stack: Stack) -> int:
    return sum(1 for d in stack.documents().values() if d[0] == "extracted")


def _assert_all_extracted(stack: Stack, names: list[str]) -> None:
    counts = stack.counts()
    assert counts.by_status == {"extracted": len(names)}, stack.logs()
    assert {n: d[3] for n, d in stack.documents().items()} == dict.fromkeys(names, len(CODES))
    assert (counts.duplicated_fields, counts.duplicated_review_items) == (0, 0)


@pytest.mark.parametrize("down_seconds", [0, 3])
def test_redis_restart_during_a_batch(
    fault_databases: Databases, tmp_path: Path, private_redis: PrivateRedis, down_seconds: float
):
    stack = make_stack(fault_databases, tmp_path, redis_url=private_redis.url)
    try:
        stack.start_api()
        worker = stack.start_worker(concurrency=2)
        names = _upload_batch(stack, 12, b"DX-SLEEP:0.7")
        wait_until(lambda: _done(stack) >= 2, "the batch under way")
        private_redis.restart(down_seconds=down_seconds)  # append-only file: queued messages survive

        stack.wait_finished(timeout=120)
        _assert_all_extracted(stack, names)
        assert worker.poll() is None
    finally:
        stack.stop()


def test_redis_losing_its_data_is_recovered_by_the_sweeper(fault_databases: Databases, tmp_path: Path):
    """A Redis without persistence forgets the queue on restart; the database still knows what
    is unfinished, and the workers' sweeper sends it again, no person needed."""
    (tmp_path / "redis").mkdir()
    volatile = PrivateRedis(tmp_path / "redis", durable=False)
    volatile.start()
    try:
        stack = make_stack(fault_databases, tmp_path, redis_url=volatile.url)
        try:
            stack.start_api()
            stack.start_worker(concurrency=1)
            names = _upload_batch(stack, 10, b"DX-SLEEP:0.7")
            wait_until(lambda: _done(stack) >= 1, "the batch under way")
            volatile.restart()
            time.sleep(8)  # whatever was in flight finishes; the rest of the queue is gone
            stranded = stack.counts().unfinished()
            assert stranded > 0

            stack.wait_finished(timeout=180)  # lease and quiet time 60 s, a sweep every 30 s
            _assert_all_extracted(stack, names)
            assert sum(stack.resent().values()) >= stranded
        finally:
            stack.stop()
    finally:
        volatile.stop()


def test_documents_uploaded_while_redis_is_down_are_sent_when_it_is_back(
    fault_databases: Databases, tmp_path: Path, private_redis: PrivateRedis
):
    """The upload commits, the send fails (the API answers anyway); nobody runs `requeue`."""
    stack = make_stack(fault_databases, tmp_path, redis_url=private_redis.url)
    try:
        stack.start_api()
        key = stack.admin_key()
        stack.start_worker(concurrency=1)
        private_redis.stop()
        with stack.client(key) as client:
            stack.upload(client, [(f"doc{n}.png", scan_bytes(n)) for n in range(3)])
        assert stack.counts().by_status == {"queued": 3}
        private_redis.start()

        stack.wait_finished(timeout=180)
        _assert_all_extracted(stack, [f"doc{n}.png" for n in range(3)])
        assert stack.resent() == {f"doc{n}.png": 1 for n in range(3)}  # each sent once, by one sweep
    finally:
        stack.stop()


def test_postgres_connections_dropped_during_persistence(stack: Stack):
    stack.start_api()
    worker = stack.start_worker(concurrency=2)
    names = _upload_batch(stack, 12, b"DX-SLEEP:0.3")
    database = make_url(stack.database_url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    stop = threading.Event()
    terminated: list[int] = []

    def drop_connections() -> None:  # every connection of the service to its database, again and again
        with admin.connect() as connection:
            while not stop.is_set():
                killed = connection.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": database},
                ).scalar_one()
                terminated.append(killed)
                time.sleep(0.4)

    wait_until(lambda: _done(stack) >= 1, "the batch under way")
    dropper = threading.Thread(target=drop_connections)
    dropper.start()
    try:
        time.sleep(6)
    finally:
        stop.set()
        dropper.join()
        admin.dispose()
    assert sum(terminated) > 0

    stack.wait_finished(timeout=120)
    _assert_all_extracted(stack, names)
    assert worker.poll() is None


def test_postgres_restart_during_a_batch(tmp_path: Path, private_postgres: PrivatePostgres):
    (tmp_path / "logs").mkdir()
    stack = Stack(private_postgres.url, REDIS_URL, tmp_path / "storage", tmp_path / "logs")
    try:
        stack.start_api()
        worker = stack.start_worker(concurrency=2)
        names = _upload_batch(stack, 12, b"DX-SLEEP:0.7")
        wait_until(lambda: _done(stack) >= 2, "the batch under way")
        private_postgres.stop()  # every connection is cut; steps retry with backoff meanwhile
        time.sleep(4)
        private_postgres.start()

        stack.wait_finished(timeout=120)
        _assert_all_extracted(stack, names)
        assert worker.poll() is None
    finally:
        stack.stop()
        stack.clear_redis_keys()
