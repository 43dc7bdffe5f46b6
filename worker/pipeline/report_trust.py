"""The report's unit name and year: which to report, how sure, and whether a person looks.

A pure function of what was read (`metadata.Metadata`: the heading's unit line and year, the
narrative title's beside them, seals over them, OCR scores), the units the deployment knows
(`gazetteer`) and the thresholds (recorded with every result), like `route` for fields.

The unit line's print is what counts: the title is evidence. A title printing the short form
of the unit line's name (市财政局 for 余姚市财政局), or the unit line the short form of the
title's (区科技局 for 北仑区科学技术局), agrees with it and the print stands. A read the title
or a known unit corroborates exactly is sure even under a seal (not a short form the title
prints too: the seal may hide its place's name); so is one the seal over it prints round its
top, exactly (`seal_lettering`: a seal carries its unit's full name). Any other read under a
seal, read weakly, taken from the title or mended is reviewed. A year is sure under a seal when
the title or a second print of it names the same year (`Metadata.second_year`: a value
column's header, 2009年度; under a title, the body's opening, 2019年，本机关…).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import fuzz

from docextract.settings import RoutingSettings
from models.schemas import FieldStatus
from worker.pipeline.gazetteer import Gazetteer
from worker.pipeline.metadata import Metadata
from worker.pipeline.reasons import Reason

T = TypeVar("T", str, int)
# Reasons kept on record that do not send the item to review once the read is corroborated.
_SETTLED_BY_CORROBORATION = frozenset({Reason.SEAL_OVER_HEADING, Reason.LOW_OCR_CONFIDENCE})
_PLACE_LEVELS = "省市县区"  # a short form starts with its place's level: 市审计局


@dataclass(frozen=True)
class ReportItem(Generic[T]):
    value: T | None
    read: T | None  # as read on the line it came from, before any mending
    confidence: float
    status: FieldStatus  # accepted or review
    reasons: list[Reason]


@dataclass(frozen=True)
class ReportDecision:
    unit: ReportItem[str]
    year: ReportItem[int]

    @property
    def needs_review(self) -> bool:
        return FieldStatus.review in (self.unit.status, self.year.status)


def decide_report(metadata: Metadata, gazetteer: Gazetteer, thresholds: RoutingSettings) -> ReportDecision:
    return ReportDecision(decide_unit(metadata, gazetteer, thresholds), decide_year(metadata, thresholds))


def abbreviates(short: str, full: str) -> bool:
    """Whether `short` is a short form of `full`: it starts with a place's level and its
    characters appear in `full` in order (市环保局 of 余姚市环境保护局, 市科协 of 余姚市科学技术协会)."""
    if len(short) >= len(full) or not short or short[0] not in _PLACE_LEVELS:
        return False
    rest = iter(full)
    return all(ch in rest for ch in short)


def decide_unit(metadata: Metadata, gazetteer: Gazetteer, thresholds: RoutingSettings) -> ReportItem[str]:
    title = metadata.title.unit_name if metadata.title else None
    read = metadata.unit_name
    if read is None:
        if title is None or metadata.title is None:
            return ReportItem(None, None, 0.0, FieldStatus.review, [Reason.NOT_FOUND])
        return _settle(title, None, metadata.title.unit_score, [Reason.UNIT_FROM_TITLE], False)
    reasons = [Reason.SEAL_OVER_HEADING] if metadata.unit_sealed else []
    if metadata.unit_score < thresholds.min_unit_confidence:
        reasons.append(Reason.LOW_OCR_CONFIDENCE)
    name, corroborated = read, False
    if title is not None and title != read and not (abbreviates(read, title) or abbreviates(title, read)):
        reasons.append(Reason.TITLE_DISAGREES)
        if fuzz.ratio(read, title) >= thresholds.min_title_mend_ratio:
            name = title  # the unit line's read damaged (a seal changes characters); the title's large print is not
    # A seal over a read that starts with its place's level may hide the place's name before
    # it (延平 of 延平区民政局): a title printing the same short form does not settle that.
    place_hidden = metadata.unit_sealed and read[:1] in _PLACE_LEVELS
    lettered = read in (metadata.seal_names or ())  # the seal over it prints the same name
    corroborated = ((title == read or lettered) and not place_hidden) or gazetteer.knows(name)
    if not corroborated and not any(abbreviates(name, unit) for unit in gazetteer.units):
        known = gazetteer.nearest(name, int(thresholds.max_unit_mend_distance))
        if known is not None:
            name = known
            reasons.append(Reason.UNIT_MENDED)
    return _settle(name, read, metadata.unit_score, reasons, corroborated)


def decide_year(metadata: Metadata, thresholds: RoutingSettings) -> ReportItem[int]:
    title = metadata.title.year if metadata.title else None
    read = metadata.year
    if read is None:
        if title is None or metadata.title is None:
            return ReportItem(None, None, 0.0, FieldStatus.review, [Reason.NOT_FOUND])
        return _settle(title, None, metadata.title.year_score, [Reason.YEAR_FROM_TITLE], False)
    reasons = [Reason.SEAL_OVER_HEADING] if metadata.year_sealed or metadata.year_short else []
    if metadata.year_score < thresholds.min_year_confidence:
        reasons.append(Reason.LOW_OCR_CONFIDENCE)
    if title is not None and title != read:
        reasons.append(Reason.TITLE_DISAGREES)
    return _settle(read, read, metadata.year_score, reasons, corroborated=read in (title, metadata.second_year))


def _settle(value: T, read: T | None, score: float, reasons: list[Reason], corroborated: bool) -> ReportItem[T]:
    """Accepted unless a reason blocks: a read corroborated by another source settles a seal
    over it or a weak score (they stay on record)."""
    blocking = [r for r in reasons if not (corroborated and r in _SETTLED_BY_CORROBORATION)]
    if corroborated and not blocking:
        return ReportItem(value, read, round(1 - (1 - score) / 10, 3), FieldStatus.accepted, reasons)
    confidence = round(score * 0.5 ** len(blocking), 3)
    status = FieldStatus.review if blocking else FieldStatus.accepted
    return ReportItem(value, read, confidence, status, reasons)
