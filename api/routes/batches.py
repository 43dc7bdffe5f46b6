from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from api.deps import ReaderKey, SessionDep, UploaderKey
from api.routes.documents import to_uploaded
from api.schemas import AttachResponse, BatchFailure, BatchPublic, KnownHashes
from api.services import batches, documents
from models.db import Batch

router = APIRouter(prefix="/v1/batches", tags=["batches"])


def to_public(progress: batches.Progress) -> BatchPublic:
    return BatchPublic(
        id=progress.batch.id,
        created_at=progress.batch.created_at,
        total=progress.total,
        done=progress.done,
        failed=progress.failed,
        pending=progress.pending,
        finished=progress.pending == 0,
        by_status=progress.by_status,
        failures=[BatchFailure(id=i, filename=f, error=e) for i, f, e in progress.failures],
        resent=progress.resent,
    )


def _public(session: Session, batch: Batch) -> BatchPublic:
    return to_public(batches.progress(session, batch))


@router.post("", status_code=status.HTTP_201_CREATED)
def create_batch(session: SessionDep, key: UploaderKey) -> BatchPublic:
    """An empty batch, to upload into with `POST /v1/documents?batch_id=`."""
    return _public(session, batches.create(session, key))


@router.get("/{batch_id}")
def get_batch(session: SessionDep, key: ReaderKey, batch_id: int) -> BatchPublic:
    """Progress: documents done, failed and pending of the batch's total."""
    return _public(session, batches.get_visible(session, key, batch_id))


@router.post("/{batch_id}/documents")
def attach_known(session: SessionDep, key: UploaderKey, batch_id: int, body: KnownHashes) -> AttachResponse:
    """Add documents the server already has, by hash; the answer lists the hashes to upload."""
    registered, missing = documents.attach_known(session, key, batch_id, body.sha256)
    return AttachResponse(documents=[to_uploaded(r) for r in registered], missing=missing)
