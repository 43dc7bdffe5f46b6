"""The embedded worker: one thread in the API process runs the same steps, no broker needed.

For one user on one machine (`docextract serve --embedded`): documents are processed one at a
time in upload order; on start, documents left queued or processing by a previous run are
picked up again (their leases, of a process that is gone, forgotten first).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import select

from models.db import Document, DocumentStatus
from worker import jobs, lease
from worker.runtime import Runtime

log = logging.getLogger(__name__)

_STEPS = (("prepare", jobs.prepare), ("extract", jobs.extract), ("persist", jobs.persist))


def run_document(rt: Runtime, document_id: int, sleep: Callable[[float], None] = time.sleep) -> None:
    """All steps of one document with the retry policy of `worker.tasks`."""
    for name, step in _STEPS:
        transient = 0
        while True:
            try:
                step(rt, document_id)
                break
            except jobs.TRANSIENT_ERRORS:
                transient += 1
                if transient > rt.worker.max_transient_retries:
                    log.exception("document %s: giving up for now; left queued", document_id)
                    return
                sleep(min(2.0**transient, rt.worker.retry_backoff_max))
            except Exception as exc:
                if name != "extract":
                    jobs.fail_after_bug(rt, name, document_id, exc)
                    return
                delay = jobs.retry_delay_after_crash(rt, document_id, exc)
                if delay is None:
                    return
                sleep(delay)


class EmbeddedWorker:
    """A dispatcher whose queue is in memory and whose worker is a daemon thread."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def enqueue(self, document_ids: Sequence[int]) -> None:
        for document_id in document_ids:
            self._queue.put(document_id)

    def start(self) -> None:
        with self.runtime.session_factory.begin() as session:
            lease.release_all(session)  # this thread is the database's only worker: none is alive
            unfinished = session.scalars(
                select(Document.id)
                .where(Document.status.in_([DocumentStatus.queued, DocumentStatus.processing]))
                .order_by(Document.id)
            ).all()
        self.enqueue(unfinished)
        # A new thread each time: an app's lifespan may run again (test clients, fuzzers).
        self._thread = threading.Thread(target=self._run, name="docextract-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def join(self) -> None:
        """Wait until every enqueued document is done (tests)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            document_id = self._queue.get()
            try:
                if document_id is None:
                    return
                run_document(self.runtime, document_id)
            except Exception:  # the thread must outlive any one document
                log.exception("document %s: embedded worker error", document_id)
            finally:
                self._queue.task_done()
