"""Cell cleaning before recognition: specks go, decimal points and faint strokes stay."""

import cv2
import numpy as np

from worker.pipeline.rows import _is_slanted_stroke, clean_cell, print_darkness

DPI = 200


def _cell_with_number(text: str) -> np.ndarray:
    cell = np.full((60, 300), 235, np.uint8)  # grey-ish paper
    cv2.putText(cell, text, (110, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2, cv2.LINE_AA)
    return cell


def _dark(cell: np.ndarray, x: int, y: int) -> bool:
    return bool(cell[y - 1 : y + 2, x - 1 : x + 2].min() < 150)


def test_isolated_specks_are_painted_over_and_the_digits_kept():
    cell = _cell_with_number("24")
    specks = [(30, 12), (200, 40), (260, 20), (160, 50)]
    for x, y in specks:
        cv2.circle(cell, (x, y), 1, 10, -1)
    cleaned = clean_cell(cell, DPI)
    assert not any(_dark(cleaned, x, y) for x, y in specks)
    digits = cell[15:45, 105:150]
    assert np.array_equal(cleaned[15:45, 105:150], digits)


def test_a_decimal_point_between_digits_is_kept():
    cell = np.full((60, 300), 235, np.uint8)
    cv2.putText(cell, "3", (100, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2, cv2.LINE_AA)
    cv2.circle(cell, (129, 40), 2, 20, -1)  # on the baseline, clear of both digits
    cv2.putText(cell, "5", (138, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2, cv2.LINE_AA)
    cleaned = clean_cell(cell, DPI)
    assert _dark(cleaned, 129, 40)
    assert np.array_equal(cleaned, cell)


def test_pieces_of_a_faint_digit_are_not_specks():
    cell = np.full((60, 300), 235, np.uint8)
    # A "1" printed so faintly it broke into four short pieces a pixel or two apart.
    for top in (14, 21, 28, 35):
        cell[top : top + 5, 150:152] = 30
    cleaned = clean_cell(cell, DPI)
    assert np.array_equal(cleaned, cell)


def test_a_blank_cell_with_only_specks_becomes_paper():
    cell = np.full((60, 300), 235, np.uint8)
    for x, y in [(40, 20), (150, 30), (250, 45)]:
        cv2.circle(cell, (x, y), 1, 10, -1)
    cleaned = clean_cell(cell, DPI)
    assert cleaned.min() > 200


def test_what_a_suppressed_seal_left_is_painted_over_and_the_print_kept():
    cell = _cell_with_number("0")
    cv2.ellipse(cell, (230, 80), (60, 50), 0, 180, 360, 175, 3)  # a pale arc of seal ring, clear of the 0
    assert (cell[:, 160:] < 190).any()
    cleaned = clean_cell(cell, DPI)
    assert cleaned[:, 160:].min() > 190
    assert np.array_equal(cleaned[15:45, 105:135], cell[15:45, 105:135])


def test_a_blank_cell_under_a_seal_becomes_paper_given_the_page_print():
    cell = np.full((60, 300), 235, np.uint8)
    cv2.ellipse(cell, (150, 80), (140, 60), 0, 200, 340, 175, 3)
    assert clean_cell(cell, DPI).min() < 190  # alone, the arc is the darkest thing in it
    assert clean_cell(cell, DPI, darkness=20).min() > 190


def test_print_faint_all_over_is_kept():
    cell = np.full((60, 300), 235, np.uint8)
    cv2.putText(cell, "7", (110, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 160, 2)
    assert np.array_equal(clean_cell(cell, DPI, darkness=150), cell)


def _strokes(*lines: tuple[tuple[int, int], tuple[int, int]]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A cell with the given strokes drawn, and the box of its ink."""
    cell = np.full((40, 120), 240, np.uint8)
    for top, bottom in lines:
        cv2.line(cell, top, bottom, 20, 2)
    ys, xs = np.nonzero(cell < 128)
    return cell, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def test_a_slash_leaning_a_little_is_told_from_a_one():
    assert _is_slanted_stroke(*_strokes(((64, 8), (59, 30))))  # "/" leaning 13°, as a fax prints it
    assert not _is_slanted_stroke(*_strokes(((60, 8), (60, 30)), ((60, 8), (55, 13))))  # a 1 with its flag
    assert not _is_slanted_stroke(*_strokes(((60, 8), (61, 30))))  # upright


def test_the_page_print_darkness_ignores_empty_and_blank_cells():
    printed = _cell_with_number("5")
    blank = np.full((60, 300), 235, np.uint8)
    assert print_darkness([np.zeros((0, 0), np.uint8), blank, printed]) == float(np.percentile(printed, 0.3))
    assert print_darkness([blank]) is None
