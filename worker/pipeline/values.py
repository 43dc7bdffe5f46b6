"""Values: the text read in a value cell → the printed number, or null for a blank or dash.

Common OCR confusions (O/0, l/1, 。/.) are repaired, and each repair is reported so the
field's confidence drops: a repaired digit is a guess until someone looks at it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from worker.pipeline.ocr import Alphabet
from worker.pipeline.reasons import Reason

# Characters a recogniser reads for a printed dash, slash or "no value".
_DASH_GLYPHS = "—―─–-－_一~〜"
_DASHES = set(_DASH_GLYPHS + "/／\\、.·")
_CONFUSIONS = {
    "O": "0",
    "o": "0",
    "D": "0",
    "Q": "0",
    "〇": "0",
    "○": "0",
    # A lone round glyph in a number cell: a zero of a small or damaged print.
    **dict.fromkeys("aàáâäòóôöσοо", "0"),
    "l": "1",
    "I": "1",
    "|": "1",
    "i": "1",
    "丨": "1",
    "！": "1",
    "!": "1",
    "Z": "2",
    "z": "2",
    "S": "5",
    "s": "5",
    "B": "8",
    "g": "9",
    "b": "6",
    "。": ".",
    "，": ".",
    ",": ".",
    "·": ".",
    "、": ".",
}
# Marks before or after the digits (7: '0 0— *0 • 2) are specks or a stroke of the ruling.
_END_MARKS = ":;'\"`‘’“”*•" + _DASH_GLYPHS
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
MINUS_GLYPHS = "-−–—―一"  # what a minus sign before the digits is read as (NFKC makes － a -)
_UNIT_AFTER = re.compile(r"(万元|元)$")

# Glyphs that mean one symbol in a value cell, for the recogniser to add up (see ocr.recognize):
# a round glyph there is a zero. Letters that only sometimes stand for a digit (l, S, B ...)
# are left out: they are read as themselves and repaired above, with the repair reported.
VALUE_ALPHABET = Alphabet(
    {
        **{d: d for d in "0123456789"},
        **{chr(ord("０") + i): str(i) for i in range(10)},
        **dict.fromkeys("OoDQ〇○", "0"),
        **dict.fromkeys(".。·", "."),
        **dict.fromkeys(_DASH_GLYPHS, "—"),
        **dict.fromkeys("/／\\", "/"),
    }
)
# Units are few (those of the catalogues): a unit cell is read as one of their characters,
# so a damaged 次 is not taken for 欠.
UNIT_ALPHABET = Alphabet({**{ch: ch for ch in "条件次篇个人万元项"}, **dict.fromkeys(_DASH_GLYPHS, "—")}, closed=True)


_GAP_IN_DIGITS = re.compile(r"\d\s+\d")


def gap_in_digits(text: str) -> bool:
    """A gap read between two digits: what stood there was not read (a faint decimal point:
    5562.64179 read "5562 64179"), so the digits on either side are not one number as read."""
    return _GAP_IN_DIGITS.search(text) is not None


@dataclass(frozen=True)
class ParsedValue:
    value: int | float | None
    is_dash: bool  # the cell holds a dash, slash or nothing printable
    repaired: bool  # OCR confusions were replaced to get the number
    readable: bool  # False: the text is not a number and not a dash
    span: float = 0.0  # digits the number as read is wide for (a decimal point counts half)
    unit: str | None = None  # a unit printed with the number (12000元)
    mark_before: bool = False  # a mark before the digits was left out: in a signed column, maybe a minus

    @property
    def reasons(self) -> list[Reason]:
        if not self.readable:
            return [Reason.UNREADABLE_VALUE]
        return [Reason.OCR_CONFUSION] if self.repaired else []


def parse_value(text: str, decimal_allowed: bool, signed: bool = False) -> ParsedValue:
    """Parse a value cell's text. `decimal_allowed` is True for amounts (万元); `signed` for
    a column that may print a change below zero (本年增/减), where a minus before the digits
    is the number's sign; elsewhere it is a mark beside them. A unit printed after the number
    (12000元) is kept apart (`unit`), the number as printed."""
    normalized = unicodedata.normalize("NFKC", text)
    gap = gap_in_digits(normalized)  # the digits are joined, as a repair
    cleaned = normalized.replace(" ", "")
    if not cleaned or set(cleaned) <= _DASHES:
        return ParsedValue(None, is_dash=True, repaired=False, readable=True)
    unit = _UNIT_AFTER.search(cleaned)
    if unit is not None:
        cleaned = cleaned[: unit.start()]
        decimal_allowed = True  # an amount
        if not cleaned:
            return ParsedValue(None, is_dash=False, repaired=False, readable=False)
    negative = signed and len(cleaned) > 1 and cleaned[0] in MINUS_GLYPHS and not set(cleaned[1:]) <= _DASHES
    parsed = _parse_number(cleaned[1:] if negative else cleaned, decimal_allowed)
    if negative and parsed.value is not None:
        parsed = replace(parsed, value=-parsed.value, span=parsed.span + 0.5)
    mark_before = not negative and cleaned[0] in _END_MARKS
    repaired = parsed.repaired or (gap and parsed.value is not None)
    return replace(parsed, repaired=repaired, unit=unit.group(0) if unit is not None else None, mark_before=mark_before)


def _parse_number(cleaned: str, decimal_allowed: bool) -> ParsedValue:
    # A zero whose thin top and bottom were lost (fax, faint print) reads as "()", or as a
    # digit beside a stray bracket; brackets mean nothing in a value cell.
    unbracketed = cleaned.replace("()", "0").replace("(", "").replace(")", "")
    repaired_text = "".join(_CONFUSIONS.get(ch, ch) for ch in unbracketed)
    repaired_text = repaired_text.strip(_END_MARKS) or repaired_text
    if not decimal_allowed:
        # A dot before or after a count is a speck beside the digits, not part of the number.
        repaired_text = repaired_text.strip(".") or repaired_text
    repaired = repaired_text != cleaned
    if not _NUMBER.match(repaired_text) or re.match(r"0\d", repaired_text):
        # No printed number starts with a 0: a leading 0 is a mark or a misread digit.
        return ParsedValue(None, is_dash=False, repaired=repaired, readable=False)
    span = sum(ch.isdigit() for ch in repaired_text) + 0.5 * repaired_text.count(".")
    if "." in repaired_text:
        number: int | float = float(repaired_text)
        # A count printed with a decimal point is most likely a misread mark.
        readable = decimal_allowed
        return ParsedValue(number, is_dash=False, repaired=repaired, readable=readable, span=span)
    return ParsedValue(int(repaired_text), is_dash=False, repaired=repaired, readable=True, span=span)


def gave_no_number(parsed: ParsedValue, text: str, blank: bool, sealed: bool) -> bool:
    """A value cell with print in it that gave no number: text that is no number (or a
    count with a decimal point), or nothing legible where a seal lies over ink (its
    lettering hides a digit). Its value may be implied by the sums (`validate.implied_values`)."""
    return not parsed.readable or (not text.strip() and not blank and sealed)
