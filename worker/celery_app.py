"""The Celery application: Redis broker, named queues, settings for CPU-bound work.

Start a worker with `docextract worker` (or `celery -A worker.celery_app worker`). No result
backend: the database is where results live, and chains do not need one.
"""

from __future__ import annotations

import redis.exceptions
from celery import Celery
from kombu import Queue
from kombu.transport import redis as kombu_redis

from docextract.settings import get_settings
from worker.config import get_worker_settings

# One queue per step, so that machines can be specialised by configuration alone
# (`docextract worker --queues extract`); a plain worker consumes all three.
QUEUES = ("prepare", "extract", "persist")

# A worker sends a document's next step when the current one ends; if Redis is away then,
# Celery's default (3 tries within ~2 s) gives up and the chain, so the document, is lost.
# Workers keep trying for about five minutes (the task stays unacknowledged meanwhile); the
# API keeps the short default so an upload answers, and `docextract requeue` sends later.
WORKER_PUBLISH_RETRY_POLICY = {"max_retries": 60, "interval_start": 0, "interval_step": 1, "interval_max": 5}

# With Redis, priority 0 is served first: a worker's BRPOP reads every queue's priority-0 list
# before any priority-3 one. A new document's first step is sent at 3. Its next steps go at 0:
# Celery sends a chain's next step without a priority (kombu's default, 0), so a document under
# way finishes before new ones start. The sweeper's re-sends go at 0 from the first step, so a
# dead worker's document runs again at once rather than behind a night's queue of new ones.
NORMAL_PRIORITY = 3
RESEND_PRIORITY = 0


def guard_redis_channel_close() -> None:
    """Keep a worker alive when Redis goes away (kombu 5.7 bug, seen in tests/faults).

    When the broker connection drops, the worker closes its channel, which first puts its
    unacknowledged messages back; by then kombu has already dropped the connection's
    settings, so building a client raises AttributeError, which Celery calls unrecoverable:
    the whole worker exits. Raised as the connection error it is, kombu ignores it there and
    reconnects; the messages come back after the visibility timeout as for any lost worker.
    """
    original = kombu_redis.Channel._connparams
    if getattr(original, "guarded", False):
        return

    def connparams(self: kombu_redis.Channel, asynchronous: bool = False) -> dict:
        if self.connection is None or self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection is already closed")
        return original(self, asynchronous)

    connparams.guarded = True  # type: ignore[attr-defined]
    kombu_redis.Channel._connparams = connparams


def make_celery() -> Celery:
    settings = get_settings()
    worker = get_worker_settings()
    app = Celery("docextract", broker=settings.broker_url, include=["worker.tasks", "worker.sweeping"])
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
        task_default_priority=NORMAL_PRIORITY,
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


guard_redis_channel_close()
app = make_celery()
