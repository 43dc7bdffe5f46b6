"""Documents: registering uploads (deduplicated by content hash), reading, listing."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from api.services import batches
from api.services.errors import Invalid, NotFound
from api.upload import ReceivedFile
from models.db import (
    ApiKey,
    Batch,
    BatchDocument,
    Document,
    DocumentStatus,
    Role,
    insert_ignoring_conflicts,
    utcnow,
)
from worker.dispatch import enqueue_after_commit
from worker.storage import ContentStore


@dataclass(frozen=True)
class Registered:
    document: Document
    filename: str
    duplicate: bool


def register_uploads(
    session: Session,
    store: ContentStore,
    key: ApiKey,
    files: Sequence[ReceivedFile],
    batch_id: int | None,
) -> tuple[Batch, list[Registered]]:
    """Move received files into storage and record them; new documents are queued.

    The same bytes uploaded again (now, or in this very request) give the existing document
    with `duplicate` set and no new work. Jobs are sent after the request's commit.
    """
    batch = batches.get_or_create(session, key, batch_id)
    registered: list[Registered] = []
    new_ids: list[int] = []
    seen: set[str] = set()
    for received in files:
        store.adopt(received.temp_path, received.sha256)  # original in place before its row
        now = utcnow()
        inserted = insert_ignoring_conflicts(
            session,
            Document,
            [
                {
                    "sha256": received.sha256,
                    "filename": received.filename,
                    "size_bytes": received.size,
                    "status": DocumentStatus.queued.value,
                    "uploaded_by": key.id,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
            ["sha256"],
        )
        document = session.scalars(select(Document).where(Document.sha256 == received.sha256)).one()
        duplicate = not inserted or received.sha256 in seen
        seen.add(received.sha256)
        if not duplicate:
            new_ids.append(document.id)
        batches.add_document(session, batch, document, received.filename, duplicate=duplicate)
        registered.append(Registered(document, received.filename, duplicate))
    enqueue_after_commit(session, new_ids)
    return batch, registered


def attach_known(
    session: Session, key: ApiKey, batch_id: int, hashes: Sequence[str]
) -> tuple[list[Registered], list[str]]:
    """Add the documents the server already has to a batch; return them and the unknown hashes.

    This is how `docextract upload` resumes: it never sends bytes the server holds.
    """
    batch = batches.get_owned(session, key, batch_id)
    wanted = list(dict.fromkeys(h.lower() for h in hashes))
    found = {d.sha256: d for d in session.scalars(select(Document).where(Document.sha256.in_(wanted)))}
    registered = []
    for sha256 in wanted:
        document = found.get(sha256)
        if document is not None:
            batches.add_document(session, batch, document, document.filename, duplicate=True)
            registered.append(Registered(document, document.filename, True))
    return registered, [h for h in wanted if h not in found]


def retry(session: Session, key: ApiKey, document_id: int) -> Document:
    """Queue a failed document again (say, after a pipeline fix); others are left alone."""
    document = get_document(session, key, document_id)
    if document.status != DocumentStatus.failed:
        raise Invalid(f"document {document_id} is {document.status}, not failed")
    document.status = DocumentStatus.queued.value
    document.error = None
    document.attempts = 0
    enqueue_after_commit(session, [document.id])
    return document


def readable(key: ApiKey) -> Select[tuple[Document]]:
    """Documents this key may read: uploaders see those of their own batches."""
    query = select(Document)
    if key.role == Role.uploader:
        owned = (
            select(BatchDocument.document_id)
            .join(Batch, Batch.id == BatchDocument.batch_id)
            .where(Batch.api_key_id == key.id, BatchDocument.document_id == Document.id)
        )
        query = query.where(exists(owned))
    return query


def get_document(session: Session, key: ApiKey, document_id: int) -> Document:
    document = session.scalars(readable(key).where(Document.id == document_id)).one_or_none()
    if document is None:
        raise NotFound(document_id)
    return document


@dataclass(frozen=True)
class DocumentFilter:
    status: DocumentStatus | None = None
    year: int | None = None
    unit_name: str | None = None
    template: str | None = None
    batch_id: int | None = None
    ids: tuple[int, ...] = ()

    def apply(self, query: Select) -> Select:
        if self.status is not None:
            query = query.where(Document.status == self.status.value)
        if self.year is not None:
            query = query.where(Document.year == self.year)
        if self.unit_name is not None:
            query = query.where(Document.unit_name == self.unit_name)
        if self.template is not None:
            query = query.where(Document.template_id == self.template)
        if self.batch_id is not None:
            in_batch = select(BatchDocument.document_id).where(
                BatchDocument.batch_id == self.batch_id,
                BatchDocument.document_id == Document.id,
            )
            query = query.where(exists(in_batch))
        if self.ids:
            query = query.where(Document.id.in_(self.ids))
        return query


def list_documents(
    session: Session, key: ApiKey, where: DocumentFilter, cursor: str | None, limit: int
) -> tuple[list[Document], str | None]:
    """A page in id order (stable while documents are added); the cursor is the last id."""
    query = where.apply(readable(key)).order_by(Document.id).limit(limit + 1)
    if cursor:
        query = query.where(Document.id > decode_cursor(cursor))
    documents = list(session.scalars(query))
    more = len(documents) > limit
    documents = documents[:limit]
    return documents, encode_cursor(documents[-1].id) if more else None


def encode_cursor(after_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise Invalid("bad cursor") from exc
    if not isinstance(after, int):
        raise Invalid("bad cursor")
    return after
