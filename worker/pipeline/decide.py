"""Decide stage: every template's fields go from evidence to status here, and only here.

A layout reader gives one `FieldRead` per code: the value cell as read and parsed, the label
match, and the reader's own doubts (a seal over the cell, a unit read as another, digits read
alone, ink wider than the number, a blank count). Then, for every form alike:

1. each field is routed on its own evidence (`route`);
2. the template's rules are checked on the printed numbers (`validate`): a rule that fails
   flags its fields, unless fields already in doubt explain it; a sum that adds up settles
   the doubts it can. A rule that fails while all its fields read clearly has their cells
   read a second time (`confirm`): where every number reads again alike, the report prints
   numbers that do not add up, and its fields say so (`printed_mismatch`) without a person;
3. the fields are routed again with what the rules said, and with a second read of each cell
   whose one doubt was a seal over a number read clearly (`confirm`: read again alike, the
   seal did not change it);
4. a cell whose print gave no number gets the value the rules imply from accepted fields,
   always for review (`inferred_from_sum`);
5. a code the report does not print (a row folded into a variant row, a row a version of the
   form leaves out) is null and as trusted as the field it follows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from docextract.settings import RoutingSettings
from models.catalogue import Indicator, Rule
from models.schemas import DocumentResultStatus, FieldResult, FieldStatus
from worker.pipeline.cells import Box
from worker.pipeline.confirm import CellToConfirm, SecondReader
from worker.pipeline.reasons import Reason
from worker.pipeline.route import FieldEvidence, Routing, field_result, route
from worker.pipeline.validate import Number, RuleCheck, check_rules, corroborated, implied_values, reasons_by_code


@dataclass(frozen=True)
class ValueRead:
    """A value cell as read: its text, the number it gives, and the recogniser's scores."""

    text: str
    value: Number | None  # the printed number; None for a blank, a dash or an unreadable cell
    score: float  # mean character probability
    min_char_score: float  # the weakest character
    unread: bool  # print that gave no number (`values.gave_no_number`): the rules may imply it


@dataclass(frozen=True)
class FieldRead:
    """What a layout reader found for one code. `read` None: no cell was matched to it."""

    indicator: Indicator
    read: ValueRead | None
    label_match: float = 0.0  # label similarity of the matched row, in [0, 1]
    reasons: tuple[Reason, ...] = ()  # the parser's and the reader's doubts, in that order
    page: int | None = None
    box: Box | None = None  # the value cell in original page pixels
    cell: Box | None = None  # the value cell in its prepared page's pixels (a second read's)
    label_read: str | None = None
    unit_read: str | None = None
    follows: str | None = None  # not printed: null, and as trusted as the field of this code


def decide(
    reads: Sequence[FieldRead],
    rules: Iterable[Rule],
    thresholds: RoutingSettings,
    second_reader: SecondReader | None = None,
) -> list[FieldResult]:
    """The fields of a result, in the order of `reads`. Without `second_reader`, a rule the
    printed numbers break sends all its fields to review."""
    rules = tuple(rules)
    found = {f.indicator.code: f for f in reads if f.read is not None and f.follows is None}
    values = {code: f.read.value for code, f in found.items() if f.read is not None}
    first = {code: _route(f, (), False, thresholds) for code, f in found.items()}
    doubts = {code: routing.reasons for code, routing in first.items() if routing.status == FieldStatus.review}
    checks = check_rules(values, rules)
    printed = _as_printed(checks, found, set(doubts), second_reader)
    judged = [c for c in checks if c not in printed]  # the rules not accepted as printed
    validation = _flag_unconfirmed(judged, reasons_by_code(judged, values, doubts), found, second_reader)
    for code in dict.fromkeys(code for check in printed for code in check.codes):
        validation.setdefault(code, []).append(Reason.PRINTED_MISMATCH)
    settled = corroborated(checks, values, doubts)
    alike = _read_again_alike(first, found, second_reader)
    routed = {
        code: _route(f, validation.get(code, ()), code in settled, thresholds, code in alike)
        for code, f in found.items()
    }
    trusted = {code: values[code] for code, routing in routed.items() if routing.status == FieldStatus.accepted}
    unread = {code for code, f in found.items() if f.read is not None and f.read.unread}
    implied = implied_values(rules, trusted, unread)
    for code in implied:
        routed[code] = _route(found[code], (*validation.get(code, ()), Reason.INFERRED_FROM_SUM), False, thresholds)
    results: dict[str, FieldResult] = {}
    for field in reads:
        code = field.indicator.code
        if field.follows is None:
            results[code] = _result(field, routed.get(code), implied.get(code), thresholds)
    for field in reads:
        if field.follows is not None:
            results[field.indicator.code] = _not_printed(field.indicator, results[field.follows])
    return [results[f.indicator.code] for f in reads]


def document_status(fields: Iterable[FieldResult]) -> DocumentResultStatus:
    """A document needs review while any of its fields does."""
    return "needs_review" if any(f.status == FieldStatus.review for f in fields) else "extracted"


def _as_printed(
    checks: list[RuleCheck], found: dict[str, FieldRead], doubts: set[str], second_reader: SecondReader | None
) -> list[RuleCheck]:
    """The failed rules whose fields all read clearly and read again alike: the report's
    numbers do not add up. A rule with a field in doubt, not found or not printed is not one."""
    if second_reader is None:
        return []
    clear = [
        check
        for check in checks
        if not check.holds and all(code in found and code not in doubts and found[code].cell for code in check.codes)
    ]
    codes = dict.fromkeys(code for check in clear for code in check.codes)
    confirmed = second_reader([_to_confirm(found[code]) for code in codes]) if codes else set()
    return [check for check in clear if all(code in confirmed for code in check.codes)]


def _flag_unconfirmed(
    checks: list[RuleCheck],
    validation: dict[str, list[Reason]],
    found: dict[str, FieldRead],
    second_reader: SecondReader | None,
) -> dict[str, list[Reason]]:
    """`validation` with the fields a broken rule spared (a doubtful field's value alone could
    explain it) that a second read does not give again flagged with the rule's reason too: a
    clear read can be the misread (2726 read as 2720 beside a weak 36692), the neighbour's
    doubt blamed for it."""
    spared = {
        code: check
        for check in checks
        if not check.holds
        for code in check.codes
        if code in found and check.reason not in validation.get(code, [])
    }
    if not spared or second_reader is None:
        return validation
    readable = [code for code in spared if found[code].cell is not None and found[code].read is not None]
    confirmed = second_reader([_to_confirm(found[code]) for code in readable]) if readable else set()
    flagged = {code: list(reasons) for code, reasons in validation.items()}
    for code, check in spared.items():
        if code not in confirmed:
            flagged.setdefault(code, []).append(check.reason)
    return flagged


def _read_again_alike(
    first: dict[str, Routing], found: dict[str, FieldRead], second_reader: SecondReader | None
) -> set[str]:
    """The fields whose doubts a second read can settle (a seal over a number read clearly,
    a number read from its digits alone), read a second time as scanned (`confirm`) as the
    same number as clearly: neither the seal nor the marks beside the digits changed it."""
    if second_reader is None:
        return set()
    codes = [
        code
        for code, routing in first.items()
        if routing.status == FieldStatus.review
        and _settled_by_second_read(routing.reasons)
        and found[code].cell is not None
    ]
    return second_reader([_to_confirm(found[code]) for code in codes]) if codes else set()


def _settled_by_second_read(reasons: Iterable[Reason]) -> bool:
    blocking = [r for r in reasons if r.blocking]
    return bool(blocking) and all(r.settled_by_second_read for r in blocking)


def _to_confirm(field: FieldRead) -> CellToConfirm:
    assert field.read is not None and field.cell is not None and field.page is not None
    return CellToConfirm(
        key=field.indicator.code,
        page=field.page,
        cell=field.cell,
        text=field.read.text,
        value=field.read.value,
        amount=field.indicator.unit == "万元",
    )


def _route(
    field: FieldRead,
    validation: Iterable[Reason],
    in_sum_that_holds: bool,
    thresholds: RoutingSettings,
    read_again_alike: bool = False,
) -> Routing:
    read = field.read
    if read is None:
        return route(FieldEvidence(False, 0, 0, 0, ()), thresholds)
    evidence = FieldEvidence(
        found=True,
        ocr_score=read.score,
        min_char_score=read.min_char_score,
        label_match=field.label_match,
        reasons=(*field.reasons, *validation),
        in_sum_that_holds=in_sum_that_holds,
        read_again_alike=read_again_alike,
    )
    return route(evidence, thresholds)


def _result(
    field: FieldRead, routing: Routing | None, implied: Number | None, thresholds: RoutingSettings
) -> FieldResult:
    if field.read is None or routing is None:
        return field_result(field.indicator, None, None, _route(field, (), False, thresholds))
    value = implied if implied is not None else field.read.value
    where = {"page": field.page, "bbox": field.box, "label_read": field.label_read, "unit_read": field.unit_read}
    return field_result(field.indicator, value, field.read.text, routing).model_copy(update=where)


def _not_printed(indicator: Indicator, followed: FieldResult) -> FieldResult:
    """A code the report does not print: null, and as trusted as the field it follows."""
    return field_result(indicator, None, None, Routing(followed.status, followed.confidence, [Reason.NOT_PRINTED]))
