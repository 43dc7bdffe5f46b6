"""Route stage: a field's evidence → its confidence, status and reasons.

A pure function of the evidence and the thresholds (recorded with every result), so the
same evidence always routes the same way and thresholds can be tuned from review data.
"""

from __future__ import annotations

from dataclasses import dataclass

from docextract.settings import RoutingSettings
from models.catalogue import Indicator
from models.schemas import FieldResult, FieldStatus
from worker.pipeline.reasons import Reason


@dataclass(frozen=True)
class FieldEvidence:
    found: bool
    ocr_score: float  # mean character probability of the value cell
    min_char_score: float  # the weakest character
    label_match: float  # label similarity of the matched row
    reasons: tuple[Reason, ...]  # from parsing, the layout reader (seals, units, ink) and validation
    in_sum_that_holds: bool = False  # see validate.corroborated
    read_again_alike: bool = False  # a second read gave the same number as clearly (confirm)


@dataclass(frozen=True)
class Routing:
    status: FieldStatus  # accepted or review
    confidence: float
    reasons: list[Reason]


def route(evidence: FieldEvidence, thresholds: RoutingSettings) -> Routing:
    if not evidence.found:
        return Routing(FieldStatus.review, 0.0, [Reason.NOT_FOUND])
    reasons = [Reason(r) for r in dict.fromkeys(evidence.reasons)]
    if evidence.ocr_score < thresholds.min_value_confidence or evidence.min_char_score < thresholds.min_char_confidence:
        reasons.append(Reason.LOW_OCR_CONFIDENCE)
    if evidence.label_match < thresholds.min_label_match:
        reasons.append(Reason.LOW_LABEL_MATCH)
    read = min(evidence.ocr_score, evidence.min_char_score**0.5)
    mapped = min(1.0, 0.5 + evidence.label_match / 2)
    confidence = read * mapped
    # A second read alike settles a seal over the number; the reason stays on record.
    blocking = [r for r in reasons if r.blocking and not (evidence.read_again_alike and r.settled_by_second_read)]
    if (
        evidence.in_sum_that_holds
        and all(r.settled_by_sum for r in blocking)
        and evidence.ocr_score >= thresholds.min_confidence_in_sum
    ):
        # The sum checks what the reasons doubted; the reasons stay on record.
        confidence = round(1 - (1 - confidence) / 10, 3)
        blocking = []
    else:
        confidence = round(confidence * 0.5 ** len(blocking), 3)
    if blocking:
        return Routing(FieldStatus.review, confidence, reasons)
    if confidence < thresholds.min_accept_confidence:
        # Neither part failed its own threshold but together they are too weak: say which
        # part is the weaker, so no field is reviewed without a reason.
        reasons.append(Reason.LOW_LABEL_MATCH if mapped < read else Reason.LOW_OCR_CONFIDENCE)
        return Routing(FieldStatus.review, confidence, reasons)
    return Routing(FieldStatus.accepted, confidence, reasons)


def field_result(indicator: Indicator, value: int | float | None, text: str | None, routing: Routing) -> FieldResult:
    """A field of the result as routed (where it was read is added by the caller)."""
    return FieldResult(
        code=indicator.code,
        label=indicator.label,
        unit=indicator.unit,
        value=value,
        text=text,
        confidence=routing.confidence,
        status=routing.status,
        reasons=routing.reasons,
    )
