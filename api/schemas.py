"""What the API sends and accepts (the contract's HTTP section, plus additions)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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
    resent: int = Field(
        0,
        description="times the sweeper sent one of its documents to the workers again: "
        "its worker died, or the broker never had or lost its message",
    )


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
    kind: Literal["field", "report"] = Field(
        "field", description="`report`: the report's unit name (code report.unit_name) or year (report.year)"
    )
    code: str
    label: str
    unit: str
    value: Number | None = Field(
        description="effective: the latest decision's, else what was read (a year item: the year)"
    )
    value_text: str | None = Field(None, description="a unit name item: the effective name")
    text: str | None
    reasons: list[str]
    version: int
    image_url: str | None = Field(description="the page image that holds the value cell")
    page: int | None
    bbox: list[float] | None
    crop_url: str | None = Field(
        None,
        description="PNG of the value cell with a margin, `?row=true`: the whole row; a report item: the heading",
    )
    label_read: str | None = None
    position: int | None = Field(None, description="the field's place in the catalogue (table order)")
    lease_expires_at: datetime | None = Field(None, description="the caller holds the item until then")


class ReviewDecision(BaseModel):
    """`{"value": v, "version": n}` corrects (a field, a year); `{"text": "…", "version": n}` corrects
    a unit name; `{"confirm": true, "version": n}` confirms."""

    value: Number | None = None
    text: str | None = Field(None, description="a unit name item's correction: the name as printed")
    confirm: bool = False
    version: int


class ReviewOutcome(BaseModel):
    id: int
    version: int
    field_status: str
    document_status: DocumentStatus
    open_items: int = Field(0, description="items of the document still open")
    opened: list[int] = Field(default_factory=list, description="items the re-validation opened (new mismatches)")


class ReviewField(BaseModel):
    id: int
    code: str
    label: str
    unit: str
    label_read: str | None
    unit_read: str | None
    value: Number | None = Field(description="effective: the latest decision's value, else what was read")
    machine_value: Number | None
    text: str | None
    confidence: float
    status: str
    reasons: list[str]
    page: int | None
    bbox: list[float] | None
    item_id: int | None
    item_state: str | None
    item_version: int | None


class ReviewRuleCheck(BaseModel):
    kind: str = Field(description="`sum`: target = sum of terms; `le`: each term ≤ target")
    target: str
    terms: list[str]
    holds: bool
    expected: Number | None = Field(description="the sum of the terms (sum rules)")
    actual: Number | None = Field(description="the target's value")
    note: str


class ReviewReportEntry(BaseModel):
    """The report's unit name or year, as `ReviewField` is a field."""

    code: str = Field(description="report.unit_name or report.year")
    label: str
    value: str | int | None = Field(description="effective: a person's decision, else what the pipeline gave")
    read: str | None = Field(description="as read on its line, before any mending")
    confidence: float | None
    status: str | None
    reasons: list[str]
    page: int | None
    bbox: list[float] | None = Field(description="the heading where it was read, in page pixels")
    item_id: int | None
    item_state: str | None
    item_version: int | None


class ReviewDocument(BaseModel):
    id: int
    filename: str
    status: DocumentStatus
    unit_name: str | None
    year: int | None
    report: list[ReviewReportEntry] = Field(default_factory=list, description="the unit name and the year")
    template_id: str | None
    pages: list[PagePublic] = Field(description="the pages that hold fields")
    fields: list[ReviewField]
    checks: list[ReviewRuleCheck] = Field(description="the catalogue's rules on the effective values")


class ReasonStatsPublic(BaseModel):
    reason: str
    items: int
    confirmed: int
    corrected: int
    machine_right: int = Field(description="confirmed, or corrected to the value that was read")
    machine_right_share: float | None


class ReviewStats(BaseModel):
    open_items: int
    decided: int
    items_per_hour: int = Field(description="decisions in the last hour")
    median_seconds_per_item: float | None
    reasons: list[ReasonStatsPublic]


class ErrorMessage(BaseModel):
    """The body of every error: a sentence, or (request validation) FastAPI's list of fields."""

    detail: str | list[dict] | None
