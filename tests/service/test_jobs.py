"""The worker's steps: idempotent under redelivery, retried only when retrying can help."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models.aliases import record_alias
from models.db import Document, FieldRow, ReviewItem
from tests.service.conftest import CODES, FakeExtractor, Service
from worker import jobs
from worker.embedded import run_document

pytestmark = pytest.mark.services


def _queued(service: Service, path: Path) -> int:
    document_id = service.upload(path).json()["documents"][0]["id"]
    service.dispatcher.sent.clear()
    return document_id


def _document(service: Service, document_id: int) -> Document:
    with service.session_factory() as session:
        return session.get_one(Document, document_id)


def _count(service: Service, model: type, document_id: int) -> int:
    with service.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.document_id == document_id))


def test_redelivered_steps_change_nothing(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    rt = service.runtime
    assert jobs.prepare(rt, document_id)
    assert jobs.prepare(rt, document_id)  # a second delivery before extract: same pages
    assert jobs.extract(rt, document_id)
    assert jobs.extract(rt, document_id)  # the result is already there: no second OCR run
    assert service.extractor.calls == 1
    jobs.persist(rt, document_id)
    first = _document(service, document_id)
    for step in (jobs.prepare, jobs.extract, jobs.persist):  # the whole chain redelivered
        step(rt, document_id)
    assert service.extractor.calls == 1
    assert _count(service, FieldRow, document_id) == len(CODES)
    assert _count(service, ReviewItem, document_id) == 1
    again = _document(service, document_id)
    assert (again.status, again.result, again.attempts) == (first.status, first.result, 1)
    assert not rt.store.result_path(document_id).exists()


def test_persist_of_a_result_twice_writes_each_row_once(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    rt = service.runtime
    jobs.prepare(rt, document_id)
    jobs.extract(rt, document_id)
    result_bytes = rt.store.result_path(document_id).read_bytes()
    jobs.persist(rt, document_id)
    with rt.session_factory.begin() as session:  # as if persist's ack was lost mid-way
        session.get_one(Document, document_id).status = "processing"
    rt.store.write_atomic(rt.store.result_path(document_id), result_bytes)
    jobs.persist(rt, document_id)
    assert _count(service, FieldRow, document_id) == len(CODES)
    assert _count(service, ReviewItem, document_id) == 1
    assert _document(service, document_id).status == "needs_review"


def test_a_crashing_document_is_retried_then_failed(service: Service, scans: list[Path]):
    service.extractor.raises = RuntimeError("boom")
    document_id = _queued(service, scans[0])
    run_document(service.runtime, document_id, sleep=lambda _s: None)
    document = _document(service, document_id)
    assert service.extractor.calls == service.runtime.worker.max_attempts == 3
    assert (document.status, document.error) == ("failed", "RuntimeError: boom")


def test_a_document_that_kills_its_worker_is_given_up(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    jobs.prepare(service.runtime, document_id)
    with service.session_factory.begin() as session:  # three deliveries died mid-extract
        session.get_one(Document, document_id).attempts = 3
    assert not jobs.extract(service.runtime, document_id)
    document = _document(service, document_id)
    assert document.status == "failed"
    assert document.error == "gave up after 3 attempts: the worker process was lost"
    assert service.extractor.calls == 0


def test_transient_errors_are_retried_with_backoff(service: Service, scans: list[Path]):
    from sqlalchemy.exc import OperationalError

    class FlakyOnce(FakeExtractor):
        def extract_file(self, path, filename=None, learnt=None):  # type: ignore[no-untyped-def]
            if self.calls == 0:
                self.calls += 1
                raise OperationalError("SELECT 1", {}, Exception("connection reset"))
            return super().extract_file(path, filename, learnt)

    service.extractor = FlakyOnce()
    document_id = _queued(service, scans[0])
    waits: list[float] = []
    run_document(service.runtime, document_id, sleep=waits.append)
    assert waits == [2.0]
    assert _document(service, document_id).status == "needs_review"


def test_a_missing_original_fails_the_document(service: Service, scans: list[Path]):
    document_id = _queued(service, scans[0])
    service.store.original_path(_document(service, document_id).sha256).unlink()
    run_document(service.runtime, document_id, sleep=lambda _s: None)
    assert _document(service, document_id).error == "original missing from storage"


def test_label_spellings_reviewers_accepted_reach_the_extractor(service: Service, scans: list[Path]):
    with service.session_factory.begin() as session:
        record_alias(session, "GK2008", "七、收费金额", "GK2008-7", None)
        record_alias(session, "GK2019", "其他", "GK2019-2.1@x", None)  # another form's: kept apart
    document_id = _queued(service, scans[0])
    jobs.prepare(service.runtime, document_id)
    assert jobs.extract(service.runtime, document_id)
    # Every form's aliases, by template: the extractor uses those of the form it detects.
    assert service.extractor.learnt_seen.aliases == {
        "GK2008": {"七、收费金额": "GK2008-7"},
        "GK2019": {"其他": "GK2019-2.1@x"},
    }
