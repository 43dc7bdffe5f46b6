"""The sweeper: sends again the documents nobody is working on and no message will bring back.

Runs in every worker's main process (`docextract worker`), every `sweep_every` seconds and
once at start, so it runs wherever work can be done. It finds, among unfinished documents:
- those whose lease expired: their worker died (killed, machine gone, network cut) mid-step;
  the dead worker's message would only come back after Redis's visibility timeout (4 h);
- those unleased, untouched for `lease_seconds`, and not in the ledger of sent documents
  (`worker.dispatch.SentLedger`): never sent (the broker was down at upload) or lost with a
  Redis that lost its data. Documents waiting in a long queue are in the ledger: left alone.

Each is claimed for sending by one conditional UPDATE (compare-and-swap on its `resent`
count, which it increments, and on the condition that selected it), committed before the
send: of several sweepers (many worker replicas) one sends it, once. The UPDATE also clears
the expired lease and touches `updated_at`, so the document is not sent again before it has
had `lease_seconds` to start. A document sent twice by accident is harmless: its steps are
idempotent and run under its lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import sessionmaker

from models.db import Document, utcnow
from worker.config import WorkerSettings
from worker.lease import TERMINAL

log = logging.getLogger(__name__)

_PRUNE_CHUNK = 1000


class Ledger(Protocol):
    """What the sweeper needs of `worker.dispatch.SentLedger`."""

    def members(self) -> set[int]: ...
    def remove(self, document_ids: Sequence[int]) -> None: ...


@dataclass
class SweepReport:
    expired: list[int] = field(default_factory=list)  # sent again: their worker died
    unsent: list[int] = field(default_factory=list)  # sent again: never sent, or lost by the broker
    pruned: int = 0  # finished documents dropped from the ledger

    @property
    def sent(self) -> list[int]:
        return self.expired + self.unsent


class Sweeper:
    def __init__(
        self,
        session_factory: sessionmaker,
        worker: WorkerSettings,
        ledger: Ledger | None,
        send: Callable[[Sequence[int]], None],
    ) -> None:
        self.session_factory = session_factory
        self.worker = worker
        self.ledger = ledger
        self.send = send

    def sweep(self) -> SweepReport:
        report = SweepReport()
        now = utcnow()
        report.expired = self._resend(Document.lease_expires_at < now, exclude=set())
        in_broker = self._ledger_members()
        if in_broker is not None:
            quiet_since = now - timedelta(seconds=self.worker.lease_seconds)
            unsent = and_(Document.lease_owner.is_(None), Document.updated_at < quiet_since)
            report.unsent = self._resend(unsent, exclude=in_broker)
            report.pruned = self._prune(in_broker)
        if report.sent:
            log.warning(
                "sweeper: sent again %d documents of dead workers %s and %d never sent or lost by the broker %s",
                len(report.expired),
                report.expired,
                len(report.unsent),
                report.unsent,
            )
        return report

    def _ledger_members(self) -> set[int] | None:
        """The documents the broker holds; None if there is no ledger or it cannot be read
        (then nothing is taken as unsent: an unreachable Redis is not an empty one)."""
        if self.ledger is None:
            return None
        try:
            return self.ledger.members()
        except Exception:
            log.warning("sweeper: the ledger of sent documents cannot be read", exc_info=True)
            return None

    def _resend(self, condition: ColumnElement[bool], exclude: set[int]) -> list[int]:
        unfinished = and_(Document.status.not_in(TERMINAL), condition)
        with self.session_factory() as session:
            found = session.execute(select(Document.id, Document.resent).where(unfinished).order_by(Document.id)).all()
        sent = []
        for document_id, resent in found:
            if document_id not in exclude and self.take(document_id, resent, unfinished):
                self.send([document_id])
                sent.append(document_id)
        return sent

    def take(self, document_id: int, seen_resent: int, condition: ColumnElement[bool]) -> bool:
        """Claim the re-send: only one sweeper's UPDATE matches (the count moved on for others)."""
        with self.session_factory.begin() as session:
            taken = session.execute(
                update(Document)
                .where(Document.id == document_id, Document.resent == seen_resent, condition)
                .values(resent=Document.resent + 1, lease_owner=None, lease_expires_at=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        return taken.rowcount == 1

    def _prune(self, in_broker: set[int]) -> int:
        """Drop finished (or deleted) documents from the ledger, so that it stays small."""
        ids = sorted(in_broker)
        finished: list[int] = []
        with self.session_factory() as session:
            for start in range(0, len(ids), _PRUNE_CHUNK):
                chunk = ids[start : start + _PRUNE_CHUNK]
                unfinished = set(
                    session.scalars(select(Document.id).where(Document.id.in_(chunk), Document.status.not_in(TERMINAL)))
                )
                finished += [i for i in chunk if i not in unfinished]
        if finished and self.ledger is not None:
            self.ledger.remove(finished)
        return len(finished)


class SweeperThread:
    """Runs `sweeper.sweep` at once and then every `sweep_every` seconds, until `stop`."""

    def __init__(self, sweeper: Sweeper) -> None:
        self.sweeper = sweeper
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="docextract-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("sweeper started: every %d s", self.sweeper.worker.sweep_every)

    def stop(self, timeout: float = 10) -> None:
        self._stopped.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                self.sweeper.sweep()
            except Exception:  # the database or broker is away: next time
                log.warning("sweeper: sweep failed", exc_info=True)
            if self._stopped.wait(self.sweeper.worker.sweep_every):
                return
