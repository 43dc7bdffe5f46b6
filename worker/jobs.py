"""The three steps of a document, free of Celery: prepare pages → extract → persist.

Celery tasks (`worker.tasks`) and the embedded runner (`worker.embedded`) both call these.
Each step takes a document id, reads what it needs from the database and storage, and is
idempotent: a step run again after it (or a later step) already ran changes nothing, so a
redelivered message is harmless. Each step commits once, in its own transaction.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy.exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.aliases import load_aliases
from models.db import (
    TERMINAL_STATUSES,
    Document,
    DocumentStatus,
    FieldRow,
    FieldStatus,
    Page,
    ReviewItem,
    insert_ignoring_conflicts,
)
from models.known_units import load_units
from models.schemas import ExtractionResult
from worker import lease
from worker.pipeline.errors import InputError
from worker.pipeline.learnt import Learnt
from worker.pipeline.load import open_document
from worker.runtime import Runtime

log = logging.getLogger(__name__)

# Errors that say nothing about the document: the database went away for a moment.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    ConnectionError,
    TimeoutError,
)


def _lock(session: Session, document_id: int) -> Document | None:
    """The document, row-locked on PostgreSQL so that two deliveries serialise."""
    return session.get(Document, document_id, with_for_update=True)


def _fail(document: Document, reason: str) -> None:
    document.status = DocumentStatus.failed.value
    document.error = reason[:2000]
    log.warning("document %s failed: %s", document.id, reason)


def prepare(rt: Runtime, document_id: int) -> bool:
    """Check the original opens and record its pages; False when there is nothing to do."""
    with lease.held(rt.session_factory, document_id, rt.worker) as held:
        if held is None:
            return False
        with rt.session_factory.begin() as session:
            document = _lock(session, document_id)
            if document is None or document.status in TERMINAL_STATUSES or not held.owns(document):
                return False
            return _record_pages(rt, session, document)


def _record_pages(rt: Runtime, session: Session, document: Document) -> bool:
    path = rt.store.original_path(document.sha256)
    if not path.is_file():
        _fail(document, "original missing from storage")
        return False
    try:
        with open_document(path, rt.settings.limits, document.filename) as opened:
            page_count = opened.page_count
    except InputError as exc:
        _fail(document, exc.reason)
        return False
    document.page_count = page_count  # still `queued`: `processing` means OCR is running
    pages = [{"document_id": document.id, "number": n} for n in range(1, page_count + 1)]
    insert_ignoring_conflicts(session, Page, pages, ["document_id", "number"])
    return True


def extract(rt: Runtime, document_id: int) -> bool:
    """Run the pipeline and leave its result in storage for `persist`.

    The attempt is counted and committed before the work starts, so a document that kills
    its worker process is counted too and given up after `max_attempts`. The lease is held
    (and renewed) throughout, so no other worker starts this document meanwhile.
    """
    with lease.held(rt.session_factory, document_id, rt.worker) as held:
        return held is not None and _extract_leased(rt, document_id, held)


def _extract_leased(rt: Runtime, document_id: int, held: lease.Lease) -> bool:
    result_path = rt.store.result_path(document_id)
    with rt.session_factory.begin() as session:
        document = _lock(session, document_id)
        if document is None or document.status in TERMINAL_STATUSES or not held.owns(document):
            return False
        if result_path.is_file():  # extracted by an earlier delivery; persist did not run yet
            return True
        if document.attempts >= rt.worker.max_attempts:
            last = document.error or "the worker process was lost"
            _fail(document, f"gave up after {document.attempts} attempts: {last}")
            return False
        document.attempts += 1
        document.status = DocumentStatus.processing.value
        path, filename = rt.store.original_path(document.sha256), document.filename
        sha256 = document.sha256
        learnt = Learnt(load_aliases(session), load_units(session))  # what reviewers taught so far

    try:
        result = rt.extractor().extract_file(path, filename, learnt)
    except InputError as exc:
        with rt.session_factory.begin() as session:
            document = _lock(session, document_id)
            if document is not None and document.status not in TERMINAL_STATUSES and held.owns(document):
                _fail(document, exc.reason)
        return False
    if result.source.sha256 != sha256:
        raise RuntimeError(f"stored original does not match its hash ({result.source.sha256})")
    with rt.session_factory.begin() as session:  # the row stays locked while the result is written
        document = _lock(session, document_id)
        if document is None or document.status in TERMINAL_STATUSES or not held.owns(document):
            return False
        rt.store.write_atomic(result_path, result.model_dump_json().encode())
    return True


def persist(rt: Runtime, document_id: int) -> None:
    """Store the result as fields and review items, and the document's new status."""
    result_path = rt.store.result_path(document_id)
    with lease.held(rt.session_factory, document_id, rt.worker) as held:
        if held is None:  # finished (nothing to do) or another worker is on it
            return
        with rt.session_factory.begin() as session:
            document = _lock(session, document_id)
            if document is None or document.status in TERMINAL_STATUSES:
                result_path.unlink(missing_ok=True)
                return
            if not held.owns(document):
                return
            if not result_path.is_file():
                _fail(document, "extraction result missing from storage")
                return
            result = ExtractionResult.model_validate_json(result_path.read_bytes())
            _store_result(session, document, result)
    result_path.unlink(missing_ok=True)


def _store_result(session: Session, document: Document, result: ExtractionResult) -> None:
    rows = [
        {
            "document_id": document.id,
            "position": position,
            "code": field.code,
            "label": field.label,
            "unit": field.unit,
            "value": field.value,
            "text": field.text,
            "confidence": field.confidence,
            "status": field.status,
            "reasons": list(field.reasons),
            "page": field.page,
            "bbox": field.bbox,
            "label_read": field.label_read,
            "unit_read": field.unit_read,
        }
        for position, field in enumerate(result.fields)
    ]
    insert_ignoring_conflicts(session, FieldRow, rows, ["document_id", "code"])
    to_review = session.scalars(
        select(FieldRow.id).where(FieldRow.document_id == document.id, FieldRow.status == FieldStatus.review)
    ).all()
    items = [{"document_id": document.id, "field_id": field_id} for field_id in to_review]
    insert_ignoring_conflicts(session, ReviewItem, items, ["field_id"])
    report = [{"document_id": document.id, "subject": subject} for subject in result.report.in_review()]
    insert_ignoring_conflicts(session, ReviewItem, report, ["document_id", "subject"])

    document.result = result.model_dump(mode="json")
    document.status = result.status
    document.error = None
    document.page_count = result.source.pages
    document.template_id = result.template.id if result.template else None
    document.unit_name = result.report.unit_name
    document.year = result.report.year
    document.extracted_at = datetime.now(UTC)


def fail_after_bug(rt: Runtime, step: str, document_id: int, exc: Exception) -> None:
    """A step other than extract raised: a bug a retry will not mend, so the document fails."""
    log.exception("document %s: %s step failed", document_id, step)
    _record_failure(rt, document_id, f"internal error in {step}: {exc!r}", final=True)


def retry_delay_after_crash(rt: Runtime, document_id: int, exc: Exception) -> float | None:
    """Extract raised something unexpected: seconds to wait before trying again, or None
    when the document has had its `max_attempts` and is now failed (poison)."""
    log.exception("document %s: extraction crashed", document_id)
    with rt.session_factory() as session:
        document = session.get(Document, document_id)
        attempts = document.attempts if document is not None else rt.worker.max_attempts
    final = attempts >= rt.worker.max_attempts
    _record_failure(rt, document_id, f"{type(exc).__name__}: {exc}", final=final)
    return None if final else float(min(2**attempts, 60))


def _record_failure(rt: Runtime, document_id: int, error: str, *, final: bool) -> None:
    with rt.session_factory.begin() as session:
        document = _lock(session, document_id)
        if document is None or document.status in TERMINAL_STATUSES:
            return
        if final:
            _fail(document, error)
        else:
            document.error = error[:2000]  # kept for the "gave up" message
