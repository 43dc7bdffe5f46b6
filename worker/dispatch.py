"""Sending documents to the workers, only after the transaction that created them commits.

Code that creates documents calls `enqueue_after_commit(session, ids)`; the session factory's
`after_commit` hook hands the ids to the dispatcher, so a worker never sees an id whose row is
not yet visible, and a rolled-back upload sends nothing. The dispatcher is Celery in the
service and an in-process thread in the embedded mode.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

_PENDING = "docextract.enqueue"


class Dispatcher(Protocol):
    def enqueue(self, document_ids: Sequence[int]) -> None: ...


class CeleryDispatcher:
    """Sends each document's chain to the broker (Redis)."""

    def enqueue(self, document_ids: Sequence[int]) -> None:
        from worker.tasks import document_chain

        for document_id in document_ids:
            document_chain(document_id).apply_async()


def enqueue_after_commit(session: Session, document_ids: Sequence[int]) -> None:
    session.info.setdefault(_PENDING, []).extend(document_ids)


def install(session_factory: sessionmaker, dispatcher: Dispatcher) -> None:
    """Make `session_factory`'s sessions send their pending ids when they commit."""

    def after_commit(session: Session) -> None:
        ids = session.info.pop(_PENDING, [])
        if not ids:
            return
        try:
            dispatcher.enqueue(ids)
        except Exception:  # the rows are committed: `docextract requeue` sends them later
            log.exception("could not enqueue documents %s; they stay queued", ids)

    def after_rollback(session: Session) -> None:
        session.info.pop(_PENDING, None)

    event.listen(session_factory, "after_commit", after_commit)
    event.listen(session_factory, "after_soft_rollback", lambda s, _t: after_rollback(s))
