"""Cell cleaning before recognition: specks go, decimal points and faint strokes stay."""

from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from fixtures.fonts import ASCII_FACES, CJK_FACES, load_font
from worker.pipeline.cells import (
    CellRead,
    Pitch,
    Placement,
    clean_cell,
    is_dash,
    is_slanted_stroke,
    isolate_digits,
    learn_pitch,
    learn_placement,
    number_width,
    numbers_ink,
    print_darkness,
    reread_digits,
    too_wide,
)
from worker.pipeline.ocr import TextRead

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
    assert is_slanted_stroke(*_strokes(((64, 8), (59, 30))))  # "/" leaning 13°, as a fax prints it
    assert not is_slanted_stroke(*_strokes(((60, 8), (60, 30)), ((60, 8), (55, 13))))  # a 1 with its flag
    assert not is_slanted_stroke(*_strokes(((60, 8), (61, 30))))  # upright


def test_a_small_seven_whose_bar_fits_the_stroke_line_is_not_a_slash():
    # 9 × 14 px, as a 150 dpi scan prints it: the bar is short enough to fit one line.
    cell, box = _strokes(((58, 8), (63, 8)), ((63, 8), (58, 21)))
    assert not is_slanted_stroke(cell, box)


def _glyph(face, size: int, text: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    image = Image.new("L", (size * 4, size * 2), 240)
    ImageDraw.Draw(image).text((size, size // 3), text, font=load_font(face, size), fill=30)
    cell = np.array(image)
    ys, xs = np.nonzero(cell < 135)
    return cell, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def test_slashes_are_told_from_1_4_7_in_every_report_font():
    faces = sorted({f for pair in CJK_FACES.values() for f in pair} | set(ASCII_FACES.values()), key=str)
    for face in faces:
        for size in (14, 20, 28):
            assert is_slanted_stroke(*_glyph(face, size, "/")), (face, size)
            for digit in "147":
                assert not is_slanted_stroke(*_glyph(face, size, digit)), (face, size, digit)


def test_a_flat_stroke_is_a_dash_and_digits_are_not():
    cell = np.full((40, 200), 235, np.uint8)
    cell[20:23, 80:104] = 30
    assert is_dash(cell, DPI)
    cell[20:23, 110:134] = 30  # a double dash (——)
    assert is_dash(cell, DPI)
    assert not is_dash(_cell_with_number("1"), DPI)
    assert not is_dash(_cell_with_number("70"), DPI)
    assert not is_dash(np.full((40, 200), 235, np.uint8), DPI)  # blank is not a dash


def _value_cell(text: str, right: int = 280) -> np.ndarray:
    """A right-aligned number, ending `right` pixels from the cell's left."""
    cell = np.full((60, 300), 235, np.uint8)
    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)
    cv2.putText(cell, text, (right - width, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2, cv2.LINE_AA)
    return cell


def test_the_placement_of_a_columns_numbers_is_learnt():
    placement = learn_placement([_value_cell(t) for t in ("3", "48", "120", "7")], DPI)
    assert placement is not None and placement.side == "right"
    assert placement.offset == pytest.approx(20, abs=2)
    assert placement.height == pytest.approx(22, abs=2)
    assert learn_placement([_value_cell("5")], DPI) is None  # too few to learn from


def test_digits_under_a_black_seal_are_read_alone():
    placement = Placement("right", offset=20, middle=1, height=22)
    cell = _value_cell("36")
    cv2.ellipse(cell, (120, 95), (110, 80), 0, 180, 300, 10, 3)  # the seal's ring, cut by the cell
    cv2.putText(cell, "(1)", (60, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 10, 2)  # seal text, off the anchor
    digits = isolate_digits(cell, placement)
    assert digits is not None
    expected = isolate_digits(_value_cell("36"), placement)
    assert digits.shape == expected.shape and np.array_equal(digits, expected)


def test_a_paler_seal_stroke_touching_the_digits_is_cut_away_given_the_page_print():
    placement = Placement("right", offset=20, middle=1, height=22)
    cell = _value_cell("36")
    cv2.line(cell, (281, 0), (281, 59), 150, 5)  # grey seal ink touching the 6, across the cell
    assert isolate_digits(cell, placement) is None  # one blob with the stroke: too big
    digits = isolate_digits(cell, placement, darkness=20)
    expected = isolate_digits(_value_cell("36"), placement)
    assert digits is not None
    # Both digits (their soft edges aside), none of the 5 px stroke or its 60 px height.
    assert abs(digits.shape[0] - expected.shape[0]) <= 2 and abs(digits.shape[1] - expected.shape[1]) <= 2


def test_nothing_is_isolated_where_no_digit_sits():
    placement = Placement("right", offset=20, middle=1, height=22)
    cell = np.full((60, 300), 235, np.uint8)
    cv2.putText(cell, "7", (60, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2)  # far from the right edge
    assert isolate_digits(cell, placement) is None


class _Reads:
    """An OCR stub that reads `text` in every crop and keeps the crops it was given."""

    name = "stub"

    def __init__(self, text: str) -> None:
        self.text, self.crops = text, []

    def recognize(self, crops, alphabet=None):
        self.crops.extend(crops)
        return [TextRead(self.text, 0.97, (0.97,) * len(self.text)) for _ in crops]


def _read(text: str, score: float) -> CellRead:
    return CellRead(text=text, score=score, min_char_score=score, blank=False, lines=1)


def test_only_values_read_as_no_clear_number_are_read_again_from_their_digits():
    placement = Placement("right", offset=20, middle=1, height=22)
    marked = _value_cell("36")
    cv2.putText(marked, "x", (60, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2)  # a mark off the anchor
    cells = {0: marked, 1: _value_cell("52"), 2: np.full((60, 300), 235, np.uint8), 3: _value_cell("/")}
    reads = {0: _read("x36", 0.6), 1: _read("52", 0.99), 2: CellRead.empty(), 3: _read("/", 0.7)}
    engine = _Reads("36")
    numbers = numbers_ink(cells, placement, None)
    again = reread_digits(cells, reads, numbers, engine)
    assert len(engine.crops) == 1  # the clear number, the blank cell and the slash are not read again
    assert (again[0].text, again[0].isolated) == ("36", True)
    assert again[1] == reads[1] and again[2] == reads[2] and again[3] == reads[3]
    assert reread_digits(cells, reads, numbers, _Reads("忆"))[0] == reads[0]  # still no number: kept
    unlearnt = numbers_ink(cells, None, None)
    assert reread_digits(cells, reads, unlearnt, engine) == reads  # nothing learnt, nothing re-read


def test_the_page_print_darkness_ignores_empty_and_blank_cells():
    printed = _cell_with_number("5")
    blank = np.full((60, 300), 235, np.uint8)
    assert print_darkness([np.zeros((0, 0), np.uint8), blank, printed]) == float(np.percentile(printed, 0.3))
    assert print_darkness([blank]) is None


def test_on_a_faint_page_paler_strokes_count_as_ink():
    from worker.pipeline.cells.ink import ink_mask

    cell = np.full((40, 100), 240, np.uint8)
    cell[10:30, 20:23] = 212  # 28 grey levels below the paper
    assert not ink_mask(cell)[0].any()  # 40 below the paper by default
    assert not ink_mask(cell, darkness=60)[0].any()  # beside dark print, a mark that pale is not print
    ink, _ = ink_mask(cell, darkness=160)  # faint print (80 below the paper): a quarter of that, 20
    assert ink[10:30, 20:23].all() and ink.sum() == 60 * 255


def _number_cell(text: str, x: int = 150) -> np.ndarray:
    """Digits one every 21 px (a point takes 6), from `x` on."""
    cell = np.full((60, 300), 235, np.uint8)
    for ch in text:
        cv2.putText(cell, ch, (x, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 20, 2)
        x += 6 if ch == "." else 21
    return cell


def _ink_extent(cell: np.ndarray) -> int:
    xs = np.flatnonzero((cell < 235 - 40).any(axis=0))
    return int(xs[-1] - xs[0] + 1)


def test_a_number_is_as_wide_as_its_digits_and_marks_beside_it_do_not_count():
    placement = Placement("left", offset=150, middle=1, height=20)
    assert number_width(_number_cell("4"), placement) == _ink_extent(_number_cell("4"))
    three = number_width(_number_cell("444"), placement)
    assert three == _ink_extent(_number_cell("4")) + 2 * 21
    marked = _number_cell("444")
    marked[5:8, 20:120] = 20  # a stroke of a seal ring, far too long for a digit
    cv2.circle(marked, (140, 35), 1, 20, -1)  # a speck beside the number
    assert number_width(marked, placement) == three
    assert number_width(np.full((60, 300), 235, np.uint8), placement) is None


def test_a_read_narrower_than_its_ink_lost_a_digit():
    # Learnt from clear reads: 1 digit 17 px wide, 2 digits 34, 3 digits 51.
    clear = [(_read(text, 0.99), 17 * len(text)) for text in ("5", "7", "12", "40", "305")]
    pitch = learn_pitch(clear, Placement("right", 20, 1, height=24))
    assert pitch == Pitch(pytest.approx(17.0), pytest.approx(0.0, abs=1e-6))
    assert not too_wide(replace(_read("4", 0.99), ink_digits=pitch.digits(19)))
    assert too_wide(replace(_read("4", 0.99), ink_digits=pitch.digits(34)))  # 14 with its faint 1 lost
    assert not too_wide(replace(_read("3.5", 0.99), ink_digits=pitch.digits(42)))  # a point is half a digit
    assert learn_pitch(clear[:2], Placement("right", 20, 1, height=24)) is None  # one length only
    assert learn_pitch(clear, Placement("right", 20, 1, height=60)) is None  # steps too short for such digits


def test_an_isolated_number_keeps_its_decimal_point():
    placement = Placement("left", offset=150, middle=1, height=20)
    cell = _number_cell("3.5")
    isolated = isolate_digits(cell, placement)
    assert isolated is not None
    assert (isolated[..., 0] < 100).sum() == (cell < 100).sum()  # both digits and the point
    assert number_width(cell, placement) == _ink_extent(cell)
