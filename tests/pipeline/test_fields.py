"""A list row's read → the field's evidence: value, reasons, unread (list_reader.field_read)."""

from dataclasses import replace

import numpy as np

from models.template import get_template
from worker.pipeline.cells import CellRead
from worker.pipeline.decide import FieldRead
from worker.pipeline.list_reader import field_read
from worker.pipeline.mapping import RowMatch
from worker.pipeline.preprocess import PreparedPage
from worker.pipeline.reasons import Reason
from worker.pipeline.rows import TableRow

GK2008 = get_template("GK2008")
COUNT = next(i for i in GK2008.catalogue.indicators if i.unit == "件" and not i.is_heading)
HEADING = next(i for i in GK2008.catalogue.indicators if i.is_heading)
PAGES = {1: PreparedPage(1, np.zeros((10, 10), np.uint8), np.zeros((10, 10), np.uint8), np.eye(3), 200.0, (), 0, 0.0)}


def _match(text: str, unit: str = "件", **read) -> RowMatch:
    value = CellRead(text=text, score=0.99, min_char_score=0.99, blank=False, lines=1, **read)
    unit_read = CellRead(text=unit, score=0.99, min_char_score=0.99, blank=False, lines=1)
    row = TableRow(1, 0, unit_read, unit_read, value, (0.0, 0.0, 10.0, 10.0), seal_over_value=False)
    return RowMatch(COUNT, row, 0.95)


def _read(match: RowMatch) -> FieldRead:
    return field_read(match, GK2008, PAGES)


def test_a_slash_read_as_a_digit_is_no_value_and_a_confusion():
    slash = _read(_match("1", slanted=True))
    assert (slash.read.value, slash.reasons) == (None, (Reason.OCR_CONFUSION,))
    assert _read(_match("1")).read.value == 1
    assert _read(_match("/", slanted=True)).reasons == ()  # read as what it is


def test_digits_read_alone_and_another_unit_are_reported():
    assert _read(_match("36", isolated=True)).reasons == (Reason.DIGITS_ISOLATED,)
    assert _read(_match("36")).reasons == ()
    assert _read(_match("36", unit="人")).reasons == (Reason.UNIT_MISMATCH,)


def _sealed(match: RowMatch) -> RowMatch:
    return replace(match, row=replace(match.row, seal_over_value=True))


def _unread(match: RowMatch) -> bool:
    return _read(match).read.unread


def test_a_cell_is_unread_when_its_print_gave_no_number():
    assert _unread(_match("全公"))  # text that is no number
    assert _unread(_match("1051.9"))  # a count read with a decimal point
    # Nothing legible over ink: unread under a seal (its lettering hides a digit) only.
    assert _unread(_sealed(_match("")))
    assert not _unread(_match(""))
    # A number, a dash and a cell with no ink were read.
    for text in ("7", "—", "/"):
        assert not _unread(_sealed(_match(text))), text
    empty = _sealed(RowMatch(COUNT, replace(_match("").row, value=CellRead.empty()), 0.95))
    assert not _unread(empty)
    assert not _unread(replace(_match("F"), indicator=HEADING))
    assert _unread(replace(_match("1051.9"), indicator=HEADING))
