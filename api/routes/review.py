"""Review routes: the leased queue, decisions, a document's review view, crops, stats, the page."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import FileResponse

from api.deps import PageViewerKey, ReviewerKey, SessionDep, StateDep
from api.routes.documents import page_url
from api.schemas import (
    PagePublic,
    ReasonStatsPublic,
    ReviewDecision,
    ReviewDocument,
    ReviewField,
    ReviewItemPublic,
    ReviewOutcome,
    ReviewReportEntry,
    ReviewRuleCheck,
    ReviewStats,
)
from api.services import documents, pages, report_review, review
from api.services.export import as_number
from api.services.report_review import ReportEntry
from models.db import DocumentStatus, ReviewItem

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(prefix="/v1/review", tags=["review"])
crops = APIRouter(prefix="/v1/documents", tags=["review"])
page = APIRouter(include_in_schema=False)


@router.get("/items")
def list_items(
    state: StateDep, session: SessionDep, key: ReviewerKey, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[ReviewItemPublic]:
    """Open items leased to the caller (oldest document first, table order): the items it
    already holds, then whole documents no one else holds, until `limit`."""
    leased = review.lease_items(session, key, limit, state.settings.review.lease_seconds)
    return [_item_public(o) for o in leased]


def _item_public(o: review.OpenItem) -> ReviewItemPublic:
    document_id, field = o.item.document_id, o.field
    if field is None:
        assert o.report is not None  # an item is a field's or the report's
        return _report_item_public(o.item, o.report)
    return ReviewItemPublic(
        id=o.item.id,
        document_id=document_id,
        code=field.code,
        label=field.label,
        unit=field.unit,
        value=as_number(o.value),
        text=field.text,
        reasons=list(field.reasons),
        version=o.item.version,
        image_url=page_url(document_id, field.page) if field.page else None,
        page=field.page,
        bbox=field.bbox,
        crop_url=crop_url(document_id, field.code) if field.page and field.bbox else None,
        label_read=field.label_read,
        position=field.position,
        lease_expires_at=o.item.lease_expires_at,
    )


def _report_item_public(item: ReviewItem, entry: ReportEntry) -> ReviewItemPublic:
    return ReviewItemPublic(
        id=item.id,
        document_id=item.document_id,
        kind="report",
        code=entry.code,
        label=entry.label,
        unit="",
        value=entry.value if isinstance(entry.value, int) else None,
        value_text=entry.value if isinstance(entry.value, str) else None,
        text=entry.read,
        reasons=entry.reasons,
        version=item.version,
        image_url=page_url(item.document_id, entry.page) if entry.page else None,
        page=entry.page,
        bbox=entry.bbox,
        crop_url=heading_crop_url(item.document_id) if entry.page and entry.bbox else None,
        lease_expires_at=item.lease_expires_at,
    )


@router.post(
    "/items/{item_id}",
    responses={409: {"description": "`version` is stale, or the item is not leased to the caller"}},
)
def decide(
    state: StateDep, session: SessionDep, key: ReviewerKey, item_id: int, decision: ReviewDecision
) -> ReviewOutcome:
    """Correct (`value`; a unit name: `text`) or confirm (`confirm: true`) an item at the
    `version` you saw."""
    answers = [decision.confirm, *(name in decision.model_fields_set for name in ("value", "text"))]
    if sum(answers) != 1:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "send one of `value`, `text` or `confirm: true`")
    value = None if decision.value is None else float(decision.value)
    if value is not None and not math.isfinite(value):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "`value` must be a finite number or null")
    done = review.decide(
        session,
        key,
        item_id,
        decision.version,
        confirm=decision.confirm,
        value=value,
        text=decision.text,
        lease_seconds=state.settings.review.lease_seconds,
    )
    return ReviewOutcome(
        id=done.item.id,
        version=done.item.version,
        field_status=done.status,
        document_status=DocumentStatus(done.document.status),
        open_items=done.open_items,
        opened=[i.id for i in done.opened],
    )


@router.get("/documents/{document_id}")
def get_document(session: SessionDep, key: ReviewerKey, document_id: int) -> ReviewDocument:
    """What the review page draws: the pages, every field with its box, status and item, and
    the catalogue's rules on the effective values."""
    view = review.document_view(session, documents.get_document(session, key, document_id))
    sizes = {p.number: p for p in pages.list_pages(session, view.document)}
    document = view.document
    return ReviewDocument(
        id=document.id,
        filename=document.filename,
        status=DocumentStatus(document.status),
        unit_name=document.unit_name,
        year=document.year,
        report=[_report_public(r) for r in view.report],
        template_id=document.template_id,
        pages=[
            PagePublic(
                number=n,
                width=sizes[n].width if n in sizes else None,
                height=sizes[n].height if n in sizes else None,
                image_url=page_url(document.id, n),
            )
            for n in view.pages
        ],
        fields=[_field_public(f) for f in view.fields],
        checks=[
            ReviewRuleCheck(
                kind=c.rule.kind,
                target=c.rule.target,
                terms=list(c.rule.terms),
                holds=c.holds,
                expected=as_number(c.expected),
                actual=as_number(c.actual),
                note=c.rule.note,
            )
            for c in view.checks
        ],
    )


def _field_public(view: review.FieldView) -> ReviewField:
    row, item = view.row, view.item
    return ReviewField(
        id=row.id,
        code=row.code,
        label=row.label,
        unit=row.unit,
        label_read=row.label_read,
        unit_read=row.unit_read,
        value=as_number(view.value),
        machine_value=as_number(row.value),
        text=row.text,
        confidence=row.confidence,
        status=row.status,
        reasons=list(row.reasons),
        page=row.page,
        bbox=row.bbox,
        item_id=item.id if item else None,
        item_state=item.state if item else None,
        item_version=item.version if item else None,
    )


def _report_public(view: review.ReportView) -> ReviewReportEntry:
    entry, item = view.entry, view.item
    return ReviewReportEntry(
        code=entry.code,
        label=entry.label,
        value=entry.value,
        read=entry.read,
        confidence=entry.confidence,
        status=entry.status,
        reasons=entry.reasons,
        page=entry.page,
        bbox=entry.bbox,
        item_id=item.id if item else None,
        item_state=item.state if item else None,
        item_version=item.version if item else None,
    )


@router.get("/stats")
def get_stats(session: SessionDep, key: ReviewerKey) -> ReviewStats:
    """Queue metrics and per-reason acceptance (also `docextract review-stats`)."""
    stats = review.queue_stats(session)
    return ReviewStats(
        open_items=stats.open_items,
        decided=stats.decided,
        items_per_hour=stats.items_per_hour,
        median_seconds_per_item=stats.median_seconds_per_item,
        reasons=[
            ReasonStatsPublic(
                reason=r.reason,
                items=r.items,
                confirmed=r.confirmed,
                corrected=r.corrected,
                machine_right=r.machine_right,
                machine_right_share=r.machine_right_share,
            )
            for r in stats.reasons
        ],
    )


@crops.get(
    "/{document_id}/fields/{code}/crop.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_crop(
    state: StateDep,
    session: SessionDep,
    key: PageViewerKey,
    document_id: int,
    code: str,
    row: Annotated[bool, Query(description="the whole row: label, unit and value")] = False,
) -> Response:
    """A field's value cell cut from its page image (with a margin), or its whole row."""
    document = documents.get_document(session, key, document_id)
    png = review.field_crop(session, state.store, state.settings.limits, document, code, whole_row=row)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@crops.get(
    "/{document_id}/report/crop.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_heading_crop(state: StateDep, session: SessionDep, key: PageViewerKey, document_id: int) -> Response:
    """Where the report's unit name and year were read (the lines above the table, or the
    title), cut from its page image."""
    document = documents.get_document(session, key, document_id)
    png = report_review.heading_crop(session, state.store, state.settings.limits, document)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


def heading_crop_url(document_id: int) -> str:
    return f"/v1/documents/{document_id}/report/crop.png"


def crop_url(document_id: int, code: str) -> str:
    return f"/v1/documents/{document_id}/fields/{code}/crop.png"


@page.get("/review", response_class=FileResponse)
def review_page() -> FileResponse:
    """The reviewer's web page (static HTML + JS; it logs in with a reviewer key)."""
    return FileResponse(STATIC_DIR / "review.html", media_type="text/html")
