"""Document leases: one worker process at a time runs a step of a document.

A step claims its document's lease with one conditional UPDATE (only if the document is
unleased, its lease expired, or the holder is a process of this machine that no longer
exists), a thread renews it while the step runs (only while it is still the step's own), and
the step gives it back when it ends. A worker that dies leaves a lease that ends
`lease_seconds` after its last renewal; the sweeper (`worker.sweeper`) then sends the
document again. A step's last transaction checks that the lease is still its own (fencing):
a worker cut off for longer than its lease, whose document another worker took over,
writes nothing.

Expiry times come from each worker's clock: machines must agree within seconds (NTP).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from models.db import TERMINAL_STATUSES, Document, utcnow
from worker.config import WorkerSettings

log = logging.getLogger(__name__)

TERMINAL = [s.value for s in TERMINAL_STATUSES]  # no lease is claimed on a finished document
_owners: dict[int, str] = {}


def current_owner() -> str:
    """This process's lease owner: host, pid and a random token (a forked child gets its own)."""
    pid = os.getpid()
    if pid not in _owners:
        _owners[pid] = f"{socket.gethostname()[:80]}:{pid}:{uuid.uuid4().hex[:12]}"
    return _owners[pid]


def holder_is_gone(owner: str) -> bool:
    """True when `owner` is a process of this machine that has exited (or an earlier process
    with this very pid, after a restart): its lease can be taken at once, without waiting."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname()[:80] or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return owner != current_owner()
    return not _process_alive(pid)


def _process_alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rpartition(")")[2].split()[0]
        return state not in ("Z", "X")  # a zombie has exited: its parent just has not reaped it
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def claim(session_factory: sessionmaker, document_id: int, worker: WorkerSettings) -> bool:
    """Take the document's lease for this process; False if it is finished, missing, or a
    live worker holds it (that worker is running it: this delivery has nothing to do)."""
    owner, now = current_owner(), utcnow()
    with session_factory.begin() as session:
        holder = session.execute(select(Document.lease_owner).where(Document.id == document_id)).scalar_one_or_none()
        free: list[ColumnElement[bool]] = [Document.lease_owner.is_(None), Document.lease_expires_at < now]
        if holder is not None and (holder == owner or holder_is_gone(holder)):
            free.append(Document.lease_owner == holder)  # compare-and-swap on the dead holder
        claimed = session.execute(
            update(Document)
            .where(Document.id == document_id, Document.status.not_in(TERMINAL), or_(*free))
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=worker.lease_seconds))
            .execution_options(synchronize_session=False)
        )
    if claimed.rowcount != 1 and holder is not None:
        log.info("document %s: leased by %s, left to it", document_id, holder)
    return claimed.rowcount == 1


def renew(session_factory: sessionmaker, document_id: int, worker: WorkerSettings) -> bool:
    """Push the lease's end on; False if it is no longer this process's (taken over)."""
    with session_factory.begin() as session:
        renewed = session.execute(
            update(Document)
            .where(Document.id == document_id, Document.lease_owner == current_owner())
            .values(lease_expires_at=utcnow() + timedelta(seconds=worker.lease_seconds))
            .execution_options(synchronize_session=False)
        )
    return renewed.rowcount == 1


def release(session_factory: sessionmaker, document_id: int) -> None:
    with session_factory.begin() as session:
        session.execute(
            update(Document)
            .where(Document.id == document_id, Document.lease_owner == current_owner())
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )


def release_all(session: Session) -> int:
    """Forget every lease: for the embedded worker, the only worker of its database."""
    result = session.execute(
        update(Document)
        .where(Document.lease_owner.is_not(None))
        .values(lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


class Lease:
    """A claimed lease, renewed by a daemon thread until `stop`."""

    def __init__(self, session_factory: sessionmaker, document_id: int, worker: WorkerSettings) -> None:
        self.owner = current_owner()
        self.document_id = document_id
        self._session_factory = session_factory
        self._worker = worker
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{document_id}", daemon=True)

    def owns(self, document: Document) -> bool:
        """Whether the (locked) row is still leased to this process: check before writing."""
        if document.lease_owner == self.owner:
            return True
        log.warning("document %s: lease lost to %s; this run's work is dropped", document.id, document.lease_owner)
        return False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _renew(self) -> None:
        while not self._stopped.wait(self._worker.lease_renew_every):
            try:
                if not renew(self._session_factory, self.document_id, self._worker):
                    log.warning("document %s: lease taken over; no more renewals", self.document_id)
                    return
            except Exception:  # the database is away: try again next time, the lease may run out
                log.warning("document %s: could not renew the lease", self.document_id, exc_info=True)


@contextmanager
def held(session_factory: sessionmaker, document_id: int, worker: WorkerSettings) -> Iterator[Lease | None]:
    """The document's lease for the block (None: not ours to run), renewed, then given back."""
    if not claim(session_factory, document_id, worker):
        yield None
        return
    lease = Lease(session_factory, document_id, worker)
    lease.start()
    try:
        yield lease
    finally:
        lease.stop()
        try:
            release(session_factory, document_id)
        except Exception:  # the database is away: the lease ends by itself
            log.warning("document %s: could not release the lease", document_id, exc_info=True)
