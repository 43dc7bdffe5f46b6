"""A number of a signed column (GK2019's 本年增/减) read without a minus it may have had is not
accepted: the minus may have been too faint, thin or short for the cleaning or the recogniser."""

from __future__ import annotations

import cv2
import numpy as np

from docextract.settings import RoutingSettings
from models.schemas import FieldStatus
from models.template import get_template
from worker.pipeline.cells import CellRead, mark_before_digits
from worker.pipeline.decide import decide
from worker.pipeline.matrix import MatrixCell
from worker.pipeline.matrix_mapping import CellMatch
from worker.pipeline.matrix_reader import field_read
from worker.pipeline.preprocess import PreparedPage
from worker.pipeline.reasons import Reason
from worker.pipeline.values import parse_value

GK2019 = get_template("GK2019")
CHANGE = next(i for i in GK2019.catalogue.indicators if i.code == "GK2019-2.5.1@change")
PREVIOUS = next(i for i in GK2019.catalogue.indicators if i.code == "GK2019-2.5.1@prev_items")
CELL = MatrixCell(top=0, bottom=1, left=0, right=1, box=(100.0, 100.0, 300.0, 150.0))


def _cell(minus_grey: int | None, minus_at: float = 0.5, thickness: int = 1) -> np.ndarray:
    """A scanned 50 × 200 value cell printing 41 (digits 22 px high), with a minus of
    `minus_grey` (None: no minus) `minus_at` the digits' height from their top."""
    rng = np.random.default_rng(3)
    cell = np.full((50, 200), 255, np.uint8)
    cv2.putText(cell, "41", (95, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    if minus_grey is not None:
        y = round(36 - 22 * (1 - minus_at))
        cv2.line(cell, (74, y), (86, y), minus_grey, thickness)
    scanned = cv2.GaussianBlur(cell.astype(np.float32) * 0.9 + 20, (0, 0), 0.7) + rng.normal(0, 5, cell.shape)
    return np.clip(scanned, 0, 255).astype(np.uint8)


def test_a_faint_or_thin_stroke_at_the_digits_mid_height_is_a_possible_minus():
    for cell in (_cell(175, thickness=3), _cell(110), _cell(0, thickness=2)):  # pale, a hairline, dark
        x0, y0, x1, y1 = mark_before_digits(cell)  # the stroke and the digits: 74..86, then 41
        assert 71 <= x0 <= 75 and x1 >= 120 and y0 <= 20 and y1 >= 35


def test_a_minus_before_faint_digits_or_kept_as_a_short_blob_is_a_possible_minus():
    """A pale copy at a low dpi: digits whose thin strokes reach 40 grey levels below the paper
    only here and there (the minus was taken for part of them). A fax: of a thin minus only a
    blob 4 pixels wide and 3 high is left."""
    faint = np.full((50, 200), 247, np.uint8)
    cv2.putText(faint, "37", (95, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 190, 1, cv2.LINE_AA)
    cv2.line(faint, (78, 25), (88, 25), 215, 2)
    faint = cv2.GaussianBlur(faint, (3, 3), 0)
    fax = np.full((50, 200), 255, np.uint8)
    cv2.putText(fax, "18", (95, 36), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    fax[24:27, 82:86] = 0
    for cell in (faint, fax):
        x0, _, x1, _ = mark_before_digits(cell)
        assert 76 <= x0 <= 84 and x1 >= 115
    fax[24:29, 82:85] = 0  # taller than wide: a speck
    assert mark_before_digits(fax) is None


def test_nothing_before_the_digits_or_a_stroke_off_their_middle_is_no_minus():
    assert mark_before_digits(_cell(None)) is None
    assert mark_before_digits(_cell(0, minus_at=1.0, thickness=2)) is None  # an underline's end
    assert mark_before_digits(np.full((50, 200), 240, np.uint8)) is None
    assert mark_before_digits(np.zeros((0, 0), np.uint8)) is None


def test_a_mark_left_out_before_the_digits_of_a_signed_column_is_recorded():
    assert parse_value("~41", False, signed=True).mark_before
    assert parse_value("'41", False, signed=True).value == 41
    assert not parse_value("41", False, signed=True).mark_before
    assert parse_value("-41", False, signed=True).value == -41


def _page(cell: np.ndarray | None) -> dict[int, PreparedPage]:
    gray = np.full((300, 400), 245, np.uint8)
    if cell is not None:
        gray[100:150, 100:300] = cell
    return {1: PreparedPage(1, gray, gray, np.eye(3), 200.0, (), 0, 0.0)}


def _field(text: str, cell: np.ndarray | None, indicator=CHANGE):
    read = CellRead(text=text, score=0.99, min_char_score=0.99, blank=False, lines=1)
    match = CellMatch(indicator.code, 1, CELL, read, 0.95, "行政许可")
    return field_read(indicator, match, GK2019, _page(cell))


def test_a_change_read_positive_with_a_possible_minus_before_it_goes_to_review_as_sign_unsure():
    lost = _field("41", _cell(175, thickness=3))
    assert lost.read.value == 41 and Reason.SIGN_UNSURE in lost.reasons
    (result,) = decide([lost], GK2019.catalogue.rules, RoutingSettings())
    assert (result.value, result.status) == (41, FieldStatus.review)
    assert Reason.SIGN_UNSURE in result.reasons


def test_a_change_read_with_its_minus_or_printed_positive_is_no_sign_doubt():
    assert _field("-41", _cell(0, thickness=2)).reasons == ()
    assert _field("41", _cell(None)).reasons == ()
    (result,) = decide([_field("41", _cell(None))], GK2019.catalogue.rules, RoutingSettings())
    assert result.status == FieldStatus.accepted
    assert Reason.SIGN_UNSURE in _field("~41", _cell(None)).reasons


def test_a_column_that_cannot_fall_keeps_a_stroke_before_its_digits_as_a_mark():
    assert Reason.SIGN_UNSURE not in _field("41", _cell(175, thickness=3), PREVIOUS).reasons
