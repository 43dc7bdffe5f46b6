"""Route stage: a field's evidence → its confidence, status and reasons.

A pure function of the evidence and the thresholds (recorded with every result), so the
same evidence always routes the same way and thresholds can be tuned from review data.
"""

from __future__ import annotations

from dataclasses import dataclass

from docextract.settings import RoutingSettings
from models.catalogue import Indicator
from models.schemas import FieldResult

# Reasons that send a field to a person whatever the scores say.
BLOCKING = frozenset(
    {
        "not_found",
        "unreadable_value",
        "ocr_confusion",
        "sum_mismatch",
        "exceeds_parent",
        "seal_overlap",
        "unit_mismatch",
        "blank_value",
        "low_ocr_confidence",
        "low_label_match",
        "digits_isolated",
        "width_mismatch",
        "inferred_from_sum",
    }
)


# Doubts that arithmetic can settle: a value in a sum that adds up exactly to a printed
# total was read right (a misread would have to be cancelled by another).
SETTLED_BY_SUM = frozenset(
    {
        "seal_overlap",
        "low_ocr_confidence",
        "ocr_confusion",
        "unit_mismatch",
        "blank_value",
        "digits_isolated",
        "width_mismatch",
    }
)


@dataclass(frozen=True)
class FieldEvidence:
    found: bool
    ocr_score: float  # mean character probability of the value cell
    min_char_score: float  # the weakest character
    label_match: float  # label similarity of the matched row
    reasons: tuple[str, ...]  # from parsing, validation, seals and units
    in_sum_that_holds: bool = False  # see validate.corroborated


@dataclass(frozen=True)
class Routing:
    status: str  # "accepted" or "review"
    confidence: float
    reasons: list[str]


def route(evidence: FieldEvidence, thresholds: RoutingSettings) -> Routing:
    if not evidence.found:
        return Routing("review", 0.0, ["not_found"])
    reasons = list(dict.fromkeys(evidence.reasons))
    if evidence.ocr_score < thresholds.min_value_confidence or evidence.min_char_score < thresholds.min_char_confidence:
        reasons.append("low_ocr_confidence")
    if evidence.label_match < thresholds.min_label_match:
        reasons.append("low_label_match")
    read = min(evidence.ocr_score, evidence.min_char_score**0.5)
    mapped = min(1.0, 0.5 + evidence.label_match / 2)
    confidence = read * mapped
    blocking = [r for r in reasons if r in BLOCKING]
    if (
        evidence.in_sum_that_holds
        and set(blocking) <= SETTLED_BY_SUM
        and evidence.ocr_score >= thresholds.min_confidence_in_sum
    ):
        # The sum checks what the reasons doubted; the reasons stay on record.
        confidence = round(1 - (1 - confidence) / 10, 3)
        blocking = []
    else:
        confidence = round(confidence * 0.5 ** len(blocking), 3)
    if blocking:
        return Routing("review", confidence, reasons)
    if confidence < thresholds.min_accept_confidence:
        # Neither part failed its own threshold but together they are too weak: say which
        # part is the weaker, so no field is reviewed without a reason.
        reasons.append("low_label_match" if mapped < read else "low_ocr_confidence")
        return Routing("review", confidence, reasons)
    return Routing("accepted", confidence, reasons)


def field_result(indicator: Indicator, value: int | float | None, text: str | None, routing: Routing) -> FieldResult:
    """A field of the result as routed (where it was read is added by the caller)."""
    return FieldResult(
        code=indicator.code,
        label=indicator.label,
        unit=indicator.unit,
        value=value,
        text=text,
        confidence=routing.confidence,
        status=routing.status,  # type: ignore[arg-type]
        reasons=routing.reasons,
    )
