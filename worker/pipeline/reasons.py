"""Why a field is where it is: every reason a field can carry, and what each one means to
routing. One enum for every template and both layout readers; the result JSON holds their
values (`low_ocr_confidence`, ...), see the README's table."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    NOT_FOUND = "not_found"
    UNREADABLE_VALUE = "unreadable_value"
    OCR_CONFUSION = "ocr_confusion"
    DIGITS_ISOLATED = "digits_isolated"
    WIDTH_MISMATCH = "width_mismatch"
    SEAL_OVERLAP = "seal_overlap"
    SIGN_UNSURE = "sign_unsure"  # a signed column's number read positive with a possible minus before it
    LOW_OCR_CONFIDENCE = "low_ocr_confidence"
    UNIT_MISMATCH = "unit_mismatch"
    BLANK_VALUE = "blank_value"
    LOW_LABEL_MATCH = "low_label_match"
    SUM_MISMATCH = "sum_mismatch"
    PRINTED_MISMATCH = "printed_mismatch"  # a rule the print breaks, every number of it read twice alike
    EXCEEDS_PARENT = "exceeds_parent"
    INFERRED_FROM_SUM = "inferred_from_sum"
    NOT_PRINTED = "not_printed"
    # The report's unit name and year (`report_trust`).
    UNIT_FROM_TITLE = "unit_from_title"
    YEAR_FROM_TITLE = "year_from_title"
    SEAL_OVER_HEADING = "seal_over_heading"
    TITLE_DISAGREES = "title_disagrees"
    UNIT_MENDED = "unit_mended"

    @property
    def blocking(self) -> bool:
        """Sends the field to a person whatever the scores say (unless a sum settles it)."""
        return self not in (Reason.NOT_PRINTED, Reason.PRINTED_MISMATCH)

    @property
    def settled_by_sum(self) -> bool:
        """A doubt arithmetic can settle: a value in a sum that adds up exactly to a printed
        total was read right (a misread would have to be cancelled by another)."""
        return self in _SETTLED_BY_SUM

    @property
    def settled_by_second_read(self) -> bool:
        """A doubt a second read settles: a seal over a number read clearly, or a number read
        from its digits alone, read again as scanned (seal remains and marks beside the
        digits all in the picture, `confirm`) as the same number as clearly."""
        return self in (Reason.SEAL_OVERLAP, Reason.DIGITS_ISOLATED)

    @property
    def weak_read(self) -> bool:
        """A doubt about a cell's own reading, which faint or damaged print can cause in two
        cells alike (a seal or a unit misread over one cell says nothing of another)."""
        return self in _WEAK_READ

    @property
    def from_rules(self) -> bool:
        """Given by the template's rules, so recomputed whenever a value changes (review)."""
        return self in (Reason.SUM_MISMATCH, Reason.EXCEEDS_PARENT, Reason.PRINTED_MISMATCH)


_SETTLED_BY_SUM = frozenset(
    {
        Reason.SEAL_OVERLAP,
        Reason.LOW_OCR_CONFIDENCE,
        Reason.OCR_CONFUSION,
        Reason.UNIT_MISMATCH,
        Reason.BLANK_VALUE,
        Reason.DIGITS_ISOLATED,
        Reason.WIDTH_MISMATCH,
        Reason.SIGN_UNSURE,
    }
)
_WEAK_READ = frozenset(
    {
        Reason.LOW_OCR_CONFIDENCE,
        Reason.DIGITS_ISOLATED,
        Reason.WIDTH_MISMATCH,
        Reason.OCR_CONFUSION,
        Reason.BLANK_VALUE,
        Reason.SIGN_UNSURE,
    }
)
