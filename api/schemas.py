"""What the API sends and accepts (the contract's HTTP section, plus additions)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from models.db import DocumentStatus
from models.schemas import ExtractionResult, Number


class UploadedDocument(BaseModel):
    id: int
    filename: str
    sha256: str
    status: DocumentStatus
    duplicate: bool = Field(description="these bytes were already known: no new extraction")


class UploadResponse(BaseModel):
    batch_id: int = Field(description="GET /v1/batches/{batch_id} tells its progress")
    documents: list[UploadedDocument]


class DocumentPublic(BaseModel):
    id: int
    filename: str
    sha256: str
    status: DocumentStatus
    error: str | None = Field(description="why the document failed, when it did")
    result: ExtractionResult | None = Field(description="the result JSON once extracted")


class DocumentPage(BaseModel):
    documents: list[DocumentPublic]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: end")


class BatchFailure(BaseModel):
    id: int
    filename: str
    error: str | None


class BatchPublic(BaseModel):
    id: int
    created_at: datetime
    total: int
    done: int = Field(description="documents with a result (extracted, needs_review, verified)")
    failed: int
    pending: int = Field(description="documents still queued or processing")
    finished: bool = Field(description="nothing pending")
    by_status: dict[DocumentStatus, int]
    failures: list[BatchFailure] = Field(description="the first failed documents and why")


class KnownHashes(BaseModel):
    sha256: list[str] = Field(max_length=1000, description="hex SHA-256 of files to upload")


class AttachResponse(BaseModel):
    documents: list[UploadedDocument] = Field(description="known documents, now in the batch")
    missing: list[str] = Field(description="hashes the server does not have: upload these")


class PagePublic(BaseModel):
    number: int
    width: int | None
    height: int | None
    image_url: str


class ReviewItemPublic(BaseModel):
    id: int
    document_id: int
    code: str
    label: str
    unit: str
    value: Number | None
    text: str | None
    reasons: list[str]
    version: int
    image_url: str | None = Field(description="the page image that holds the value cell")
    page: int | None
    bbox: list[float] | None


class ReviewDecision(BaseModel):
    """`{"value": v, "version": n}` corrects; `{"confirm": true, "version": n}` confirms."""

    value: Number | None = None
    confirm: bool = False
    version: int


class ReviewOutcome(BaseModel):
    id: int
    version: int
    field_status: str
    document_status: DocumentStatus
