"""Batches: the documents of one upload session, and how far their extraction has got."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.services.errors import NotFound
from models.db import (
    FINISHED_STATUSES,
    ApiKey,
    Batch,
    BatchDocument,
    Document,
    DocumentStatus,
    Role,
    insert_ignoring_conflicts,
)

_FAILURES_SHOWN = 100


def create(session: Session, key: ApiKey) -> Batch:
    batch = Batch(api_key_id=key.id)
    session.add(batch)
    session.flush()
    return batch


def get_or_create(session: Session, key: ApiKey, batch_id: int | None) -> Batch:
    return create(session, key) if batch_id is None else get_owned(session, key, batch_id)


def get_owned(session: Session, key: ApiKey, batch_id: int) -> Batch:
    """A batch the key may add to: its own (admins: any)."""
    batch = session.get(Batch, batch_id)
    if batch is None or (key.role != Role.admin and batch.api_key_id != key.id):
        raise NotFound(f"batch {batch_id}")
    return batch


def get_visible(session: Session, key: ApiKey, batch_id: int) -> Batch:
    """A batch the key may read: uploaders their own, other roles any."""
    if key.role == Role.uploader:
        return get_owned(session, key, batch_id)
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(f"batch {batch_id}")
    return batch


def add_document(session: Session, batch: Batch, document: Document, filename: str, *, duplicate: bool) -> None:
    insert_ignoring_conflicts(
        session,
        BatchDocument,
        [
            {
                "batch_id": batch.id,
                "document_id": document.id,
                "filename": filename,
                "duplicate": duplicate,
            }
        ],
        ["batch_id", "document_id"],
    )


@dataclass(frozen=True)
class Progress:
    batch: Batch
    by_status: dict[DocumentStatus, int]
    failures: list[tuple[int, str, str | None]]
    resent: int = 0  # times the sweeper sent a document again (a dead worker, a lost message)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def done(self) -> int:
        return sum(n for s, n in self.by_status.items() if s in FINISHED_STATUSES)

    @property
    def failed(self) -> int:
        return self.by_status.get(DocumentStatus.failed, 0)

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed


def progress(session: Session, batch: Batch) -> Progress:
    in_batch = BatchDocument.batch_id == batch.id
    counts = session.execute(
        select(Document.status, func.count())
        .join(BatchDocument, BatchDocument.document_id == Document.id)
        .where(in_batch)
        .group_by(Document.status)
    ).all()
    resent = session.scalar(
        select(func.coalesce(func.sum(Document.resent), 0))
        .join(BatchDocument, BatchDocument.document_id == Document.id)
        .where(in_batch)
    )
    failures = session.execute(
        select(Document.id, BatchDocument.filename, Document.error)
        .join(BatchDocument, BatchDocument.document_id == Document.id)
        .where(in_batch, Document.status == DocumentStatus.failed.value)
        .order_by(Document.id)
        .limit(_FAILURES_SHOWN)
    ).all()
    return Progress(
        batch,
        {DocumentStatus(s): n for s, n in counts},
        [(i, f, e) for i, f, e in failures],
        int(resent or 0),
    )
