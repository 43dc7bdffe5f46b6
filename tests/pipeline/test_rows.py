"""Cell cleaning before recognition: specks go, decimal points and faint strokes stay."""

import cv2
import numpy as np

from worker.pipeline.rows import erase_specks

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
    cleaned = erase_specks(cell, DPI)
    assert not any(_dark(cleaned, x, y) for x, y in specks)
    digits = cell[15:45, 105:150]
    assert np.array_equal(cleaned[15:45, 105:150], digits)


def test_a_decimal_point_between_digits_is_kept():
    cell = np.full((60, 300), 235, np.uint8)
    cv2.putText(cell, "3", (100, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2, cv2.LINE_AA)
    cv2.circle(cell, (129, 40), 2, 20, -1)  # on the baseline, clear of both digits
    cv2.putText(cell, "5", (138, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2, cv2.LINE_AA)
    cleaned = erase_specks(cell, DPI)
    assert _dark(cleaned, 129, 40)
    assert np.array_equal(cleaned, cell)


def test_pieces_of_a_faint_digit_are_not_specks():
    cell = np.full((60, 300), 235, np.uint8)
    # A "1" printed so faintly it broke into four short pieces a pixel or two apart.
    for top in (14, 21, 28, 35):
        cell[top : top + 5, 150:152] = 30
    cleaned = erase_specks(cell, DPI)
    assert np.array_equal(cleaned, cell)


def test_a_blank_cell_with_only_specks_becomes_paper():
    cell = np.full((60, 300), 235, np.uint8)
    for x, y in [(40, 20), (150, 30), (250, 45)]:
        cv2.circle(cell, (x, y), 1, 10, -1)
    cleaned = erase_specks(cell, DPI)
    assert cleaned.min() > 200
