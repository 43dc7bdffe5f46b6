"""Rows stage: read the label, unit and value cells of every grid row.

Only print is sent to the recogniser: seal remains and specks are painted over first, a
cell with no ink is blank without any OCR, and a label cell holding a wrapped label is
split into its text lines, each read on its own. Marks a recogniser misreads are judged by
their shape: a flat stroke is a dash (never OCR'd), one stroke leaning like "/" is flagged.
A value cell that does not read as a clear number (a seal that will not come off on a fax
or grey scan, marks beside the digits) is read a second time from only the digit-sized ink
where the column's numbers sit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import cv2
import layoutparser as lp
import numpy as np

from worker.pipeline.layout import TableGrid, cell_image
from worker.pipeline.ocr import Alphabet, OcrEngine, TextRead
from worker.pipeline.preprocess import PreparedPage
from worker.pipeline.values import UNIT_ALPHABET, VALUE_ALPHABET, parse_value

_PAD = 4  # pixels of paper kept around text sent to the recogniser
_FAINT_CONTRAST = 100  # print less than this many grey levels darker than its paper is faint
_WIDER = 0.6  # digits more than were read a value's ink may be wide for (see `too_wide`)
DASH_READ = TextRead("—", 1.0, (1.0,))  # a mark read from its shape, not by the recogniser
NARROW = 0.5  # share of its width a text line is first read at (see `read_text`)
Plausible = Callable[[str], bool]  # does a cell's text read like what such a cell holds?
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class CellRead:
    text: str  # "" for a blank cell
    score: float  # mean character probability (1.0 for a blank cell: nothing to misread)
    min_char_score: float
    blank: bool
    lines: int  # text lines found in the cell
    slanted: bool = False  # one leaning stroke: a printed "/" that reads like 1 or 7
    isolated: bool = False  # read from the digit-sized ink alone (see `isolate_digits`)
    ink_digits: float | None = None  # digits the value's ink is wide enough for (see `Pitch`)

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


def _ink_mask(crop: np.ndarray, darkness: float | None = None) -> tuple[np.ndarray, float]:
    """Ink (255) is what is clearly darker than this cell's paper, beyond its noise:
    40 grey levels, or on a page whose print is faint (`darkness`, see `print_darkness`)
    a quarter of its contrast, as the thin strokes of small faint digits do not reach 40
    below the paper. Not on other pages: there, marks that pale are seal remains."""
    paper = float(np.median(crop))
    noise = 1.4826 * float(np.median(np.abs(crop.astype(np.float32) - paper)))
    margin = 40.0
    if darkness is not None and paper - darkness < _FAINT_CONTRAST:
        margin = max(0.25 * (paper - darkness), 20.0)
    return (crop < paper - max(margin, 5.0 * noise)).astype(np.uint8) * 255, paper


def _is_solid(h: int, area: int, dpi: float) -> bool:
    """Big enough to be part of a character rather than a speck of dust or toner."""
    return h >= max(dpi * 0.025, 3) or area >= max((dpi / 150) ** 2 * 6, 4) * 3


def print_darkness(cells: list[np.ndarray]) -> float | None:
    """How dark the page's print is: the typical darkest grey of the cells holding print."""
    marked = []
    for cell in (c for c in cells if c.size):
        level = float(np.percentile(cell, 0.3))
        if np.median(cell) - level >= 60:
            marked.append(level)
    return float(np.median(marked)) if marked else None


def clean_cell(crop: np.ndarray, dpi: float, darkness: float | None = None) -> np.ndarray:
    """The cell with what is not print painted over as paper, so the recogniser reads only
    the print: pale marks (what is left of a suppressed seal, bleed-through) and specks.
    `darkness` is the page's print (see `print_darkness`); without it, the cell's own."""
    if crop.size == 0:
        return crop
    ink, paper = _ink_mask(crop, darkness)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    erase = _pale_marks(crop, labels, count, paper, darkness) | _specks(labels, stats, dpi)
    if not erase:
        return crop
    mask = cv2.dilate(np.isin(labels, list(erase)).astype(np.uint8), np.ones((3, 3), np.uint8))
    cleaned = crop.copy()
    cleaned[mask > 0] = round(paper)
    return cleaned


def _pale_marks(crop: np.ndarray, labels: np.ndarray, count: int, paper: float, darkness: float | None) -> set[int]:
    """Marks with no pixel nearly as dark as the print. Print that is faint all over
    keeps everything."""
    darkest = float(np.percentile(crop, 0.3)) if darkness is None else darkness
    if paper - darkest < _FAINT_CONTRAST:
        return set()
    dark = crop < (paper + darkest) / 2
    has_dark = np.bincount(labels[dark], minlength=count) > 0
    return {i for i in range(1, count) if not has_dark[i]}


def _specks(labels: np.ndarray, stats: np.ndarray, dpi: float) -> set[int]:
    """Blobs far smaller than the cell's characters with no other ink close by (pieces of
    a faintly printed digit lie close together). A dot on the baseline between two
    characters is kept: it is a decimal point or a numbering dot (1.)."""
    sizes = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    small = dpi * 0.045  # below a 6 pt character's height
    text = stats[1:, cv2.CC_STAT_HEIGHT][sizes >= small]
    limit = min(small, 0.45 * float(text.max())) if len(text) else np.inf
    characters = [tuple(stats[i + 1]) for i in np.flatnonzero(sizes >= limit)]
    reach = max(round(dpi * 0.02), 2)
    return {
        int(i) + 1
        for i in np.flatnonzero(sizes < limit)
        if _isolated(labels, int(i) + 1, stats[i + 1], reach) and not _on_baseline_between(stats[i + 1], characters)
    }


def _isolated(labels: np.ndarray, label: int, box: np.ndarray, reach: int) -> bool:
    x, y, w, h = (int(v) for v in box[:4])
    around = labels[max(y - reach, 0) : y + h + reach, max(x - reach, 0) : x + w + reach]
    return bool(np.all((around == 0) | (around == label)))


def _on_baseline_between(dot: tuple[int, ...], solid: list[tuple[int, ...]]) -> bool:
    x, y, w, h = dot[:4]
    center_x, center_y = x + w / 2, y + h / 2
    left = right = False
    for sx, sy, sw, sh, _ in solid:
        reach = sh  # a character's height: the gap a decimal point sits in is narrower
        in_lower_part = sy + 0.6 * sh <= center_y <= sy + 1.15 * sh
        if in_lower_part and center_x - reach <= sx + sw <= center_x:
            left = True
        if in_lower_part and center_x <= sx <= center_x + reach:
            right = True
    return left and right


def _ink_lines(
    crop: np.ndarray, dpi: float, split_lines: bool, darkness: float | None = None
) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the text lines in a cell crop; [] for a blank cell."""
    if crop.size == 0:
        return []
    ink, _ = _ink_mask(crop, darkness)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height, width = ink.shape
    solid = []
    for x, y, w, h, area in stats[1:count]:
        touches_edge = x == 0 or y == 0 or x + w == width or y + h == height
        if touches_edge and (w > 0.6 * width or h > 0.8 * height) and min(w, h) <= 3:
            continue  # remains of a ruled line
        if _is_solid(h, area, dpi):
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
    """True when the ink is one narrow stroke leaning like "/" by more than 10°: a printed
    slash (no value) that the recogniser may take for a 1 or a 7. The flag of a "1" leans
    the other way."""
    x0, y0, x1, y1 = box
    piece = crop[y0:y1, x0:x1]
    if piece.size == 0 or (x1 - x0) > (y1 - y0):
        return False
    ys, xs = np.nonzero(piece < (float(np.median(crop)) + float(piece.min())) / 2)
    if len(xs) < 5:
        return False
    (slope, _), residuals, *_ = np.polyfit(ys.astype(np.float64), xs.astype(np.float64), 1, full=True)
    spread = float(np.sqrt(residuals[0] / len(xs))) if len(residuals) else 0.0
    one_stroke = spread <= 0.1 * (y1 - y0)  # a 7's bar or a 4's cross lies far off the line
    # A small 7 with a short bar can still fit one line; its top is as wide as the digit.
    top = xs[ys <= ys.min() + max((y1 - y0) // 5, 1)]
    no_bar = top.max() - top.min() + 1 < 0.7 * (xs.max() - xs.min() + 1)
    return one_stroke and no_bar and float(np.degrees(np.arctan(slope))) < -10  # slope: dx per dy; "/" < 0


def is_dash(cell: np.ndarray, dpi: float, darkness: float | None = None) -> bool:
    """True when all the ink of a cell is flat strokes side by side (-, —, ——): no digit
    is that flat, and a recogniser reads such a stroke as 一, I or 1 as often as a dash."""
    lines = _ink_lines(cell, dpi, split_lines=False, darkness=darkness)
    return bool(lines) and _is_flat(lines[0], dpi)


def _is_flat(box: tuple[int, int, int, int], dpi: float) -> bool:
    x0, y0, x1, y1 = box
    return y1 - y0 <= max(dpi * 0.03, 3) and x1 - x0 >= 2.5 * (y1 - y0)


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
        lines = _ink_lines(cell, dpi, split_lines=False, darkness=darkness)
        if lines and not _is_flat(lines[0], dpi):
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
    return None if found is None else _blob_width(found[0])


def _digits_alone(cell: np.ndarray, keep: np.ndarray, paper: float) -> np.ndarray:
    """The cell on paper with only the `keep` blobs, cropped to them."""
    ys, xs = np.nonzero(keep)
    keep = cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # the digits' soft edges
    isolated = np.full_like(cell, round(paper))
    isolated[keep] = cell[keep]
    return _pad_crop(isolated, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


def _blob_width(keep: np.ndarray) -> int:
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
    ink, paper = _ink_mask(cell, darkness)
    if darkness is not None and paper - darkness >= _FAINT_CONTRAST:
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
        and _on_baseline_between(tuple(stats[i]), solid)
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


def _numbers_ink(
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


def _reread_digits(
    cells: dict[int, np.ndarray],
    reads: dict[int, CellRead],
    numbers: dict[int, tuple[np.ndarray, float]],
    engine: OcrEngine,
) -> dict[int, CellRead]:
    """Value cells that hold ink but no clear number, read again from their digits alone
    (`numbers`: see `_numbers_ink`); kept when the digits read as a number."""
    unsure = {
        row: _digits_alone(cells[row], *numbers[row])
        for row, read in reads.items()
        if row in numbers and not read.blank and not read.slanted and not _settled(read)
    }
    if not unsure:
        return reads
    again = engine.recognize(list(unsure.values()), VALUE_ALPHABET)
    better = dict(reads)
    for row, read in zip(unsure, again, strict=True):
        alone = _combine([read])
        if parse_value(alone.text, decimal_allowed=True).value is not None:
            better[row] = replace(alone, isolated=True)
    return better


def read_text(
    lines: Mapping[K, list[np.ndarray]], engine: OcrEngine, plausible: Plausible | None = None
) -> dict[K, list[TextRead]]:
    """Read text cells, each given as its line crops. The recogniser's cost grows with the
    width of a line and printed Chinese stays legible squeezed, so with `plausible` the
    lines are read squeezed to NARROW of their width first; a cell whose text then does
    not read like what such a cell holds is read again at full width, the shape the
    recogniser was trained on. Without `plausible`, at full width only."""
    reads: dict[K, list[TextRead]] = {}
    if plausible is not None:
        squeezed = read_lines(lines, engine, NARROW)
        reads = {key: r for key, r in squeezed.items() if plausible("".join(x.text for x in r))}
    reads |= read_lines({key: c for key, c in lines.items() if key not in reads}, engine, 1.0)
    return {key: reads[key] for key in lines}


def read_lines(
    lines: Mapping[K, list[np.ndarray]], engine: OcrEngine, share: float = 1.0, alphabet: Alphabet | None = None
) -> dict[K, list[TextRead]]:
    """Each cell's line crops read in one recogniser call, squeezed to `share` of their width."""
    crops = [_squeeze(crop, share) for key_crops in lines.values() for crop in key_crops]
    flat = iter(engine.recognize(crops, alphabet) if crops else [])
    return {key: [next(flat) for _ in key_crops] for key, key_crops in lines.items()}


def _squeeze(crop: np.ndarray, share: float) -> np.ndarray:
    if share == 1.0:
        return crop
    width = max(round(crop.shape[1] * share), 8)
    return cv2.resize(crop, (width, crop.shape[0]), interpolation=cv2.INTER_AREA)


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


Box = tuple[float, float, float, float]


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


def read_rows(
    page: PreparedPage,
    grid: TableGrid,
    engine: OcrEngine,
    known_labels: Sequence[tuple[Box, CellRead]] = (),
    plausible_label: Plausible | None = None,
) -> list[TableRow]:
    """Read every row of a grid: one recogniser pass each for labels (see `read_text`),
    units and values, and one more for the digits of value cells that did not read as a
    clear number. A label cell that one of `known_labels` (box, read) already covers is
    not read again."""
    inset = max(page.dpi * 0.012, 2.0)
    value_boxes = [tuple(float(v) for v in grid.cell(row, "value").coordinates) for row in range(grid.rows)]
    sealed = {row for row, box in enumerate(value_boxes) if any(_overlaps(box, s.box) for s in page.seals)}  # type: ignore[arg-type]
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
        row: [_pad_crop(cell, box) for box in _ink_lines(cell, page.dpi, split_lines=True, darkness=darkness)]
        for (row, role), cell in cells.items()
        if role == "label" and row not in known
    }
    labels = known | {row: _combine(r) for row, r in read_text(label_lines, engine, plausible_label).items()}
    crops: list[np.ndarray] = []
    owners: list[tuple[int, str]] = []
    slanted: set[int] = set()
    by_cell: dict[tuple[int, str], list[TextRead]] = {}
    for (row, role), cell in cells.items():
        if role == "label":
            continue
        lines = _ink_lines(cell, page.dpi, split_lines=False, darkness=darkness)
        if role == "value" and lines and _is_flat(lines[0], page.dpi):
            by_cell[(row, role)] = [DASH_READ]
            continue
        for box in lines:
            crops.append(_pad_crop(cell, box))
            owners.append((row, role))
            if role == "value" and _is_slanted_stroke(cell, box):
                slanted.add(row)
    # Units and numbers are read as the few things such cells hold.
    for role, alphabet in (("unit", UNIT_ALPHABET), ("value", VALUE_ALPHABET)):
        picked = [i for i, (_, owner_role) in enumerate(owners) if owner_role == role]
        reads = engine.recognize([crops[i] for i in picked], alphabet) if picked else []
        for i, read in zip(picked, reads, strict=True):
            by_cell.setdefault(owners[i], []).append(read)
    value_cells = {row: cells[(row, "value")] for row in range(grid.rows)}
    placement = learn_placement([cell for row, cell in value_cells.items() if row not in sealed], page.dpi, darkness)
    values = {row: _combine(by_cell.get((row, "value"), []), slanted=row in slanted) for row in value_cells}
    numbers = _numbers_ink(value_cells, placement, darkness)
    widths = {row: _blob_width(keep) for row, (keep, _) in numbers.items()}
    pitch = learn_pitch([(values[row], width) for row, width in widths.items() if row not in sealed], placement)
    if pitch is not None:
        values = {
            row: replace(read, ink_digits=pitch.digits(widths[row])) if row in widths else read
            for row, read in values.items()
        }
    values = _reread_digits(value_cells, values, numbers, engine)
    return [
        TableRow(
            page=page.number,
            index=row,
            label=labels[row],
            unit=_combine(by_cell.get((row, "unit"), [])),
            value=values[row],
            value_box=value_box,  # type: ignore[arg-type]
            seal_over_value=row in sealed,
        )
        for row, value_box in enumerate(value_boxes)
    ]
