"""A row's read → the field's value and reasons (extract._parse, _row_reasons, _unread)."""

from dataclasses import replace

from models.catalogue import load_catalogue
from worker.pipeline.extract import _parse, _row_reasons, _unread
from worker.pipeline.mapping import RowMatch
from worker.pipeline.rows import CellRead, TableRow

COUNT = next(i for i in load_catalogue("GK2008").indicators if i.unit == "件" and not i.is_heading)


def _match(text: str, **read) -> RowMatch:
    value = CellRead(text=text, score=0.99, min_char_score=0.99, blank=False, lines=1, **read)
    unit = CellRead(text="件", score=0.99, min_char_score=0.99, blank=False, lines=1)
    row = TableRow(1, 0, unit, unit, value, (0.0, 0.0, 10.0, 10.0), seal_over_value=False)
    return RowMatch(COUNT, row, 0.95)


def test_a_slash_read_as_a_digit_is_no_value_and_a_confusion():
    parsed = _parse(_match("1", slanted=True))
    assert (parsed.value, parsed.reasons) == (None, ["ocr_confusion"])
    assert _parse(_match("1")).value == 1
    assert _parse(_match("/", slanted=True)).reasons == []  # read as what it is


def test_digits_read_alone_are_reported():
    match = _match("36", isolated=True)
    assert _row_reasons(match.row, COUNT, _parse(match)) == ["digits_isolated"]
    plain = replace(match, row=replace(match.row, value=replace(match.row.value, isolated=False)))
    assert _row_reasons(plain.row, COUNT, _parse(plain)) == []


def _sealed(match: RowMatch) -> RowMatch:
    return replace(match, row=replace(match.row, seal_over_value=True))


def test_a_cell_is_unread_when_its_print_gave_no_number():
    assert _unread(_match("全公"), _parse(_match("全公")))  # text that is no number
    assert _unread(_match("1051.9"), _parse(_match("1051.9")))  # a count read with a decimal point
    # Nothing legible over ink: unread under a seal (its lettering hides a digit) only.
    assert _unread(_sealed(_match("")), _parse(_match("")))
    assert not _unread(_match(""), _parse(_match("")))
    # A number, a dash and a cell with no ink were read.
    for text in ("7", "—", "/"):
        assert not _unread(_sealed(_match(text)), _parse(_match(text))), text
    empty = _sealed(RowMatch(COUNT, replace(_match("").row, value=CellRead.empty()), 0.95))
    assert not _unread(empty, _parse(empty))
    heading = next(i for i in load_catalogue("GK2008").indicators if i.is_heading)
    assert not _unread(replace(_match("F"), indicator=heading), _parse(_match("F")))
    assert _unread(replace(_match("1051.9"), indicator=heading), _parse(_match("1051.9")))
