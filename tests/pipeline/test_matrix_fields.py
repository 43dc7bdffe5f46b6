"""A 2019+ cell's read → whether the rules may suggest its value (matrix_extract._unread)."""

import numpy as np

from worker.pipeline.matrix import MatrixCell
from worker.pipeline.matrix_extract import _unread
from worker.pipeline.matrix_mapping import CellMatch
from worker.pipeline.preprocess import PreparedPage, Seal
from worker.pipeline.rows import CellRead
from worker.pipeline.values import parse_value

CELL = MatrixCell(top=0, bottom=1, left=0, right=1, box=(100.0, 100.0, 200.0, 140.0))
SEAL = Seal(box=(150.0, 50.0, 350.0, 250.0), kind="red")


def _page(*seals: Seal) -> dict[int, PreparedPage]:
    blank = np.zeros((10, 10), np.uint8)
    return {1: PreparedPage(1, blank, blank, np.eye(3), 200.0, seals, 0, 0.0)}


def _unread_as(text: str, seals: tuple[Seal, ...] = (), blank: bool = False) -> bool:
    read = CellRead(text=text, score=0.9, min_char_score=0.9, blank=blank, lines=0 if blank else 1)
    return _unread(CellMatch("GK2021-1@x", 1, CELL, read, 0.95), parse_value(text, False), _page(*seals))


def test_a_mark_alone_or_no_number_is_unread_but_a_number_dash_or_empty_cell_was_read():
    assert _unread_as(".") and _unread_as("。") and _unread_as("全公")
    assert not any(_unread_as(text) for text in ("0", "12", "—", "/"))
    assert not _unread_as("", blank=True)


def test_nothing_legible_over_ink_is_unread_under_a_seal_only():
    assert _unread_as("", seals=(SEAL,))
    assert not _unread_as("")
    assert not _unread_as("", seals=(SEAL,), blank=True)
