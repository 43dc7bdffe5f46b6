"""kill -9 of a worker in the middle of a document, and a poison document: each ends with
every document extracted or failed with a reason, none lost, no field stored twice."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.conftest import make_stack
from tests.faults.stack import Stack, children, scan_bytes, wait_until
from tests.service.conftest import CODES, Databases

pytestmark = pytest.mark.services
VISIBILITY_TIMEOUT = 6  # seconds; 4 h in the service


def _wait_processing(stack: Stack, filename: str) -> None:
    wait_until(lambda: stack.documents().get(filename, ("",))[0] == "processing", f"{filename} in extraction")


def test_pool_process_killed_mid_document_is_redelivered(stack: Stack):
    stack.start_api()
    worker = stack.start_worker(concurrency=1)
    files = [("slow.png", scan_bytes(0, b"DX-SLEEP:5"))] + [(f"doc{n}.png", scan_bytes(n)) for n in range(1, 5)]
    with stack.client(stack.admin_key()) as client:
        stack.upload(client, files)
    _wait_processing(stack, "slow.png")
    (pool_process,) = children(worker.pid)
    os.kill(pool_process, signal.SIGKILL)

    counts = stack.wait_finished(timeout=90)
    documents = stack.documents()
    assert counts.by_status == {"extracted": 5}, stack.logs()
    assert documents["slow.png"] == ("extracted", None, 2, len(CODES))  # one killed delivery, one good
    assert {n: d[3] for n, d in documents.items()} == {n: len(CODES) for n, _ in files}
    assert (counts.duplicated_fields, counts.duplicated_review_items) == (0, 0)
    assert worker.poll() is None  # the worker replaced its pool process and went on


def test_whole_worker_killed_then_restarted_loses_nothing(fault_databases: Databases, tmp_path: Path):
    # Redis hands an unacknowledged message to another consumer after the visibility timeout.
    stack = make_stack(fault_databases, tmp_path, DOCEXTRACT_WORKER__VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
    try:
        stack.start_api()
        worker = stack.start_worker(concurrency=2)
        files = [(f"doc{n}.png", scan_bytes(n, b"DX-SLEEP:1.5")) for n in range(8)]
        with stack.client(stack.admin_key()) as client:
            stack.upload(client, files)
        wait_until(lambda: "processing" in {d[0] for d in stack.documents().values()}, "a document in extraction")
        stack.kill_group(worker)
        # A worker looks for overdue unacknowledged messages when it starts (then about every
        # 100 s): the replacement comes up once the dead worker's messages are overdue.
        time.sleep(VISIBILITY_TIMEOUT + 1)
        stack.start_worker(concurrency=2)

        counts = stack.wait_finished(timeout=120)
        documents = stack.documents()
        assert counts.by_status == {"extracted": 8}, stack.logs()
        assert {n: d[3] for n, d in documents.items()} == {n: len(CODES) for n, _ in files}
        assert max(d[2] for d in documents.values()) >= 2  # the interrupted one ran again
        assert (counts.duplicated_fields, counts.duplicated_review_items) == (0, 0)
    finally:
        stack.stop()
        stack.clear_redis_keys()


def test_poison_documents_fail_after_bounded_attempts_and_the_queue_goes_on(stack: Stack):
    stack.start_api()
    worker = stack.start_worker(concurrency=1)
    files = [
        ("first.png", scan_bytes(1)),
        ("kills-worker.png", scan_bytes(2, b"DX-POISON-KILL")),
        ("raises.png", scan_bytes(3, b"DX-POISON-RAISE")),
        ("last.png", scan_bytes(4)),
    ]
    with stack.client(stack.admin_key()) as client:
        stack.upload(client, files)

    counts = stack.wait_finished(timeout=120)
    documents = stack.documents()
    assert documents["first.png"] == ("extracted", None, 1, len(CODES))
    assert documents["last.png"] == ("extracted", None, 1, len(CODES))
    assert documents["kills-worker.png"] == (
        "failed",
        "gave up after 3 attempts: the worker process was lost",
        3,
        0,
    )
    assert documents["raises.png"] == (
        "failed",
        "PoisonError: this document always crashes the extractor",
        3,
        0,
    )
    assert (counts.documents, counts.duplicated_fields) == (4, 0)
    assert worker.poll() is None
