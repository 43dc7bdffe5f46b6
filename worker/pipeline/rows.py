"""Rows stage: read the label, unit and value cells of every grid row.

Only ink is sent to the recogniser: a cell with no ink is blank without any OCR, and a
label cell holding a wrapped label is split into its text lines, each read on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from worker.pipeline.layout import TableGrid, cell_image
from worker.pipeline.ocr import OcrEngine, TextRead
from worker.pipeline.preprocess import PreparedPage

_PAD = 4  # pixels of paper kept around text sent to the recogniser


@dataclass(frozen=True)
class CellRead:
    text: str  # "" for a blank cell
    score: float  # mean character probability (1.0 for a blank cell: nothing to misread)
    min_char_score: float
    blank: bool
    lines: int  # text lines found in the cell
    slanted: bool = False  # one leaning stroke: a printed "/" that reads like 1 or 7

    @classmethod
    def empty(cls) -> CellRead:
        return cls(text="", score=1.0, min_char_score=1.0, blank=True, lines=0)


@dataclass(frozen=True)
class TableRow:
    page: int
    index: int  # row index within its page's grid
    label: CellRead
    unit: CellRead
    value: CellRead
    value_box: tuple[float, float, float, float]  # value cell, prepared-page pixels
    seal_over_value: bool


def _ink_lines(crop: np.ndarray, dpi: float, split_lines: bool) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the text lines in a cell crop; [] for a blank cell."""
    if crop.size == 0:
        return []
    # Ink is what is clearly darker than this cell's paper, beyond its noise.
    paper = float(np.median(crop))
    noise = 1.4826 * float(np.median(np.abs(crop.astype(np.float32) - paper)))
    ink = (crop < paper - max(40.0, 5.0 * noise)).astype(np.uint8) * 255
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    min_height = max(dpi * 0.025, 3)
    min_area = max((dpi / 150) ** 2 * 6, 4)
    height, width = ink.shape
    solid = []
    for x, y, w, h, area in stats[1:count]:
        touches_edge = x == 0 or y == 0 or x + w == width or y + h == height
        if touches_edge and (w > 0.6 * width or h > 0.8 * height) and min(w, h) <= 3:
            continue  # remains of a ruled line
        if h >= min_height or area >= min_area * 3:
            solid.append((x, y, x + w, y + h))
    if not solid:
        return []
    boxes = np.array(solid)
    if not split_lines:
        x0, y0 = boxes[:, :2].min(axis=0)
        x1, y1 = boxes[:, 2:].max(axis=0)
        return [(int(x0), int(y0), int(x1), int(y1))]
    return _split_text_lines(boxes, dpi)


def _split_text_lines(boxes: np.ndarray, dpi: float) -> list[tuple[int, int, int, int]]:
    """Group component boxes into text lines by their vertical overlap."""
    order = np.argsort((boxes[:, 1] + boxes[:, 3]) / 2)
    lines: list[list[int]] = []
    gap = dpi * 0.02
    for i in order:
        x0, y0, x1, y1 = boxes[i]
        if lines:
            lx0, ly0, lx1, ly1 = lines[-1]
            if y0 < ly1 - gap or (y0 + y1) / 2 < ly1:  # overlaps the current line
                lines[-1] = [min(lx0, x0), min(ly0, y0), max(lx1, x1), max(ly1, y1)]
                continue
        lines.append([int(x0), int(y0), int(x1), int(y1)])
    min_line = dpi * 0.06  # a "line" thinner than this is a stray mark
    return [tuple(line) for line in lines if line[3] - line[1] >= min_line]  # type: ignore[misc]


def _pad_crop(crop: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    h, w = crop.shape
    piece = crop[max(y0 - _PAD, 0) : min(y1 + _PAD, h), max(x0 - _PAD, 0) : min(x1 + _PAD, w)]
    piece = cv2.copyMakeBorder(piece, _PAD, _PAD, _PAD, _PAD, cv2.BORDER_CONSTANT, value=255)
    return cv2.cvtColor(piece, cv2.COLOR_GRAY2BGR)


def _is_slanted_stroke(crop: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """True when the ink is one narrow stroke leaning more than 15° off vertical."""
    x0, y0, x1, y1 = box
    piece = crop[y0:y1, x0:x1]
    if piece.size == 0 or (x1 - x0) > (y1 - y0):
        return False
    ys, xs = np.nonzero(piece < (float(np.median(crop)) + float(piece.min())) / 2)
    if len(xs) < 5:
        return False
    slope = np.polyfit(ys.astype(np.float64), xs.astype(np.float64), 1)[0]  # dx per dy
    return abs(float(np.degrees(np.arctan(slope)))) > 15


def _combine(reads: list[TextRead], slanted: bool = False) -> CellRead:
    if not reads:
        return CellRead.empty()
    chars = [s for r in reads for s in r.char_scores]
    text = "".join(r.text for r in reads)
    return CellRead(
        text=text,
        score=float(np.mean(chars)) if chars else 0.0,
        min_char_score=min(chars, default=0.0),
        blank=False,
        lines=len(reads),
        slanted=slanted and len(text) == 1,
    )


def _overlaps(box: tuple[float, float, float, float], other: tuple[float, float, float, float]) -> bool:
    """True when two boxes share more than a sliver (a fifth of the smaller side)."""
    ix = min(box[2], other[2]) - max(box[0], other[0])
    iy = min(box[3], other[3]) - max(box[1], other[1])
    if ix <= 0 or iy <= 0:
        return False
    return ix * iy >= 0.2 * min(box[2] - box[0], other[2] - other[0]) * min(box[3] - box[1], other[3] - other[1])


def read_rows(page: PreparedPage, grid: TableGrid, engine: OcrEngine) -> list[TableRow]:
    """Read every row of a grid: one recogniser call for all the page's text lines."""
    inset = max(page.dpi * 0.012, 2.0)
    crops: list[np.ndarray] = []
    owners: list[tuple[int, str]] = []
    slanted: set[int] = set()
    for row in range(grid.rows):
        for role in ("label", "unit", "value"):
            cell = cell_image(page.gray, grid.cell(row, role), inset)
            for box in _ink_lines(cell, page.dpi, split_lines=role == "label"):
                crops.append(_pad_crop(cell, box))
                owners.append((row, role))
                if role == "value" and _is_slanted_stroke(cell, box):
                    slanted.add(row)
    reads = engine.recognize(crops) if crops else []
    by_cell: dict[tuple[int, str], list[TextRead]] = {}
    for owner, read in zip(owners, reads, strict=True):
        by_cell.setdefault(owner, []).append(read)
    rows = []
    for row in range(grid.rows):
        value_box = tuple(float(v) for v in grid.cell(row, "value").coordinates)
        rows.append(
            TableRow(
                page=page.number,
                index=row,
                label=_combine(by_cell.get((row, "label"), [])),
                unit=_combine(by_cell.get((row, "unit"), [])),
                value=_combine(by_cell.get((row, "value"), []), slanted=row in slanted),
                value_box=value_box,  # type: ignore[arg-type]
                seal_over_value=any(_overlaps(value_box, s.box) for s in page.seals),  # type: ignore[arg-type]
            )
        )
    return rows
