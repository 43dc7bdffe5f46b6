"""What is sent to the recogniser: batch widths, squeezed label lines read again where
implausible, and label cells another stage already read."""

import numpy as np
import pytest
from rapidocr.ch_ppocr_rec.main import TextRecognizer

from tests.pipeline.drawing import ROWS, table_page
from worker.pipeline.cells import CellRead, read_text
from worker.pipeline.layout import find_grid
from worker.pipeline.ocr import CtcDecoder, RapidOcrEngine, TextRead
from worker.pipeline.preprocess import prepare_page
from worker.pipeline.rows import read_rows
from worker.pipeline.values import UNIT_ALPHABET


class _Recorder:
    """An OCR stub: a crop reads as the text its top-left grey level stands for (`texts`,
    or a squeezed variant `narrow` when the crop is narrower than `full_width`)."""

    name = "stub"

    def __init__(self, texts: dict[int, str], narrow: dict[int, str] | None = None, full_width: int = 0) -> None:
        self.texts, self.narrow, self.full_width = texts, narrow or {}, full_width
        self.calls: list[tuple[list[int], object]] = []  # (crop widths, alphabet) per call

    def recognize(self, crops, alphabet=None):
        self.calls.append(([c.shape[1] for c in crops], alphabet))
        reads = []
        for crop in crops:
            level = int(crop[0, 0, 0])
            squeezed = crop.shape[1] < self.full_width and level in self.narrow
            text = self.narrow[level] if squeezed else self.texts.get(level, "?")
            reads.append(TextRead(text, 0.95, (0.95,) * len(text)))
        return reads


def _line(level: int, width: int = 200) -> np.ndarray:
    return np.full((40, width, 3), level, np.uint8)


def test_text_lines_are_read_squeezed_and_only_implausible_cells_again_in_full():
    lines = {"a": [_line(10)], "b": [_line(20), _line(30)], "c": []}
    engine = _Recorder({10: "主动公开", 20: "回应", 30: "解读"}, narrow={20: "回盛", 30: "解读"}, full_width=200)
    reads = read_text(lines, engine, plausible=lambda text: text in {"主动公开", "回应解读"})
    assert engine.calls == [([70, 70, 70], None), ([200, 200], None)]  # squeezed to 0.35; b's two lines in full
    assert [r.text for r in reads["a"]] == ["主动公开"]
    assert [r.text for r in reads["b"]] == ["回应", "解读"]
    assert reads["c"] == []


def test_text_lines_are_read_in_full_only_when_nothing_can_tell_a_good_read():
    engine = _Recorder({10: "主动公开"})
    reads = read_text({"a": [_line(10)]}, engine)
    assert engine.calls == [([200], None)]
    assert [r.text for r in reads["a"]] == ["主动公开"]


def test_label_cells_already_read_are_not_read_again():
    prepared = prepare_page(table_page())
    grid = find_grid(prepared)
    assert grid is not None and grid.rows == ROWS
    known = [
        (tuple(float(v) + 2 for v in grid.cell(row, "label").coordinates), CellRead("已读", 1.0, 1.0, False, 1))
        for row in range(4)  # boxes a few pixels off, as another stage's geometry gives them
    ]
    engine = _Recorder({})
    rows = read_rows(prepared, grid, engine, known)
    assert [row.label.text for row in rows[:4]] == ["已读"] * 4
    label_calls = [widths for widths, alphabet in engine.calls if alphabet is None]
    assert [len(widths) for widths in label_calls] == [ROWS - 4]
    assert all(row.label.text == "?" for row in rows[4:])


def test_unit_cells_are_read_squeezed_as_units_and_again_in_full_only_when_not_a_unit_of_the_form():
    prepared = prepare_page(table_page(units=True))
    grid = find_grid(prepared)
    assert grid is not None
    for plausible, expected_calls in ((lambda text: text == "件", 1), (lambda text: False, 2)):
        engine = _Recorder({255: "件"})  # every crop (white at its corner) reads 件
        rows = read_rows(prepared, grid, engine, plausible_unit=plausible)
        unit_calls = [widths for widths, alphabet in engine.calls if alphabet is UNIT_ALPHABET]
        assert len(unit_calls) == expected_calls
        if expected_calls == 2:  # the second read is of the same crops at full width
            assert [2 * w for w in unit_calls[0]] == pytest.approx(unit_calls[1], abs=1)
        assert [row.unit.text for row in rows] == ["件"] * ROWS


class _FakeSession:
    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.shapes.append(batch.shape)
        return np.zeros((len(batch), batch.shape[3] // 8, 3), np.float32)


def test_crops_are_batched_only_with_crops_of_their_own_input_width():
    engine = RapidOcrEngine.__new__(RapidOcrEngine)
    rec = TextRecognizer.__new__(TextRecognizer)
    rec.rec_image_shape = [3, 48, 320]
    rec.session = _FakeSession()
    engine._rec, engine._decoder = rec, CtcDecoder(["blank", "0"])
    # Height 40 scaled to 48: widths 72, 96, 74.4 and 73.2 (both padded to 80), 24 (a square at least).
    reads = engine.recognize([_line(0, 60), _line(0, 80), _line(0, 62), _line(0, 61), _line(0, 20)])
    assert len(reads) == 5
    assert rec.session.shapes == [(1, 3, 48, 48), (1, 3, 48, 72), (2, 3, 48, 80), (1, 3, 48, 96)]
