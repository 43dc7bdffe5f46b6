from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from api.deps import (
    AdminKey,
    ConsumerKey,
    PageViewerKey,
    ReaderKey,
    SessionDep,
    StateDep,
    UploaderKey,
)
from api.schemas import (
    DocumentPage,
    DocumentPublic,
    PagePublic,
    UploadedDocument,
    UploadResponse,
)
from api.services import documents, pages
from api.services.documents import DocumentFilter, Registered
from api.upload import FIELD_NAME, UploadLimits, receive_files
from models.db import Document, DocumentStatus
from models.schemas import ExtractionResult

router = APIRouter(prefix="/v1/documents", tags=["documents"])

_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD_NAME],
                    "properties": {
                        FIELD_NAME: {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        }
                    },
                }
            }
        },
    }
}


def to_public(document: Document) -> DocumentPublic:
    return DocumentPublic(
        id=document.id,
        filename=document.filename,
        sha256=document.sha256,
        status=DocumentStatus(document.status),
        error=document.error,
        result=ExtractionResult.model_validate(document.result) if document.result else None,
    )


def to_uploaded(registered: Registered) -> UploadedDocument:
    document = registered.document
    return UploadedDocument(
        id=document.id,
        filename=registered.filename,
        sha256=document.sha256,
        status=DocumentStatus(document.status),
        duplicate=registered.duplicate,
    )


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_MULTIPART_BODY,
    responses={413: {"description": "a file or the request is over the size limits"}},
)
async def upload_documents(
    request: Request,
    state: StateDep,
    session: SessionDep,
    key: UploaderKey,
    batch_id: Annotated[int | None, Query(description="add to this batch of yours")] = None,
) -> UploadResponse:
    """Upload scans (one or more `files` parts); new documents are queued for extraction."""
    limits = UploadLimits(
        max_file_bytes=state.api.max_file_bytes or state.settings.limits.max_bytes,
        max_files=state.api.max_files_per_request,
        max_request_bytes=state.api.max_request_bytes,
    )
    received = await receive_files(request, state.store, limits)
    try:
        batch, registered = await run_in_threadpool(
            documents.register_uploads, session, state.store, key, received, batch_id
        )
    finally:  # whatever was not adopted into storage is litter
        for item in received:
            item.temp_path.unlink(missing_ok=True)
    return UploadResponse(batch_id=batch.id, documents=[to_uploaded(r) for r in registered])


@router.get("")
def list_documents(
    state: StateDep,
    session: SessionDep,
    key: ConsumerKey,
    status: DocumentStatus | None = None,
    year: int | None = None,
    unit_name: str | None = None,
    template: str | None = None,
    batch_id: int | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> DocumentPage:
    """A page of documents in upload order; follow `next_cursor` until it is null."""
    where = DocumentFilter(status, year, unit_name, template, batch_id)
    found, next_cursor = documents.list_documents(session, key, where, cursor, min(limit, state.api.max_list_limit))
    return DocumentPage(documents=[to_public(d) for d in found], next_cursor=next_cursor)


@router.get("/{document_id}")
def get_document(session: SessionDep, key: ReaderKey, document_id: int) -> DocumentPublic:
    return to_public(documents.get_document(session, key, document_id))


@router.post("/{document_id}/retry", status_code=status.HTTP_202_ACCEPTED)
def retry_document(session: SessionDep, key: AdminKey, document_id: int) -> DocumentPublic:
    """Queue a failed document again (admin)."""
    return to_public(documents.retry(session, key, document_id))


@router.get("/{document_id}/pages")
def list_pages(session: SessionDep, key: PageViewerKey, document_id: int) -> list[PagePublic]:
    document = documents.get_document(session, key, document_id)
    return [
        PagePublic(
            number=p.number,
            width=p.width,
            height=p.height,
            image_url=page_url(document.id, p.number),
        )
        for p in pages.list_pages(session, document)
    ]


@router.get(
    "/{document_id}/pages/{number}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}}}},
)
def get_page_image(
    state: StateDep, session: SessionDep, key: PageViewerKey, document_id: int, number: int
) -> FileResponse:
    """The page as the service renders it: fields' `bbox` are in its pixels."""
    document = documents.get_document(session, key, document_id)
    path = pages.page_image(session, state.store, state.settings.limits, document, number)
    return FileResponse(path, media_type="image/png")


def page_url(document_id: int, number: int) -> str:
    return f"/v1/documents/{document_id}/pages/{number}"
