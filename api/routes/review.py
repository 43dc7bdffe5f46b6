from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import ReviewerKey, SessionDep
from api.routes.documents import page_url
from api.schemas import ReviewDecision, ReviewItemPublic, ReviewOutcome
from api.services import review
from api.services.export import as_number
from models.db import DocumentStatus

router = APIRouter(prefix="/v1/review", tags=["review"])


@router.get("/items")
def list_items(
    session: SessionDep, key: ReviewerKey, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> list[ReviewItemPublic]:
    """Open review items, oldest first."""
    return [
        ReviewItemPublic(
            id=o.item.id,
            document_id=o.item.document_id,
            code=o.field.code,
            label=o.field.label,
            unit=o.field.unit,
            value=as_number(review.effective_value(session, o.field)),
            text=o.field.text,
            reasons=list(o.field.reasons),
            version=o.item.version,
            image_url=page_url(o.item.document_id, o.field.page) if o.field.page else None,
            page=o.field.page,
            bbox=o.field.bbox,
        )
        for o in review.open_items(session, limit)
    ]


@router.post("/items/{item_id}", responses={409: {"description": "`version` is stale"}})
def decide(session: SessionDep, key: ReviewerKey, item_id: int, decision: ReviewDecision) -> ReviewOutcome:
    """Correct (`value`) or confirm (`confirm: true`) an item at the `version` you saw."""
    correcting = "value" in decision.model_fields_set
    if decision.confirm == correcting:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "send either `value` or `confirm: true`")
    value = None if decision.value is None else float(decision.value)
    item, field, document = review.decide(
        session, key, item_id, decision.version, confirm=decision.confirm, value=value
    )
    return ReviewOutcome(
        id=item.id,
        version=item.version,
        field_status=field.status,
        document_status=DocumentStatus(document.status),
    )
