"""Digits in value cells: where a column's numbers sit (`Placement`), how wide a digit is on
the page (`Pitch`, to tell a read that lost a faint digit), and reading a number again from
its digit-sized ink alone (seal strokes and marks beside it left out)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from worker.pipeline.cells.ink import FAINT_CONTRAST, ink_lines, ink_mask, is_flat, on_baseline_between, pad_crop
from worker.pipeline.cells.reading import CellRead, combine_reads
from worker.pipeline.ocr import OcrEngine
from worker.pipeline.values import VALUE_ALPHABET, parse_value

_WIDER = 0.6  # digits more than were read a value's ink may be wide for (see `too_wide`)


@dataclass(frozen=True)
class Placement:
    """Where a column's numbers sit in their cells, learnt from the cells no seal covers:
    the side they are aligned to, the anchor's offset from that side (from the middle for
    "center"), the text's middle below the cell's middle, and the digits' height."""

    side: str  # "left", "right" or "center"
    offset: float
    middle: float
    height: float

    def anchor(self, width: int) -> float:
        return {"left": self.offset, "right": width - self.offset, "center": width / 2 + self.offset}[self.side]


def learn_placement(cells: list[np.ndarray], dpi: float, darkness: float | None = None) -> Placement | None:
    """The placement of the numbers in these cells; None with fewer than three numbers."""
    found = []
    for cell in cells:
        lines = ink_lines(cell, dpi, split_lines=False, darkness=darkness)
        if lines and not is_flat(lines[0], dpi):
            x0, y0, x1, y1 = lines[0]
            height, width = cell.shape
            found.append((x0, width - x1, (x0 + x1 - width) / 2, (y0 + y1 - height) / 2, y1 - y0))
    if len(found) < 3:
        return None
    table = np.array(found, dtype=np.float64)
    spreads = [float(np.median(np.abs(table[:, i] - np.median(table[:, i])))) for i in range(3)]
    side = int(np.argmin(spreads))
    medians = np.median(table, axis=0)
    return Placement(("left", "right", "center")[side], float(medians[side]), float(medians[3]), float(medians[4]))


def isolate_digits(cell: np.ndarray, placement: Placement, darkness: float | None = None) -> np.ndarray | None:
    """A crop holding only the cell's number (see `_number_blobs`), on paper; None when
    there is none."""
    found = _number_blobs(cell, placement, darkness)
    return None if found is None else _digits_alone(cell, *found)


def number_width(cell: np.ndarray, placement: Placement, darkness: float | None = None) -> int | None:
    """How wide the cell's number is (see `_number_blobs`); None when there is none."""
    found = _number_blobs(cell, placement, darkness)
    return None if found is None else blob_width(found[0])


def _digits_alone(cell: np.ndarray, keep: np.ndarray, paper: float) -> np.ndarray:
    """The cell on paper with only the `keep` blobs, cropped to them."""
    ys, xs = np.nonzero(keep)
    keep = cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # the digits' soft edges
    isolated = np.full_like(cell, round(paper))
    isolated[keep] = cell[keep]
    return pad_crop(isolated, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


def blob_width(keep: np.ndarray) -> int:
    xs = np.flatnonzero(keep.any(axis=0))
    return int(xs[-1] - xs[0] + 1)


def _number_blobs(
    cell: np.ndarray, placement: Placement, darkness: float | None = None
) -> tuple[np.ndarray, float] | None:
    """(mask, paper): the digit-sized blobs that sit where this column's numbers sit, side
    by side from the anchor outwards; None when there are none. Seal strokes crossing the
    cell are too tall, too wide, cut by the cell's edges or away from the anchor; specks
    are too small. Given the page's print `darkness`, blobs are cut from the print-dark
    pixels only, so a paler seal stroke touching a digit does not join it."""
    ink, paper = ink_mask(cell, darkness)
    if darkness is not None and paper - darkness >= FAINT_CONTRAST:
        ink = (cell < (paper + darkness) / 2).astype(np.uint8) * 255
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height, width = cell.shape
    size, middle = placement.height, height / 2 + placement.middle
    digits = [
        i
        for i in range(1, count)
        if 0.6 * size <= stats[i, cv2.CC_STAT_HEIGHT] <= 1.35 * size
        and stats[i, cv2.CC_STAT_WIDTH] <= 1.3 * size
        and abs(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] / 2 - middle) <= 0.35 * size
    ]
    spans = {i: (stats[i, cv2.CC_STAT_LEFT], stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH]) for i in digits}
    anchor = placement.anchor(width)
    edge = {"left": lambda i: spans[i][0], "right": lambda i: spans[i][1]}.get(
        placement.side, lambda i: (spans[i][0] + spans[i][1]) / 2
    )
    near = [i for i in digits if abs(edge(i) - anchor) <= 0.8 * size]
    if not near:
        return None
    group = {min(near, key=lambda i: abs(edge(i) - anchor))}
    gap = 0.6 * size  # between the digits of one number
    while True:
        left = min(spans[i][0] for i in group)
        right = max(spans[i][1] for i in group)
        more = {i for i in digits if i not in group and spans[i][1] >= left - gap and spans[i][0] <= right + gap}
        if not more:
            break
        group |= more
    # A decimal point is too small to be a digit: kept where it sits on the baseline between two.
    solid = [tuple(stats[i]) for i in group]
    points = [
        i
        for i in range(1, count)
        if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) < 0.45 * size
        and on_baseline_between(tuple(stats[i]), solid)
    ]
    return np.isin(labels, [*group, *points]), paper


@dataclass(frozen=True)
class Pitch:
    """How wide a page's numbers are: ink width = per_digit × digits + extra (the first
    digit's own width beyond one step), learnt from the numbers read clearly."""

    per_digit: float
    extra: float

    def digits(self, width: float) -> float:
        return (width - self.extra) / self.per_digit


def numbers_ink(
    cells: dict[int, np.ndarray], placement: Placement | None, darkness: float | None
) -> dict[int, tuple[np.ndarray, float]]:
    """Each value cell's number blobs (see `_number_blobs`), found once for both their width
    and the re-read of their digits alone; cells without any are left out."""
    if placement is None:
        return {}
    found = {row: _number_blobs(cell, placement, darkness) for row, cell in cells.items()}
    return {row: blobs for row, blobs in found.items() if blobs is not None}


def learn_pitch(reads: list[tuple[CellRead, int]], placement: Placement | None) -> Pitch | None:
    """The pitch from clear numbers (read, ink width) of at least two lengths; None when
    they do not give one in the range of printed digits (0.4-1.2 of the digits' height)."""
    by_length: dict[int, list[int]] = {}
    for read, width in reads:
        if _settled(read) and not read.slanted and read.text.isdigit():
            by_length.setdefault(len(read.text), []).append(width)
    if placement is None or len(by_length) < 2:
        return None
    lengths = np.array(sorted(by_length), dtype=np.float64)
    medians = np.array([np.median(by_length[n]) for n in sorted(by_length)])
    weights = np.sqrt([len(by_length[n]) for n in sorted(by_length)])
    per_digit, extra = np.polyfit(lengths, medians, 1, w=weights)
    if not 0.4 * placement.height <= per_digit <= 1.2 * placement.height:
        return None
    return Pitch(float(per_digit), float(extra))


def too_wide(read: CellRead) -> bool:
    """The value's ink is wider than the number read by more than half a digit: a faint
    digit lost (47 read as 4), or marks beside the number left unread."""
    parsed = parse_value(read.text, decimal_allowed=True)
    return parsed.value is not None and read.ink_digits is not None and read.ink_digits - parsed.span > _WIDER


def _settled(read: CellRead) -> bool:
    """A clear number, or a dash or slash read as one: nothing to read again (the digits
    alone could only turn a printed "no value" into a number)."""
    parsed = parse_value(read.text, decimal_allowed=True)
    if parsed.is_dash:
        return bool(read.text)
    return parsed.value is not None and not parsed.repaired and read.min_char_score >= 0.8 and not too_wide(read)


def unsure_number(read: CellRead) -> bool:
    """A cell with ink that reads no clear number: one `reread_digits` reads again."""
    return not read.blank and not read.slanted and not _settled(read)


def reread_digits(
    cells: dict[int, np.ndarray],
    reads: dict[int, CellRead],
    numbers: dict[int, tuple[np.ndarray, float]],
    engine: OcrEngine,
) -> dict[int, CellRead]:
    """Value cells that hold ink but no clear number, read again from their digits alone
    (`numbers`: see `numbers_ink`); kept when the digits read as a number."""
    unsure = {
        row: _digits_alone(cells[row], *numbers[row])
        for row, read in reads.items()
        if row in numbers and unsure_number(read)
    }
    if not unsure:
        return reads
    again = engine.recognize(list(unsure.values()), VALUE_ALPHABET)
    better = dict(reads)
    for row, read in zip(unsure, again, strict=True):
        alone = combine_reads([read])
        if parse_value(alone.text, decimal_allowed=True).value is not None:
            better[row] = replace(alone, isolated=True)
    return better
