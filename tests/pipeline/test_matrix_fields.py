"""A matrix cell's read → the field's evidence (matrix_reader.field_read): whether the rules
may suggest its value, and the reader's doubts (seal, blank, unit)."""

import numpy as np

from models.template import get_template
from worker.pipeline.cells import CellRead
from worker.pipeline.decide import FieldRead
from worker.pipeline.matrix import MatrixCell
from worker.pipeline.matrix_mapping import CellMatch
from worker.pipeline.matrix_reader import field_read
from worker.pipeline.preprocess import PreparedPage, Seal
from worker.pipeline.reasons import Reason

CELL = MatrixCell(top=0, bottom=1, left=0, right=1, box=(100.0, 100.0, 200.0, 140.0))
SEAL = Seal(box=(150.0, 50.0, 350.0, 250.0), kind="red")
GK2021, FJ2009 = get_template("GK2021"), get_template("FJ2009")


def _page(*seals: Seal) -> dict[int, PreparedPage]:
    blank = np.zeros((10, 10), np.uint8)
    return {1: PreparedPage(1, blank, blank, np.eye(3), 200.0, seals, 0, 0.0)}


def _read(text: str, seals: tuple[Seal, ...] = (), blank: bool = False, unit: str | None = None) -> FieldRead:
    template = FJ2009 if unit else GK2021
    indicator = template.catalogue.indicators[-1]
    read = CellRead(text=text, score=0.9, min_char_score=0.9, blank=blank, lines=0 if blank else 1)
    match = CellMatch(indicator.code, 1, CELL, read, 0.95, "label", unit)
    return field_read(indicator, match, template, _page(*seals))


def test_a_mark_alone_or_no_number_is_unread_but_a_number_dash_or_empty_cell_was_read():
    assert _read(".").read.unread and _read("。").read.unread and _read("全公").read.unread
    assert not any(_read(text).read.unread for text in ("0", "12", "—", "/"))
    assert not _read("", blank=True).read.unread


def test_nothing_legible_over_ink_is_unread_under_a_seal_only():
    assert _read("", seals=(SEAL,)).read.unread
    assert not _read("").read.unread
    assert not _read("", seals=(SEAL,), blank=True).read.unread


def test_seal_blank_and_unit_doubts_are_the_readers():
    assert _read("3", seals=(SEAL,)).reasons == (Reason.SEAL_OVERLAP,)
    assert _read("", blank=True).reasons == (Reason.BLANK_VALUE,)
    # FJ2009 prints 条 or 件 for its last rows alike (its unit_groups); 人 is another unit.
    assert _read("3", unit="条").reasons == ()
    assert _read("3", unit="件").reasons == ()
    assert _read("3", unit="人").reasons == (Reason.UNIT_MISMATCH,)
    assert _read("3", unit="件").label_read == "label"
