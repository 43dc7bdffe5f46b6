"""Celery tasks: thin wrappers over `worker.jobs`, one per step, each taking a document id.

A document is the chain prepare → extract → persist (`document_chain`). Retries:
- database or broker connection errors are transient: retried with exponential backoff;
- unreadable input (InputError) is the document's fault: it fails at once, never retried;
- any other error in extract is retried with backoff until the document has used
  `max_attempts` deliveries, then the document fails (a poison document cannot loop; a
  process killed mid-task is redelivered, `task_reject_on_worker_lost`, and counted too);
- other errors in prepare or persist are bugs that a retry will not mend: the document fails.
A step that finds its document finished, failed or leased by another worker (`worker.lease`)
ends the chain there. Each worker's main process also runs the sweeper (`worker.sweeping`).
"""

from __future__ import annotations

import kombu.exceptions
import redis.exceptions
from celery import Task, chain
from celery.signals import worker_process_init

from worker import jobs
from worker.celery_app import WORKER_PUBLISH_RETRY_POLICY, app
from worker.config import get_worker_settings
from worker.runtime import get_runtime

TRANSIENT_ERRORS = (
    *jobs.TRANSIENT_ERRORS,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
)

_settings = get_worker_settings()
_retry_policy = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": _settings.retry_backoff_max,
    "retry_jitter": True,
    "max_retries": _settings.max_transient_retries,
}


@worker_process_init.connect
def _load_models(**_: object) -> None:
    """Load the OCR models once per process, before its first task rather than during it."""
    app.conf.task_publish_retry_policy = WORKER_PUBLISH_RETRY_POLICY  # next steps outlast a Redis restart
    runtime = get_runtime()
    runtime.forget_inherited_connections()
    try:
        import cv2

        cv2.setNumThreads(runtime.settings.ocr.threads)  # OpenCV shares the thread budget
    except ImportError:  # pragma: no cover - cv2 is a pipeline dependency
        pass
    runtime.extractor()


def _end_chain(task: Task) -> None:
    """Send no next step: the document is finished, failed, or another worker holds it."""
    task.request.chain = None


@app.task(name="docextract.prepare", bind=True, **_retry_policy)
def prepare_pages(self: Task, document_id: int) -> None:
    try:
        if not jobs.prepare(get_runtime(), document_id):
            _end_chain(self)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        jobs.fail_after_bug(get_runtime(), "prepare", document_id, exc)
        _end_chain(self)


@app.task(name="docextract.extract", bind=True, **_retry_policy)
def extract_document(self: Task, document_id: int) -> None:
    try:
        if not jobs.extract(get_runtime(), document_id):
            _end_chain(self)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        delay = jobs.retry_delay_after_crash(get_runtime(), document_id, exc)
        if delay is not None:
            raise self.retry(exc=exc, countdown=delay) from exc
        _end_chain(self)


@app.task(name="docextract.persist", bind=True, **_retry_policy)
def persist_result(self: Task, document_id: int) -> None:
    try:
        jobs.persist(get_runtime(), document_id)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        jobs.fail_after_bug(get_runtime(), "persist", document_id, exc)


def document_chain(document_id: int) -> chain:
    """The work of one document; immutable signatures, so each step takes only the id."""
    return chain(
        prepare_pages.si(document_id),
        extract_document.si(document_id),
        persist_result.si(document_id),
    )
