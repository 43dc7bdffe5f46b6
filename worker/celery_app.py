"""The Celery application: Redis broker, named queues, settings for CPU-bound work.

Start a worker with `docextract worker` (or `celery -A worker.celery_app worker`). No result
backend: the database is where results live, and chains do not need one.
"""

from __future__ import annotations

from celery import Celery
from kombu import Queue

from docextract.settings import get_settings
from worker.config import get_worker_settings

# One queue per step, so that machines can be specialised by configuration alone
# (`docextract worker --queues extract`); a plain worker consumes all three.
QUEUES = ("prepare", "extract", "persist")


def make_celery() -> Celery:
    settings = get_settings()
    worker = get_worker_settings()
    app = Celery("docextract", broker=settings.broker_url, include=["worker.tasks"])
    transport_options: dict[str, object] = {"visibility_timeout": worker.visibility_timeout}
    if worker.broker_key_prefix:
        transport_options["global_keyprefix"] = worker.broker_key_prefix
    app.conf.update(
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="prepare",
        task_routes={
            "docextract.prepare": {"queue": "prepare"},
            "docextract.extract": {"queue": "extract"},
            "docextract.persist": {"queue": "persist"},
        },
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged when it ends, not when it starts: a worker that dies mid-task
        # leaves its message to be delivered again (steps are idempotent).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # OCR is CPU-bound and takes seconds: a process reserves one task at a time, so that
        # a busy process never holds messages an idle one could run.
        worker_prefetch_multiplier=1,
        worker_enable_remote_control=True,  # `celery inspect ping`: health checks, Flower
        worker_send_task_events=worker.task_events,
        task_send_sent_event=worker.task_events,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        # Each process loads the OCR models when it starts (see worker.tasks), which takes
        # longer than Celery's default 4 s allowance for a new child process.
        worker_proc_alive_timeout=120,
    )
    return app


app = make_celery()
