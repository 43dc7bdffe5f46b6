"""The review queue: open items, and a reviewer's decision on one (correct or confirm).

The machine's value is never changed: a decision is a `corrections` row (who, when, old,
new). `version` makes decisions optimistic: a stale one is refused. Leases (a reviewer holding
items for a while) have their columns and are for issue 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from api.services.errors import Conflict, NotFound
from models.db import (
    ApiKey,
    Correction,
    CorrectionAction,
    Document,
    DocumentStatus,
    FieldRow,
    FieldStatus,
    ReviewItem,
    ReviewState,
    utcnow,
)


@dataclass(frozen=True)
class OpenItem:
    item: ReviewItem
    field: FieldRow


def open_items(session: Session, limit: int) -> list[OpenItem]:
    rows = session.execute(
        select(ReviewItem, FieldRow)
        .join(FieldRow, FieldRow.id == ReviewItem.field_id)
        .where(ReviewItem.state == ReviewState.open.value)
        .order_by(ReviewItem.id)
        .limit(limit)
    ).all()
    return [OpenItem(item, field) for item, field in rows]


def effective_value(session: Session, field: FieldRow) -> float | None:
    latest = session.scalars(
        select(Correction).where(Correction.field_id == field.id).order_by(Correction.id.desc())
    ).first()
    return latest.new_value if latest is not None else field.value


def decide(
    session: Session,
    key: ApiKey,
    item_id: int,
    version: int,
    *,
    confirm: bool,
    value: float | None,
) -> tuple[ReviewItem, FieldRow, Document]:
    item = session.get(ReviewItem, item_id)
    if item is None or item.field_id is None:
        raise NotFound(f"review item {item_id}")
    # Compare-and-set: of two reviewers deciding on one version, one wins, one gets 409.
    changed = session.execute(
        update(ReviewItem)
        .where(
            ReviewItem.id == item_id,
            ReviewItem.version == version,
            ReviewItem.state == ReviewState.open.value,
        )
        .values(version=ReviewItem.version + 1, state=ReviewState.closed.value, closed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise Conflict(f"review item {item_id} changed (version {item.version}, {item.state})")
    session.refresh(item)
    field = session.get_one(FieldRow, item.field_id)
    old = effective_value(session, field)
    action = CorrectionAction.confirm if confirm else CorrectionAction.correct
    session.add(
        Correction(
            field_id=field.id,
            review_item_id=item.id,
            api_key_id=key.id,
            action=action.value,
            old_value=old,
            new_value=old if confirm else value,
        )
    )
    field.status = (FieldStatus.confirmed if confirm else FieldStatus.corrected).value
    document = session.get_one(Document, field.document_id)
    still_open = session.scalar(
        select(
            exists().where(
                ReviewItem.document_id == document.id,
                ReviewItem.state == ReviewState.open.value,
            )
        )
    )
    if not still_open and document.status == DocumentStatus.needs_review:
        document.status = DocumentStatus.verified.value
    session.flush()
    return item, field, document
