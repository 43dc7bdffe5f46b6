"""Rows stage (the list reader's): read the label, unit and value cells of every grid row.

Only print is sent to the recogniser: seal remains and specks are painted over first, a
cell with no ink is blank without any OCR, and a label cell holding a wrapped label is
split into its text lines, each read on its own. Marks a recogniser misreads are judged by
their shape: a flat stroke is a dash (never OCR'd), one stroke leaning like "/" is flagged.
A value cell that does not read as a clear number (a seal that will not come off on a fax
or grey scan, marks beside the digits) is read a second time from only the digit-sized ink
where the column's numbers sit. The cell-reading library is `worker.pipeline.cells`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import layoutparser as lp
import numpy as np

from worker.pipeline.cells import (
    DASH_READ,
    Box,
    CellRead,
    Plausible,
    blob_width,
    clean_cell,
    combine_reads,
    ink_lines,
    is_flat,
    is_slanted_stroke,
    learn_pitch,
    learn_placement,
    numbers_ink,
    overlaps,
    pad_crop,
    print_darkness,
    read_lines,
    read_text,
    reread_digits,
)
from worker.pipeline.layout import TableGrid, cell_image
from worker.pipeline.ocr import OcrEngine, TextRead
from worker.pipeline.preprocess import PreparedPage
from worker.pipeline.values import UNIT_ALPHABET, VALUE_ALPHABET

# Units are one or two characters: squeezed to half their width they read as well (a read
# that is not a unit the form prints is read again at full width).
UNIT_NARROW = 0.5


@dataclass(frozen=True)
class TableRow:
    page: int
    index: int  # row index within its page's grid
    label: CellRead
    unit: CellRead
    value: CellRead
    value_box: tuple[float, float, float, float]  # value cell, prepared-page pixels
    seal_over_value: bool


def _read_of(block: lp.TextBlock, known: Sequence[tuple[Box, CellRead]]) -> CellRead | None:
    """The read of a cell made earlier, found by its box (the same cell, seen by another
    stage whose geometry differs by a few pixels)."""
    x0, y0, x1, y1 = (float(v) for v in block.coordinates)
    for (a0, b0, a1, b1), read in known:
        inter = max(0.0, min(x1, a1) - max(x0, a0)) * max(0.0, min(y1, b1) - max(y0, b0))
        union = (x1 - x0) * (y1 - y0) + (a1 - a0) * (b1 - b0) - inter
        if union > 0 and inter / union >= 0.8:
            return read
    return None


def _box(block: lp.TextBlock) -> Box:
    x0, y0, x1, y1 = (float(v) for v in block.coordinates)
    return x0, y0, x1, y1


def read_rows(
    page: PreparedPage,
    grid: TableGrid,
    engine: OcrEngine,
    known_labels: Sequence[tuple[Box, CellRead]] = (),
    plausible_label: Plausible | None = None,
    plausible_unit: Plausible | None = None,
) -> list[TableRow]:
    """Read every row of a grid: one recogniser pass each for labels (see `read_text`),
    units and values, and one more for the digits of value cells that did not read as a
    clear number. A label cell that one of `known_labels` (box, read) already covers is
    not read again. On a page with a trusted text layer the cells' text is taken from it."""
    value_boxes = [tuple(float(v) for v in grid.cell(row, "value").coordinates) for row in range(grid.rows)]
    sealed = {row for row, box in enumerate(value_boxes) if any(overlaps(box, s.box) for s in page.seals)}  # type: ignore[arg-type]
    if page.text_layer is not None:
        layer = page.text_layer
        return [
            TableRow(
                page.number,
                row,
                *(layer.read(_box(grid.cell(row, role))) for role in ("label", "unit", "value")),
                value_box=value_box,  # type: ignore[arg-type]
                seal_over_value=row in sealed,
            )
            for row, value_box in enumerate(value_boxes)
        ]
    inset = max(page.dpi * 0.012, 2.0)
    images = {
        (row, role): cell_image(page.gray, grid.cell(row, role), inset)
        for row in range(grid.rows)
        for role in ("label", "unit", "value")
    }
    darkness = print_darkness(list(images.values()))
    cells = {key: clean_cell(image, page.dpi, darkness) for key, image in images.items()}
    known = {
        row: read
        for row in range(grid.rows)
        for read in [_read_of(grid.cell(row, "label"), known_labels)]
        if read is not None
    }
    label_lines = {
        row: [pad_crop(cell, box) for box in ink_lines(cell, page.dpi, split_lines=True, darkness=darkness)]
        for (row, role), cell in cells.items()
        if role == "label" and row not in known
    }
    labels = known | {row: combine_reads(r) for row, r in read_text(label_lines, engine, plausible_label).items()}
    unit_lines = {
        row: [pad_crop(cell, box) for box in ink_lines(cell, page.dpi, split_lines=False, darkness=darkness)]
        for (row, role), cell in cells.items()
        if role == "unit"
    }
    # Units and numbers are read as the few things such cells hold.
    units = read_text(unit_lines, engine, plausible_unit, UNIT_ALPHABET, UNIT_NARROW)
    value_cells = {row: cells[(row, "value")] for row in range(grid.rows)}
    values = _read_values(value_cells, page.dpi, darkness, engine)
    placement = learn_placement([cell for row, cell in value_cells.items() if row not in sealed], page.dpi, darkness)
    numbers = numbers_ink(value_cells, placement, darkness)
    widths = {row: blob_width(keep) for row, (keep, _) in numbers.items()}
    pitch = learn_pitch([(values[row], width) for row, width in widths.items() if row not in sealed], placement)
    if pitch is not None:
        values = {
            row: replace(read, ink_digits=pitch.digits(widths[row])) if row in widths else read
            for row, read in values.items()
        }
    values = reread_digits(value_cells, values, numbers, engine)
    return [
        TableRow(
            page=page.number,
            index=row,
            label=labels[row],
            unit=combine_reads(units[row]),
            value=values[row],
            value_box=value_box,  # type: ignore[arg-type]
            seal_over_value=row in sealed,
        )
        for row, value_box in enumerate(value_boxes)
    ]


def _read_values(
    cells: dict[int, np.ndarray], dpi: float, darkness: float | None, engine: OcrEngine
) -> dict[int, CellRead]:
    """Each value cell's number, in one recogniser call; a flat stroke is a dash without OCR,
    one stroke leaning like "/" is marked `slanted`."""
    lines: dict[int, list[np.ndarray]] = {}
    by_cell: dict[int, list[TextRead]] = {}
    slanted: set[int] = set()
    for row, cell in cells.items():
        boxes = ink_lines(cell, dpi, split_lines=False, darkness=darkness)
        if boxes and is_flat(boxes[0], dpi):
            by_cell[row] = [DASH_READ]
            continue
        lines[row] = [pad_crop(cell, box) for box in boxes]
        slanted |= {row for box in boxes if is_slanted_stroke(cell, box)}
    by_cell |= read_lines(lines, engine, alphabet=VALUE_ALPHABET)
    return {row: combine_reads(by_cell.get(row, []), slanted=row in slanted) for row in cells}
