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


class SentLedger:
    """The ids of the documents whose work the broker holds: a Redis set beside the queues.

    Added to after each send, pruned of finished documents by the sweeper. Kept in the
    broker's Redis on purpose: a Redis that loses its data loses this set with the messages,
    so the sweeper sees the documents as unsent and sends them again.
    """

    def __init__(self, redis_url: str, key_prefix: str = "") -> None:
        import redis

        self.key = f"{key_prefix}docextract:sent"
        self._client = redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=10)

    @classmethod
    def from_settings(cls) -> SentLedger | None:
        """The ledger of the configured broker; None for a broker that is not Redis."""
        from docextract.settings import get_settings
        from worker.config import get_worker_settings

        url = get_settings().broker_url
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return None
        return cls(url, get_worker_settings().broker_key_prefix)

    def add(self, document_ids: Sequence[int]) -> None:
        if document_ids:
            self._client.sadd(self.key, *document_ids)

    def remove(self, document_ids: Sequence[int]) -> None:
        if document_ids:
            self._client.srem(self.key, *document_ids)

    def members(self) -> set[int]:
        return {int(member) for member in self._client.smembers(self.key)}


class CeleryDispatcher:
    """Sends each document's chain to the broker (Redis) and notes it in the ledger."""

    def __init__(self, ledger: SentLedger | None = None, priority: int | None = None) -> None:
        """`priority`: the first step's, when not the tasks' default (worker.celery_app)."""
        self.ledger = ledger if ledger is not None else SentLedger.from_settings()
        self.priority = priority

    def enqueue(self, document_ids: Sequence[int]) -> None:
        from worker.tasks import document_chain

        options = {} if self.priority is None else {"priority": self.priority}
        sent: list[int] = []
        try:
            for document_id in document_ids:
                document_chain(document_id).apply_async(**options)  # the first step's priority
                sent.append(document_id)
        finally:
            if self.ledger is not None and sent:
                self.ledger.add(sent)  # if this fails, the sweeper sends them once more: harmless


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
        except Exception:  # the rows are committed: the sweeper (worker.sweeper) sends them later
            log.exception("could not enqueue documents %s; they stay queued, for the sweeper to send", ids)

    def after_rollback(session: Session) -> None:
        session.info.pop(_PENDING, None)

    event.listen(session_factory, "after_commit", after_commit)
    event.listen(session_factory, "after_soft_rollback", lambda s, _t: after_rollback(s))
