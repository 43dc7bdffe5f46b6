"""The sweeper in every worker's main process (`worker.sweeper`), started when the worker is
ready and stopped with it. Loaded by the Celery app (its `include`), apart from the tasks, so
that the tasks need not import the dispatcher that sends them."""

from __future__ import annotations

from celery.signals import worker_ready, worker_shutdown

from worker.celery_app import RESEND_PRIORITY
from worker.config import get_worker_settings
from worker.dispatch import CeleryDispatcher, SentLedger
from worker.sweeper import Sweeper, SweeperThread

_sweeper: SweeperThread | None = None


@worker_ready.connect
def _start_sweeper(**_: object) -> None:
    """Every worker sweeps (worker.sweeper): wherever documents can be worked on, it runs."""
    global _sweeper
    from docextract.settings import get_settings
    from models.db import make_engine, make_session_factory

    # An engine of its own: pool processes never use (or inherit busy) connections of this thread.
    session_factory = make_session_factory(make_engine(get_settings().database_url))
    ledger = SentLedger.from_settings()
    _sweeper = SweeperThread(
        Sweeper(session_factory, get_worker_settings(), ledger, CeleryDispatcher(ledger, RESEND_PRIORITY).enqueue)
    )
    _sweeper.start()


@worker_shutdown.connect
def _stop_sweeper(**_: object) -> None:
    if _sweeper is not None:
        _sweeper.stop()
