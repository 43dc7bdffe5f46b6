"""The review queue: leases, a reviewer's decision on an item, re-validation, statistics.

The machine's value is never changed: a decision is a `corrections` row (who, when, old, new,
the field's reasons then). `version` makes decisions optimistic: a stale one is refused.

Leases: asking for items leases whole documents (every open item of the oldest documents no
one else holds) to the caller until `lease_expires_at`; asking again renews them. Only the
holder may decide an item; a lease that expired stays the holder's until someone else asks
for items and takes the document over.

After each decision the catalogue's rules run again on the effective values (see
`revalidate`): a rule the decision mends drops its reason (`sum_mismatch`, `exceeds_parent`)
from its fields, one it breaks adds it, and a field not yet decided by a person that a newly
broken rule involves gets a new item (leased to the same reviewer). A field matched with a low
label similarity that a person decided teaches an alias (`models.aliases`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from api.services import pages
from api.services.errors import Conflict, Invalid, NotFound
from api.services.export import as_number
from api.services.report_review import (
    ReportEntry,
    decide_report_item,
    decided_value,
    report_entries,
    report_entry,
)
from docextract.settings import LimitSettings, get_settings
from models.aliases import record_alias
from models.db import (
    ApiKey,
    Correction,
    CorrectionAction,
    Document,
    DocumentStatus,
    FieldRow,
    FieldStatus,
    ReportCorrection,
    ReviewItem,
    ReviewState,
    utcnow,
)
from models.schemas import DECIDED_STATUSES, ReportSubject
from models.template import registry
from worker.pipeline.mapping import normalize_label
from worker.pipeline.reasons import Reason
from worker.pipeline.validate import RuleCheck, check_rules, reasons_by_code
from worker.storage import ContentStore


@dataclass(frozen=True)
class OpenItem:
    """A field's item (`field`, its effective `value`) or the report's (`report`)."""

    item: ReviewItem
    field: FieldRow | None
    value: float | None  # effective
    report: ReportEntry | None = None


# -- values ---------------------------------------------------------------------------------------


def effective_value(session: Session, field: FieldRow) -> float | None:
    latest = session.scalars(
        select(Correction).where(Correction.field_id == field.id).order_by(Correction.id.desc())
    ).first()
    return latest.new_value if latest is not None else field.value


def effective_values(session: Session, fields: list[FieldRow]) -> dict[int, float | None]:
    """Field id → its latest decision's value, else what the machine read."""
    values = {f.id: f.value for f in fields}
    rows = session.execute(
        select(Correction.field_id, Correction.new_value).where(Correction.field_id.in_(values)).order_by(Correction.id)
    )
    for field_id, new_value in rows:
        values[field_id] = new_value
    return values


def document_fields(session: Session, document_id: int) -> list[FieldRow]:
    return list(
        session.scalars(select(FieldRow).where(FieldRow.document_id == document_id).order_by(FieldRow.position))
    )


# -- leases ---------------------------------------------------------------------------------------


def lease_items(
    session: Session, key: ApiKey, limit: int, lease_seconds: int, now: datetime | None = None
) -> list[OpenItem]:
    """The caller's items, oldest document first and in table order, leased until now + lease.

    Items the caller holds are renewed; then whole documents are taken until `limit` items are
    held or none is free.
    """
    now = now or utcnow()
    until = now + timedelta(seconds=lease_seconds)
    mine = and_(ReviewItem.state == ReviewState.open.value, ReviewItem.leased_by == key.id)
    session.execute(
        update(ReviewItem).where(mine).values(lease_expires_at=until).execution_options(synchronize_session=False)
    )
    held = session.scalar(select(func.count()).select_from(ReviewItem).where(mine)) or 0
    while held < limit:
        document_id = _oldest_free_document(session, now)
        if document_id is None:
            break
        held += session.execute(
            update(ReviewItem)
            .where(ReviewItem.document_id == document_id, ReviewItem.state == ReviewState.open.value)
            .values(leased_by=key.id, leased_at=now, lease_expires_at=until)
            .execution_options(synchronize_session=False)
        ).rowcount
    rows = session.execute(
        select(ReviewItem, FieldRow, Document)
        .outerjoin(FieldRow, FieldRow.id == ReviewItem.field_id)
        .join(Document, Document.id == ReviewItem.document_id)
        .where(mine)
        # A document's unit name and year first: they head the page, as they head the result.
        .order_by(Document.created_at, Document.id, ReviewItem.field_id.is_not(None), FieldRow.position)
        .limit(limit)
        .execution_options(populate_existing=True)
    ).all()
    values = effective_values(session, [f for _, f, _ in rows if f is not None])
    return [
        OpenItem(item, f, values[f.id])
        if f is not None
        else OpenItem(item, None, None, report_entry(document, ReportSubject(item.subject)))
        for item, f, document in rows
    ]


def _oldest_free_document(session: Session, now: datetime) -> int | None:
    """The oldest document with open items of which none is under a live lease.

    On PostgreSQL the document row is locked and locked rows skipped, so two reviewers asking
    at once get different documents; SQLite serialises writers anyway.
    """
    open_item = and_(ReviewItem.document_id == Document.id, ReviewItem.state == ReviewState.open.value)
    held = and_(open_item, ReviewItem.leased_by.is_not(None), ReviewItem.lease_expires_at > now)
    return session.scalar(
        select(Document.id)
        .where(exists().where(open_item), ~exists().where(held))
        .order_by(Document.created_at, Document.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Document)
    )


def _renew_document_lease(session: Session, key: ApiKey, document_id: int, until: datetime) -> None:
    session.execute(
        update(ReviewItem)
        .where(
            ReviewItem.document_id == document_id,
            ReviewItem.state == ReviewState.open.value,
            ReviewItem.leased_by == key.id,
        )
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )


# -- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    item: ReviewItem
    status: str  # the field's or the report subject's, after the decision
    document: Document
    opened: list[ReviewItem]  # items the re-validation opened
    open_items: int  # left open in the document


def decide(
    session: Session,
    key: ApiKey,
    item_id: int,
    version: int,
    *,
    confirm: bool,
    value: float | None,
    lease_seconds: int,
    text: str | None = None,
    now: datetime | None = None,
) -> Decision:
    """A person's decision on an item: a field's (`value`) or the report's unit name (`text`)
    or year (`value`), or `confirm` what is there."""
    now = now or utcnow()
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"review item {item_id}")
    # The document row first, as leasing and the worker's persist step lock it: one lock
    # order (document, then items), and the result JSON below is rewritten by one at a time.
    document = session.get_one(Document, item.document_id, with_for_update=True)
    session.refresh(item)
    _check_can_decide(item, key, version, now)
    if item.field_id is None:
        decided = None if confirm else decided_value(ReportSubject(item.subject), value, text)
    elif text is not None:
        raise Invalid("a field takes `value`, a number, not `text`")
    # Compare-and-set: of two decisions on one version, one wins and the other gets 409.
    changed = session.execute(
        update(ReviewItem)
        .where(
            ReviewItem.id == item_id,
            ReviewItem.version == version,
            ReviewItem.state == ReviewState.open.value,
            ReviewItem.leased_by == key.id,
        )
        .values(version=ReviewItem.version + 1, state=ReviewState.closed.value, closed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        session.refresh(item)
        raise Conflict(f"review item {item_id} changed meanwhile (version {item.version}, {item.state}); reload it")
    session.refresh(item)
    until = now + timedelta(seconds=lease_seconds)
    _renew_document_lease(session, key, document.id, until)
    if item.field_id is None:
        status = decide_report_item(session, item, document, key.id, confirm=confirm, decided=decided, now=now)
        opened: list[ReviewItem] = []
    else:
        field = _decide_field(session, item, document, key, confirm, value, now)
        status = field.status
        opened = revalidate(session, document, field, key, now, until)
    open_left = session.scalar(
        select(func.count())
        .select_from(ReviewItem)
        .where(ReviewItem.document_id == document.id, ReviewItem.state == ReviewState.open.value)
    )
    if not open_left and document.status == DocumentStatus.needs_review:
        document.status = DocumentStatus.verified.value
    session.flush()
    return Decision(item, status, document, opened, open_left or 0)


def _decide_field(
    session: Session,
    item: ReviewItem,
    document: Document,
    key: ApiKey,
    confirm: bool,
    value: float | None,
    now: datetime,
) -> FieldRow:
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
            reasons=list(field.reasons),
            created_at=now,
        )
    )
    field.status = (FieldStatus.confirmed if confirm else FieldStatus.corrected).value
    if Reason.LOW_LABEL_MATCH in field.reasons and field.label_read and document.template_id:
        record_alias(session, document.template_id, normalize_label(field.label_read), field.code, key.id)
    session.flush()
    return field


def _check_can_decide(item: ReviewItem, key: ApiKey, version: int, now: datetime) -> None:
    if item.state != ReviewState.open.value or item.version != version:
        raise Conflict(f"review item {item.id} is at version {item.version} ({item.state}), not {version}; reload it")
    if item.leased_by == key.id:
        return  # a lease that expired stays the holder's until another reviewer takes it
    expires = item.lease_expires_at
    if item.leased_by is not None and expires is not None and _aware(expires) > now:
        raise Conflict(f"review item {item.id} is leased to another reviewer until {_aware(expires).isoformat()}")
    raise Conflict(f"review item {item.id} is not leased to you: GET /v1/review/items first")


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def revalidate(
    session: Session, document: Document, decided: FieldRow, key: ApiKey, now: datetime, until: datetime
) -> list[ReviewItem]:
    """The decision's effect on the catalogue's rules; returns the items it opened.

    The rules run on the effective values before and after the decision (the latest
    correction is already flushed). Only codes whose validation reasons changed are touched:
    a rule that now holds drops its reason, one that now fails adds it, and an accepted field
    it adds a reason to goes back to review with a new item. Rules the decision does not
    change keep what extraction said.
    """
    fields = document_fields(session, document.id)
    after = effective_values(session, fields)
    before = after | {decided.id: _value_before(session, decided)}
    flags_before = reasons_by_code(rule_checks(document.template_id, _by_code(fields, before)))
    flags_after = reasons_by_code(rule_checks(document.template_id, _by_code(fields, after)))
    opened = []
    for row in fields:
        was, now_flags = flags_before.get(row.code, []), flags_after.get(row.code, [])
        if was == now_flags:
            continue
        row.reasons = [r for r in row.reasons if not Reason(r).from_rules] + now_flags
        if row.status == FieldStatus.accepted.value and set(now_flags) - set(was):
            row.status = FieldStatus.review.value
            item = ReviewItem(
                document_id=document.id, field_id=row.id, leased_by=key.id, leased_at=now, lease_expires_at=until
            )
            session.add(item)
            opened.append(item)
    session.flush()
    _sync_result(document, fields, after)
    return opened


def rule_checks(template_id: str | None, values: dict[str, float | None]) -> list[RuleCheck]:
    """The template's rules on these values, as the decide stage checks them (every
    registered form: a deployment's own too); none for a template no longer registered."""
    template = registry(tuple(get_settings().templates.dirs)).get(template_id or "")
    return check_rules(values, template.catalogue.rules) if template is not None else []


def _value_before(session: Session, field: FieldRow) -> float | None:
    """The field's effective value before its latest correction."""
    latest = session.scalars(
        select(Correction).where(Correction.field_id == field.id).order_by(Correction.id.desc())
    ).first()
    return latest.old_value if latest is not None else field.value


def _by_code(fields: list[FieldRow], values: dict[int, float | None]) -> dict[str, float | None]:
    return {f.code: values[f.id] for f in fields}


def _sync_result(document: Document, fields: list[FieldRow], values: dict[int, float | None]) -> None:
    """Mirror statuses, reasons and reviewed values into the served result JSON (a new dict:
    JSON columns only notice assignment). A decided field's `value` is the person's, and
    `machine_value` what the pipeline extracted; `text` stays what was read."""
    if not document.result:
        return
    rows = {f.code: f for f in fields}
    result = dict(document.result)
    synced = []
    for entry in result.get("fields", []):
        row = rows.get(entry["code"])
        if row is not None:
            decided = row.status in DECIDED_STATUSES
            entry = entry | {"status": row.status, "reasons": list(row.reasons)}
            if decided:
                entry |= {"value": as_number(values[row.id]), "machine_value": as_number(row.value)}
        synced.append(entry)
    result["fields"] = synced
    document.result = result


# -- the document view and crops ------------------------------------------------------------------


@dataclass(frozen=True)
class FieldView:
    row: FieldRow
    value: float | None
    item: ReviewItem | None


@dataclass(frozen=True)
class ReportView:
    entry: ReportEntry
    item: ReviewItem | None


@dataclass(frozen=True)
class DocumentView:
    document: Document
    pages: list[int]
    fields: list[FieldView]
    checks: list[RuleCheck]
    report: list[ReportView]  # the unit name and the year


def document_view(session: Session, document: Document) -> DocumentView:
    fields = document_fields(session, document.id)
    values = effective_values(session, fields)
    items = list(session.scalars(select(ReviewItem).where(ReviewItem.document_id == document.id)))
    by_field = {i.field_id: i for i in items if i.field_id is not None}
    by_subject = {i.subject: i for i in items if i.subject is not None}
    checks = rule_checks(document.template_id, _by_code(fields, values))
    page_numbers = sorted({f.page for f in fields if f.page is not None})
    views = [FieldView(f, values[f.id], by_field.get(f.id)) for f in fields]
    report = [ReportView(entry, by_subject.get(entry.subject.value)) for entry in report_entries(document)]
    return DocumentView(document, page_numbers, views, checks, report)


def field_crop(
    session: Session,
    store: ContentStore,
    limits: LimitSettings,
    document: Document,
    code: str,
    *,
    whole_row: bool,
) -> bytes:
    """PNG of a field's value box with a margin, or of its whole row up to it (label, unit, value)."""
    row = session.scalar(select(FieldRow).where(FieldRow.document_id == document.id, FieldRow.code == code))
    if row is None:
        raise NotFound(f"field {code}")
    if row.page is None or not row.bbox:
        raise NotFound(f"field {code} was not found on a page")
    x0, y0, x1, y1 = (float(v) for v in row.bbox)
    margin = max(8.0, 0.25 * (y1 - y0))
    # The row: from the page's left edge (the label and unit cells) to the value cell.
    box = (0.0 if whole_row else x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    return pages.crop_png(session, store, limits, document, row.page, box, f"field {code}")


# -- statistics ------------------------------------------------------------------------------------


@dataclass
class ReasonStats:
    reason: str
    items: int = 0
    confirmed: int = 0
    corrected: int = 0
    machine_right: int = 0  # confirmed, or corrected to what the machine had read

    @property
    def machine_right_share(self) -> float | None:
        return round(self.machine_right / self.items, 4) if self.items else None


@dataclass
class QueueStats:
    open_items: int
    decided: int
    items_per_hour: int  # decisions in the hour before `now`
    median_seconds_per_item: float | None
    reasons: list[ReasonStats] = field(default_factory=list)


def queue_stats(session: Session, now: datetime | None = None) -> QueueStats:
    """Queue metrics and, per reason an item carried when decided (a field's, or the report's
    unit name's or year's), how often the machine was right: the data to tune the routing
    thresholds with.

    Seconds per item: from the later of the item's lease (or creation) and the same reviewer's
    previous decision, to the decision; so time spent on a document's other items is not counted.
    """
    now = now or utcnow()
    open_items = session.scalar(
        select(func.count()).select_from(ReviewItem).where(ReviewItem.state == ReviewState.open.value)
    )
    decisions = sorted(_field_decisions(session) + _report_decisions(session), key=_DecisionRecord.order)
    by_reason: dict[str, ReasonStats] = {}
    durations: list[float] = []
    previous: dict[int | None, datetime] = {}
    last_hour = 0
    for record in decisions:
        start = record.start
        if record.api_key_id in previous:
            start = max(start, previous[record.api_key_id])
        durations.append(max(0.0, (record.decided_at - start).total_seconds()))
        previous[record.api_key_id] = record.decided_at
        last_hour += record.decided_at > now - timedelta(hours=1)
        for reason in record.reasons or ["(none)"]:
            stats = by_reason.setdefault(reason, ReasonStats(reason))
            stats.items += 1
            stats.confirmed += record.action == CorrectionAction.confirm.value
            stats.corrected += record.action == CorrectionAction.correct.value
            stats.machine_right += record.machine_right
    return QueueStats(
        open_items=open_items or 0,
        decided=len(decisions),
        items_per_hour=last_hour,
        median_seconds_per_item=round(statistics.median(durations), 3) if durations else None,
        reasons=sorted(by_reason.values(), key=lambda s: (-s.items, s.reason)),
    )


@dataclass(frozen=True)
class _DecisionRecord:
    api_key_id: int | None
    decided_at: datetime
    start: datetime  # the item's lease, or its creation
    action: str
    machine_right: bool  # confirmed, or corrected to what the machine had read
    reasons: list[str]

    def order(self) -> tuple[int, datetime]:
        return (self.api_key_id or 0, self.decided_at)


def _field_decisions(session: Session) -> list[_DecisionRecord]:
    rows = session.execute(
        select(Correction, FieldRow.value, ReviewItem.leased_at, ReviewItem.created_at)
        .join(FieldRow, FieldRow.id == Correction.field_id)
        .join(ReviewItem, ReviewItem.id == Correction.review_item_id)
        .order_by(Correction.id)
    ).all()
    return [_record(c, c.new_value == machine_value, leased, created) for c, machine_value, leased, created in rows]


def _report_decisions(session: Session) -> list[_DecisionRecord]:
    rows = session.execute(
        select(ReportCorrection, ReviewItem.leased_at, ReviewItem.created_at)
        .join(ReviewItem, ReviewItem.id == ReportCorrection.review_item_id)
        .order_by(ReportCorrection.id)
    ).all()
    return [_record(c, c.new_text == c.old_text, leased, created) for c, leased, created in rows]


def _record(
    decision: Correction | ReportCorrection, kept_read: bool, leased_at: datetime | None, created_at: datetime
) -> _DecisionRecord:
    """A decision as the statistics see it; `kept_read`: corrected to what the machine had read."""
    confirmed = decision.action == CorrectionAction.confirm.value
    return _DecisionRecord(
        decision.api_key_id,
        _aware(decision.created_at),
        _aware(leased_at or created_at),
        decision.action,
        confirmed or kept_read,
        list(decision.reasons or []),
    )
