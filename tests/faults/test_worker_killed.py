"""kill -9 of a worker in the middle of a document, a document slower than every timeout, and
a poison document, all with the service's default settings: each ends with every document
extracted or failed with a reason, none lost, none run twice at once, no field stored twice."""

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


def test_whole_worker_killed_resumes_within_minutes_with_the_default_settings(
    fault_databases: Databases, tmp_path: Path
):
    """What a user sees: default settings (4 h visibility timeout), the only worker killed -9
    mid-document, a new one started 2 s later: its lease runs out (60 s) and a sweep (30 s)
    sends it again (60-110 s after the kill: the lease's 60 s, a sweep within 30 s, the step
    the worker has in hand), ahead of the queue still waiting (20 documents of 6 s: longer
    than that, shorter than the 3 minutes all must finish in); no person, no `requeue`."""
    starts = tmp_path / "starts.log"
    stack = make_stack(fault_databases, tmp_path, DX_TEST_STARTS_LOG=str(starts))
    try:
        stack.start_api()
        worker = stack.start_worker(concurrency=1)
        files = [(f"doc{n:02d}.png", scan_bytes(n, b"DX-SLEEP:6")) for n in range(20)]
        with stack.client(stack.admin_key()) as client:
            stack.upload(client, files)
        wait_until(lambda: "processing" in {d[0] for d in stack.documents().values()}, "a document in extraction")
        (interrupted,) = [n for n, d in stack.documents().items() if d[0] == "processing"]
        stack.kill_group(worker)
        killed_at = time.time()
        time.sleep(2)
        stack.start_worker(concurrency=1)

        counts = stack.wait_finished(timeout=180 - (time.time() - killed_at))
        done_within = time.time() - killed_at
        documents, runs = stack.documents(), stack.starts(starts)
        assert counts.by_status == {"extracted": 20}, stack.logs()
        assert {n: d[3] for n, d in documents.items()} == {n: len(CODES) for n, _ in files}
        assert (counts.duplicated_fields, counts.duplicated_review_items) == (0, 0)
        # The interrupted document ran again within 2 minutes of the kill, once; the others once.
        assert runs[interrupted][0][2] is None  # killed mid-extraction
        assert len(runs[interrupted]) == 2
        rerun_at = runs[interrupted][1][1]
        assert rerun_at - killed_at < 120
        assert {n: len(r) for n, r in runs.items() if n != interrupted} == {n: 1 for n, _ in files if n != interrupted}
        # Sent again ahead of the queue: documents uploaded before the kill started after it.
        assert max(r[0][1] for n, r in runs.items() if n != interrupted) > rerun_at
        assert stack.resent()[interrupted] == 1 and documents[interrupted][2] == 2  # sent again, 2 attempts
        print(f"kill -> running again {rerun_at - killed_at:.0f} s, -> all done {done_within:.0f} s")
    finally:
        stack.stop()
        stack.clear_redis_keys()


def test_a_document_slower_than_every_timeout_runs_once(fault_databases: Databases, tmp_path: Path):
    """150 s of extraction: longer than the lease (60 s) plus a sweep (30 s) several times
    over, with an idle second process, and the document's chain sent a second time while it
    runs (as a redelivery would): it is started once and extracted once."""
    starts = tmp_path / "starts.log"
    stack = make_stack(fault_databases, tmp_path, DX_TEST_STARTS_LOG=str(starts))
    try:
        stack.start_api()
        stack.start_worker(concurrency=2)
        with stack.client(stack.admin_key()) as client:
            stack.upload(client, [("slow.png", scan_bytes(0, b"DX-SLEEP:150"))])
        _wait_processing(stack, "slow.png")
        time.sleep(20)
        resent = stack.cli("requeue", "--stale-minutes", "0")
        assert resent.stdout.strip() == "1 documents sent", resent.stderr

        stack.wait_finished(timeout=240)
        runs = stack.starts(starts)["slow.png"]
        assert len(runs) == 1 and runs[0][2] - runs[0][1] >= 150, runs
        assert stack.documents()["slow.png"] == ("extracted", None, 1, len(CODES))
        assert stack.resent()["slow.png"] == 0  # the sweeper never took it for a dead worker's
        assert "leased by" in stack.logs(tail=100_000)  # the second delivery found it held, and stopped
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
