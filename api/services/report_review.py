"""Review of the report itself: its unit name (填报单位) and year, beside its fields.

An unsure unit name or year is an item of its own (`ReviewItem.subject`, no field). The
pipeline's read stays in the result JSON (`machine_unit_name`, `machine_year` once a person
decided); a decision is a `report_corrections` row, and the document's `unit_name`/`year`
columns and result JSON carry the effective values, so listings, filters and exports use
them. A unit name a person confirmed or typed is learnt (`models.known_units`): the next
documents of that unit are corroborated by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from api.services import pages
from api.services.errors import Invalid, NotFound
from docextract.settings import LimitSettings
from models.db import CorrectionAction, Document, ReportCorrection, ReviewItem
from models.known_units import record_unit
from models.schemas import DECIDED_STATUSES, FieldStatus, ReportSubject
from worker.storage import ContentStore

LABELS = {ReportSubject.unit_name: "填报单位", ReportSubject.year: "年度"}
EARLIEST_YEAR, LATEST_YEAR = 1949, 2100  # a year a report can cover; anything else is a typing slip
_MAX_UNIT_CHARS = 300  # the column's width


@dataclass(frozen=True)
class ReportEntry:
    """The report's unit name or year as a reviewer sees it."""

    subject: ReportSubject
    value: str | int | None  # effective: a person's decision, else the pipeline's
    read: str | None  # as read on its line, before any mending
    confidence: float | None
    status: str | None
    reasons: list[str]
    page: int | None
    bbox: list[float] | None

    @property
    def code(self) -> str:
        return f"report.{self.subject.value}"

    @property
    def label(self) -> str:
        return LABELS[self.subject]


def report_entry(document: Document, subject: ReportSubject) -> ReportEntry:
    report = (document.result or {}).get("report") or {}
    key = subject.prefix
    if subject is ReportSubject.unit_name:
        value, read = document.unit_name, report.get("unit_read")
    else:
        decided = report.get("year_status") in DECIDED_STATUSES
        value, read = document.year, report.get("machine_year" if decided else "year")
    return ReportEntry(
        subject=subject,
        value=value,
        read=None if read is None else str(read),
        confidence=report.get(f"{key}_confidence"),
        status=report.get(f"{key}_status"),
        reasons=list(report.get(f"{key}_reasons") or []),
        page=report.get("heading_page"),
        bbox=report.get("heading_bbox"),
    )


def report_entries(document: Document) -> list[ReportEntry]:
    return [report_entry(document, subject) for subject in ReportSubject]


def decide_report_item(
    session: Session,
    item: ReviewItem,
    document: Document,
    api_key_id: int | None,
    *,
    confirm: bool,
    decided: str | int | None,
    now: datetime,
) -> str:
    """Record a person's unit name or year (`decided`, see `decided_value`; or the current one
    when confirming) on the document; returns the subject's new status."""
    subject = ReportSubject(item.subject)
    old = document.unit_name if subject is ReportSubject.unit_name else document.year
    new = old if confirm else decided
    entry = report_entry(document, subject)
    session.add(
        ReportCorrection(
            document_id=document.id,
            subject=subject.value,
            review_item_id=item.id,
            api_key_id=api_key_id,
            action=(CorrectionAction.confirm if confirm else CorrectionAction.correct).value,
            old_text=None if old is None else str(old),
            new_text=None if new is None else str(new),
            reasons=entry.reasons,
            created_at=now,
        )
    )
    status = FieldStatus.confirmed if confirm else FieldStatus.corrected
    _apply(document, subject, new, status)
    if subject is ReportSubject.unit_name and isinstance(new, str):
        record_unit(session, new, api_key_id)
    return status.value


def decided_value(subject: ReportSubject, value: float | None, text: str | None) -> str | int:
    """What a person typed for the subject, checked: a unit name as `text`, a year as `value`."""
    if subject is ReportSubject.unit_name:
        name = (text or "").strip()
        if value is not None or not name:
            raise Invalid("a unit name item takes `text`: the name as printed on the unit line")
        if len(name) > _MAX_UNIT_CHARS:
            raise Invalid(f"a unit name is at most {_MAX_UNIT_CHARS} characters")
        return name
    if text is not None or value is None or value != int(value) or not EARLIEST_YEAR <= value <= LATEST_YEAR:
        raise Invalid(f"a year item takes `value`: a whole year from {EARLIEST_YEAR} to {LATEST_YEAR}")
    return int(value)


def _apply(document: Document, subject: ReportSubject, new: str | int | None, status: FieldStatus) -> None:
    """The effective value on the document's column and in its result JSON (a new dict: JSON
    columns only notice assignment), the pipeline's kept beside it the first time."""
    result = dict(document.result or {})
    report = dict(result.get("report") or {})
    key = subject.prefix
    if report.get(f"{key}_status") not in DECIDED_STATUSES:  # the first decision: keep what the pipeline said
        report[f"machine_{subject.value}"] = report.get(subject.value)
    report |= {subject.value: new, f"{key}_status": status.value}
    result["report"] = report
    document.result = result
    if subject is ReportSubject.unit_name:
        document.unit_name = None if new is None else str(new)
    else:
        document.year = None if new is None else int(new)


def heading_crop(session: Session, store: ContentStore, limits: LimitSettings, document: Document) -> bytes:
    """PNG of where the unit name and year were read: the lines above the table, or the title."""
    entry = report_entry(document, ReportSubject.unit_name)
    if entry.page is None or not entry.bbox:
        raise NotFound("the report's heading was not located on a page")
    x0, y0, x1, y1 = entry.bbox
    return pages.crop_png(session, store, limits, document, entry.page, (x0, y0, x1, y1), "the report's heading")
