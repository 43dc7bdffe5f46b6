"""Document leases and the sweeper, on the database: who may claim, renew and re-send what."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from models.db import Document, DocumentStatus, utcnow
from tests.service.conftest import Service
from worker import jobs, lease
from worker.config import WorkerSettings
from worker.runtime import Runtime
from worker.sweeper import Sweeper

pytestmark = pytest.mark.services
HOST = socket.gethostname()


def _queued(service: Service, path: Path) -> int:
    document_id = service.upload(path).json()["documents"][0]["id"]
    service.dispatcher.sent.clear()
    return document_id


def _set(service: Service, document_id: int, **values: object) -> None:
    with service.session_factory.begin() as session:
        document = session.get_one(Document, document_id)
        for name, value in values.items():
            setattr(document, name, value)


def _get(service: Service, document_id: int) -> Document:
    with service.session_factory() as session:
        return session.get_one(Document, document_id)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _in(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("holder", "expires_in", "claimed"),
    [
        (None, None, True),
        ("elsewhere:1234:abcdef", 30, False),  # a live lease of another machine
        ("elsewhere:1234:abcdef", -1, True),  # expired
        (f"{HOST}:{{parent}}:abcdef", 30, False),  # a live process of this machine
        (f"{HOST}:{{dead}}:abcdef", 30, True),  # a process of this machine that exited
    ],
)
def test_a_lease_is_claimed_only_when_free_expired_or_its_holder_gone(
    service: Service, scans: list[Path], holder: str | None, expires_in: float | None, claimed: bool
):
    document_id = _queued(service, scans[0])
    if holder is not None:
        holder = holder.format(parent=os.getppid(), dead=_dead_pid())
    _set(service, document_id, lease_owner=holder, lease_expires_at=None if expires_in is None else _in(expires_in))

    assert lease.claim(service.session_factory, document_id, service.runtime.worker) is claimed
    expected_owner = lease.current_owner() if claimed else holder
    assert _get(service, document_id).lease_owner == expected_owner


def test_a_finished_document_is_never_leased(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    _set(service, document_id, status=DocumentStatus.extracted.value)
    assert not lease.claim(service.session_factory, document_id, service.runtime.worker)
    assert _get(service, document_id).lease_owner is None


def test_renewal_only_while_the_lease_is_still_ours(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    worker = service.runtime.worker
    assert lease.claim(service.session_factory, document_id, worker)
    before = _get(service, document_id).lease_expires_at
    assert lease.renew(service.session_factory, document_id, worker)
    assert _get(service, document_id).lease_expires_at > before

    _set(service, document_id, lease_owner="elsewhere:1:taken")  # a sweeper and another worker took it
    assert not lease.renew(service.session_factory, document_id, worker)
    lease.release(service.session_factory, document_id)  # not ours: left alone
    assert _get(service, document_id).lease_owner == "elsewhere:1:taken"


def test_steps_give_their_lease_back_and_skip_a_document_leased_elsewhere(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    assert jobs.prepare(service.runtime, document_id)
    assert _get(service, document_id).lease_owner is None

    _set(service, document_id, lease_owner="elsewhere:1:busy", lease_expires_at=_in(60))
    assert not jobs.extract(service.runtime, document_id)
    assert service.extractor.calls == 0
    assert (_get(service, document_id).attempts, _get(service, document_id).status) == (0, "queued")


class TakenOverExtractor:
    """While it extracts, another worker takes the document over (this one was cut off)."""

    def __init__(self, service: Service, document_id: int) -> None:
        self.service, self.document_id = service, document_id

    def extract_file(self, path, filename=None, learnt=None):  # type: ignore[no-untyped-def]
        _set(self.service, self.document_id, lease_owner="elsewhere:1:new", lease_expires_at=_in(60))
        return self.service.extractor.extract_file(path, filename, learnt)


def test_a_worker_that_lost_its_lease_writes_nothing(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    jobs.prepare(service.runtime, document_id)
    rt = service.runtime
    cut_off = Runtime(
        rt.settings, rt.worker, rt.session_factory, rt.store, lambda _s: TakenOverExtractor(service, document_id)
    )

    assert not jobs.extract(cut_off, document_id)
    assert not service.store.result_path(document_id).exists()
    assert _get(service, document_id).lease_owner == "elsewhere:1:new"


class Ledger:
    def __init__(self, members: set[int] | None = None, readable: bool = True) -> None:
        self.ids = set(members or ())
        self.readable = readable

    def members(self) -> set[int]:
        if not self.readable:
            raise ConnectionError("redis is away")
        return set(self.ids)

    def add(self, ids: Sequence[int]) -> None:
        self.ids.update(ids)

    def remove(self, ids: Sequence[int]) -> None:
        self.ids.difference_update(ids)


def _sweeper(service: Service, ledger: Ledger | None, sent: list[int]) -> Sweeper:
    def send(ids: Sequence[int]) -> None:
        sent.extend(ids)
        if ledger is not None:
            ledger.add(ids)

    return Sweeper(service.session_factory, WorkerSettings(), ledger, send)


def test_the_sweeper_resends_a_dead_workers_document_once(service: Service, scans: list[Path]):
    dead, alive = _queued(service, scans[0]), _queued(service, scans[1])
    _set(service, dead, status="processing", lease_owner="gone:1:x", lease_expires_at=_in(-1))
    _set(service, alive, status="processing", lease_owner="busy:1:x", lease_expires_at=_in(50))
    ledger, sent = Ledger({dead, alive}), []
    sweeper = _sweeper(service, ledger, sent)

    report = sweeper.sweep()
    assert (report.expired, report.unsent, sent) == ([dead], [], [dead])
    document = _get(service, dead)
    assert (document.resent, document.lease_owner, document.lease_expires_at) == (1, None, None)
    assert sweeper.sweep().sent == []  # sent and given time to start: not again
    assert (sent, _get(service, alive).resent) == ([dead], 0)


def test_two_sweepers_at_once_send_a_document_once(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    _set(service, document_id, lease_owner="gone:1:x", lease_expires_at=_in(-1))
    sent: list[int] = []
    second = _sweeper(service, Ledger(), sent)
    seconds_reports = []

    def first_send(ids: Sequence[int]) -> None:
        seconds_reports.append(second.sweep())  # another replica sweeps between our claim and send
        sent.extend(ids)

    first = Sweeper(service.session_factory, WorkerSettings(), Ledger(), first_send)
    assert first.sweep().expired == [document_id]
    assert (sent, seconds_reports[0].sent, _get(service, document_id).resent) == ([document_id], [], 1)
    # A sweeper that read the row before the first took it: its conditional UPDATE misses.
    assert not second.take(document_id, 0, Document.id == document_id)


def test_the_sweeper_sends_documents_never_sent_or_lost_not_those_waiting(service: Service, scans: list[Path]):
    fourth = scans[0].with_name("fourth.tif")
    fourth.write_bytes(scans[0].read_bytes() + b"\0fourth")
    lost, waiting, done, fresh = (_queued(service, p) for p in (*scans, fourth))
    old = utcnow() - timedelta(minutes=5)
    for document_id in (lost, waiting, done):
        _set(service, document_id, updated_at=old)  # what the ORM set, set back
    _set(service, done, status="extracted", updated_at=old)
    ledger, sent = Ledger({waiting, done}), []

    report = _sweeper(service, ledger, sent).sweep()
    assert (report.unsent, report.expired, sent) == ([lost], [], [lost])
    assert report.pruned == 1 and ledger.ids == {waiting, lost}  # the finished one dropped
    assert fresh not in sent  # just uploaded: its send may still be on the way


def test_an_unreadable_ledger_is_not_taken_for_an_empty_one(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    _set(service, document_id, updated_at=utcnow() - timedelta(minutes=5))
    sent: list[int] = []
    assert _sweeper(service, Ledger(readable=False), sent).sweep().sent == []
    assert _sweeper(service, None, sent).sweep().sent == []  # a broker without a ledger
    assert sent == []


def test_a_batch_shows_how_often_its_documents_were_sent_again(service: Service, scans: list[Path]):
    from docextract.cli_service import progress_line  # the line `docextract status` prints

    upload = service.upload(scans[0]).json()
    document_id, batch_id = upload["documents"][0]["id"], upload["batch_id"]
    _set(service, document_id, lease_owner="gone:1:x", lease_expires_at=_in(-1))
    _sweeper(service, Ledger(), []).sweep()

    batch = service.client.get(f"/v1/batches/{batch_id}", headers=service.auth("admin")).json()
    assert (batch["resent"], batch["pending"]) == (1, 1)
    assert progress_line(batch) == (
        f"batch {batch_id}: 0/1 done, 0 failed, 1 pending, 1 sent again after a lost worker or message"
    )
