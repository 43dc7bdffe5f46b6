"""Matrix layout: every ruled table of a page as cells with row and column spans.

The 2019+ forms print tables whose header has two or three levels of merged cells, whose
row labels are merged vertically (三、本年度办理结果 spans twenty rows) and whose blocks
change their number of columns from one caption to the next. The GK2008 layout stage keeps
three columns; here every ruled segment is kept with its own extent, so:

- a band is the strip between two consecutive row rules; the vertical rules that cross it
  are its column boundaries (a value cell spanning three columns simply has fewer);
- a cell continues into the band below when the rule under it is missing (vertical merge);
- a strip crossed by fewer than two verticals separates two tables on the same page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import layoutparser as lp
import numpy as np

from worker.pipeline.cells import (
    DASH_READ,
    CellRead,
    Plausible,
    clean_cell,
    combine_reads,
    ink_lines,
    is_dash,
    median_grey,
    pad_crop,
    read_lines,
    read_text,
)
from worker.pipeline.layout import cell_image
from worker.pipeline.ocr import Alphabet, OcrEngine, TextRead
from worker.pipeline.preprocess import PreparedPage, Stroke

_COVER = 0.7  # a rule "covers" a span when its segments cover this share of it


@dataclass(frozen=True)
class Rule:
    """One ruled line: its position across, and the intervals along it that are inked."""

    position: float
    spans: tuple[tuple[float, float], ...]

    def covers(self, start: float, end: float, share: float = _COVER) -> bool:
        if end <= start:
            return False
        inked = sum(max(0.0, min(e, end) - max(s, start)) for s, e in self.spans)
        return inked >= share * (end - start)


@dataclass(frozen=True)
class MatrixCell:
    """A cell: rows [top, bottom) are band indices, columns [left, right) rule indices."""

    top: int
    bottom: int
    left: int
    right: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in prepared-page pixels

    @property
    def block(self) -> lp.TextBlock:
        x0, y0, x1, y1 = self.box
        quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
        return lp.TextBlock(lp.Quadrilateral(quad))


@dataclass(frozen=True)
class MatrixTable:
    """One ruled table of a page; `cells` sorted by band, then left to right."""

    page: int
    bands: int
    columns: tuple[float, ...]  # x of every column rule of the table
    cells: tuple[MatrixCell, ...] = field(repr=False)

    @property
    def frame(self) -> tuple[float, float, float, float]:
        boxes = np.array([c.box for c in self.cells])
        return (*boxes[:, :2].min(axis=0).tolist(), *boxes[:, 2:].max(axis=0).tolist())  # type: ignore[return-value]

    def band_cells(self, band: int) -> list[MatrixCell]:
        """Cells that cover a band (merged ones included), left to right."""
        return sorted((c for c in self.cells if c.top <= band < c.bottom), key=lambda c: c.left)


def _segments(strokes: tuple[Stroke, ...], horizontal: bool, min_length: float) -> list[tuple[float, float, float]]:
    """(position across, start, end) of every ruled stroke long enough."""
    found = []
    for stroke in strokes:
        x, y, w, h = stroke.x, stroke.y, stroke.width, stroke.height
        if (w if horizontal else h) < min_length:
            continue
        start, end = (x, x + w) if horizontal else (y, y + h)
        if stroke.solid:  # a full box: its pixels' median is its middle
            found.append((y + (h - 1) / 2 if horizontal else x + (w - 1) / 2, float(start), float(end)))
            continue
        xs, ys = stroke.points()
        across = ys if horizontal else xs
        found.append((float(np.median(across)), float(start), float(end)))
    return found


def _rules(segments: list[tuple[float, float, float]], tolerance: float, gap: float) -> list[Rule]:
    """Group strokes at one position into rules; their inked intervals stay separate."""
    segments.sort()
    groups: list[list[tuple[float, float, float]]] = []
    for segment in segments:
        if groups and segment[0] - groups[-1][-1][0] <= tolerance:
            groups[-1].append(segment)
        else:
            groups.append([segment])
    rules = []
    for group in groups:
        spans: list[list[float]] = []
        for _, start, end in sorted(group, key=lambda s: s[1]):
            if spans and start <= spans[-1][1] + gap:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        weights = [s[2] - s[1] for s in group]
        position = float(np.average([s[0] for s in group], weights=weights))
        rules.append(Rule(position, tuple((a, b) for a, b in spans)))
    return rules


Seals = list[tuple[float, float, float, float]]  # boxes of the page's seals


def _bridged(rule: Rule, seals: Seals, horizontal: bool) -> Rule:
    """The rule through every seal it runs into: seal ink taken off the page takes the rule
    under it along where the rule is fainter than the seal (a lost row rule would merge two
    rows' value cells, a lost column rule two columns')."""
    spans = list(rule.spans)
    for x0, y0, x1, y1 in seals:
        across, along = ((y0, y1), (x0, x1)) if horizontal else ((x0, x1), (y0, y1))
        enters = any(start <= along[0] <= end or start <= along[1] <= end for start, end in rule.spans)
        if across[0] <= rule.position <= across[1] and enters:
            spans.append(along)
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return Rule(rule.position, tuple(merged))


def find_tables(page: PreparedPage) -> list[MatrixTable]:
    """Every ruled table of a page, top to bottom ([] for a page without rules)."""
    strokes = page.strokes
    tolerance, gap = page.dpi * 0.03, page.dpi * 0.05
    horizontals = _rules(_segments(strokes.horizontal, True, page.dpi * 0.3), tolerance, gap)
    verticals = _rules(_segments(strokes.vertical, False, page.dpi * 0.1), tolerance, gap)
    if not horizontals or len(verticals) < 2:
        return []  # no table, and no need to look for the page's seals (`PreparedPage.seals`)
    seals = [seal.box for seal in page.seals]
    horizontals, verticals = _off_seals(horizontals, verticals, seals, gap)
    horizontals = [_bridged(rule, seals, horizontal=True) for rule in horizontals]
    verticals = [_bridged(rule, seals, horizontal=False) for rule in verticals]
    verticals = [v for v in verticals if _meets(v, horizontals, gap)]
    min_band = page.dpi * 0.06
    horizontals = _close_open_bottoms(horizontals, verticals, min_band)
    bands: list[tuple[Rule, Rule, list[Rule]]] = []
    for upper, lower in pairwise(horizontals):
        if lower.position - upper.position < min_band:
            continue
        inset = min(page.dpi * 0.03, (lower.position - upper.position) / 4)
        crossing = [v for v in verticals if v.covers(upper.position + inset, lower.position - inset, 0.9)]
        if len(crossing) >= 2:
            crossing += _broken_in_band(upper, lower, crossing, verticals, page.dpi * 0.05)
            above = [v.position for v in bands[-1][2]] if bands and bands[-1][1] is upper else []
            crossing = sorted(
                [*crossing, *_rules_of_band(page, upper, lower, crossing, above)], key=lambda v: v.position
            )
            bands.append((upper, lower, crossing))
    tables: list[list[tuple[Rule, Rule, list[Rule]]]] = []
    for band in bands:
        if tables and tables[-1][-1][1] is band[0]:
            tables[-1].append(band)
        else:
            tables.append([band])
    return [_table(page.number, run, tolerance * 2) for run in tables]


def _off_seals(
    horizontals: list[Rule], verticals: list[Rule], seals: Seals, gap: float
) -> tuple[list[Rule], list[Rule]]:
    """The rules without the strokes of a grey seal (its ring's flat top, bottom and sides,
    the star, lettering): lines wholly inside a seal that do not end on the rules across
    them at both ends, as a table's rules do (a rule through a seal runs out of it)."""
    outside_h = [h for h in horizontals if not _inside(h, seals, horizontal=True)]
    outside_v = [v for v in verticals if not _inside(v, seals, horizontal=False)]
    kept_h = [h for h in horizontals if h in outside_h or _ends_on(h, outside_v, gap)]
    kept_v = [v for v in verticals if v in outside_v or _ends_on(v, outside_h, gap)]
    return kept_h, kept_v


def _inside(rule: Rule, seals: Seals, horizontal: bool) -> bool:
    for x0, y0, x1, y1 in seals:
        (a0, a1), (b0, b1) = ((x0, x1), (y0, y1)) if horizontal else ((y0, y1), (x0, x1))
        if b0 <= rule.position <= b1 and all(a0 <= start and end <= a1 for start, end in rule.spans):
            return True
    return False


def _ends_on(rule: Rule, across: list[Rule], gap: float) -> bool:
    """Whether every span of a rule starts and ends on a rule across it."""

    def met(point: float) -> bool:
        return any(
            abs(other.position - point) <= gap and any(a - gap <= rule.position <= b + gap for a, b in other.spans)
            for other in across
        )

    return all(met(start) and met(end) for start, end in rule.spans)


def _meets(vertical: Rule, horizontals: list[Rule], gap: float) -> bool:
    """Whether a row rule reaches the vertical along its length: a column rule meets the
    table's rules, a line that none meets is not one (the dark edge of a page beside a table,
    a fold)."""
    x = vertical.position
    return any(
        start - gap <= horizontal.position <= end + gap and any(a - gap <= x <= b + gap for a, b in horizontal.spans)
        for horizontal in horizontals
        for start, end in vertical.spans
    )


def _broken_in_band(upper: Rule, lower: Rule, crossing: list[Rule], verticals: list[Rule], least: float) -> list[Rule]:
    """Column rules broken in a band (worn or faint ruling, a poor copy): a rule inked over
    part of the band only, at least `least` and a sixth of it (a rule drawn past the row rule
    it ends on reaches a few pixels in), where the band's rules above and below both run on
    from its nearest crossing rule to it: the table's cells go on there. The band takes it
    whole. Without it the band would end at its last unbroken rule and lose its cells beyond."""
    top, bottom = upper.position, lower.position
    least = max(least, (bottom - top) / 6)
    found = []
    for vertical in verticals:
        inked = sum(max(0.0, min(end, bottom) - max(start, top)) for start, end in vertical.spans)
        if vertical in crossing or inked < least:
            continue
        nearest = min(crossing, key=lambda rule: abs(rule.position - vertical.position)).position
        start, end = sorted((nearest, vertical.position))
        if upper.covers(start, end, 0.9) and lower.covers(start, end, 0.9):
            found.append(Rule(vertical.position, ((top, bottom),)))
    return found


_WIDE_CELL = 1.6  # a cell this many times as wide as its band's typical cell may be two


def _rules_of_band(
    page: PreparedPage, upper: Rule, lower: Rule, crossing: list[Rule], above: list[float]
) -> list[Rule]:
    """Column rules drawn in one band only, too short (or too faint) to be told from print
    among the page's strokes: a value row under a header whose two columns are one cell
    (结果维持结果纠正). Such a rule inks nine tenths of the band between the rules above and
    below, as thin as a rule, across a cell far wider than its band's others, with print on
    either side of it and paper right beside it: a digit as tall as a tight row (a "1") or a
    character's stroke has print close beside it, or none on one side. And a rule the band
    leaves out under a column rule of the band `above` (at those positions): the band's
    print on both sides of it and none across it, the header's columns are its columns."""
    positions = [v.position for v in crossing]
    typical = float(np.median(np.diff(positions)))
    inset = int(page.dpi * 0.03)
    rows = slice(int(np.floor(upper.position)) + inset, int(np.ceil(lower.position)) + 1 - inset)
    found = []
    for left, right in pairwise(positions):
        if right - left >= _WIDE_CELL * typical:
            found += [
                Rule(x, ((upper.position, lower.position),))
                for x in _rule_in_cell(page, rows, (left, right), typical, above)
            ]
    return found


FAINT_RULE_DEPTH = 20  # grey levels below the paper a faint rule's print still reaches


def _rule_in_cell(
    page: PreparedPage, rows: slice, cell: tuple[float, float], typical: float, above: list[float]
) -> list[float]:
    """Where a rule splits a wide cell of a band (see `_rules_of_band`): in its ink, else
    drawn faint or broken, in its grey (darker than the paper by FAINT_RULE_DEPTH once
    smoothed down the band: a rule so inks its whole height, a digit only its own and a
    little more; the grey of a rule's soft edges widens it by a pixel each side), else not
    drawn, under a column rule of the band above with paper all across it."""
    left, right = cell
    x0, x1 = int(left + 0.3 * typical), int(right - 0.3 * typical)  # a rule parts it in cells
    beside, thin = int(page.dpi * 0.04), page.dpi * 0.03 + 2  # the lean allowed widens a rule by 2
    grey = page.gray[rows, x0:x1]
    along = max(round(page.dpi * 0.04), 3)
    faint = cv2.blur(grey, (1, along)) < median_grey(grey) - FAINT_RULE_DEPTH if grey.size else grey > 0
    for strip, widest in ((page.ink[rows, x0:x1] > 0, thin), (faint, thin + 2)):
        leaning = strip | np.roll(strip, 1, axis=1) | np.roll(strip, -1, axis=1)
        found = []
        for start, end in _runs(leaning.mean(axis=0) >= 0.9):
            start, end = x0 + start, x0 + end
            paper = [(start - 1 - beside, start - 1), (end + 1, end + 1 + beside)]
            if (
                end - start <= widest
                and all(_paper(page, rows, around) for around in paper)
                and _print_beside(page, rows, cell, (start - beside, end + beside))
            ):
                found.append((start + end - 1) / 2)
        if found:
            return found
    return [
        x
        for x in above
        if x0 <= x <= x1
        and _paper(page, rows, (round(x) - beside, round(x) + beside + 1))
        and _print_beside(page, rows, cell, (round(x) - beside, round(x) + beside + 1))
    ]


def _paper(page: PreparedPage, rows: slice, columns: tuple[int, int]) -> bool:
    """Whether a stretch of a band is paper (specks aside: 2 % of it inked at most)."""
    ink = page.ink[rows, columns[0] : columns[1]]
    return np.count_nonzero(ink) <= 0.02 * ink.size


def _print_beside(page: PreparedPage, rows: slice, cell: tuple[float, float], gap: tuple[int, int]) -> bool:
    """Whether a cell's band holds print on both sides of a gap (a few pixels of ink at least)."""
    inset = int(page.dpi * 0.03)
    sides = [page.ink[rows, int(cell[0]) + inset : gap[0]], page.ink[rows, gap[1] : int(cell[1]) - inset]]
    return all(np.count_nonzero(side) >= (page.dpi * 0.02) ** 2 for side in sides)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of every run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _close_open_bottoms(horizontals: list[Rule], verticals: list[Rule], min_band: float) -> list[Rule]:
    """A table cut by the end of the page may have no rule under its last row: where
    verticals run on below the last rule they cross and end together, that is its bottom."""
    ends: list[tuple[float, float]] = []  # (y where a vertical stops, its x)
    for vertical in verticals:
        for start, end in vertical.spans:
            crossed = [h for h in horizontals if start - min_band <= h.position <= end - min_band]
            closed = any(abs(h.position - end) <= min_band for h in horizontals)
            if crossed and not closed:
                ends.append((end, vertical.position))
    ends.sort()
    added: list[Rule] = []
    group: list[tuple[float, float]] = []
    for end in [*ends, (float("inf"), 0.0)]:
        if group and end[0] - group[-1][0] > min_band:
            if len(group) >= 3:  # several columns stop together: not a stray stroke
                xs = [x for _, x in group]
                added.append(Rule(float(np.median([y for y, _ in group])), ((min(xs), max(xs)),)))
            group = []
        group.append(end)
    return sorted([*horizontals, *added], key=lambda h: h.position)


def _table(page: int, bands: list[tuple[Rule, Rule, list[Rule]]], tolerance: float) -> MatrixTable:
    xs = sorted(v.position for _, _, crossing in bands for v in crossing)
    columns: list[float] = []
    for x in xs:
        if not columns or x - columns[-1] > tolerance:
            columns.append(x)

    def column_index(x: float) -> int:  # the nearest column (the first of two as near)
        return min(range(len(columns)), key=lambda i: abs(x - columns[i]))

    open_cells: dict[tuple[int, int], MatrixCell] = {}  # cells still open at the band above
    cells: list[MatrixCell] = []
    for index, (upper, lower, crossing) in enumerate(bands):
        still_open: dict[tuple[int, int], MatrixCell] = {}
        distinct = list({column_index(v.position): v for v in crossing}.values())  # a rule drawn twice is one
        for left, right in pairwise(distinct):
            key = (column_index(left.position), column_index(right.position))
            above = open_cells.get(key)
            if above is not None and not upper.covers(left.position, right.position, 0.5):
                cell = MatrixCell(
                    above.top, index + 1, *key, (above.box[0], above.box[1], right.position, lower.position)
                )
                cells.remove(above)
            else:
                cell = MatrixCell(
                    index, index + 1, *key, (left.position, upper.position, right.position, lower.position)
                )
            cells.append(cell)
            still_open[key] = cell
        open_cells = still_open
    cells.sort(key=lambda c: (c.top, c.left))
    return MatrixTable(page=page, bands=len(bands), columns=tuple(columns), cells=tuple(cells))


CellReads = dict[MatrixCell, CellRead]


def cell_crop(page: PreparedPage, cell: MatrixCell) -> np.ndarray:
    """The cell's inside as printed (grey, not cleaned), its rules cut away."""
    inset = max(page.dpi * 0.02, 2.0)  # thick and double rules of these tables
    return cell_image(page.gray, cell.block, inset)


def table_crops(page: PreparedPage, tables: Iterable[MatrixTable]) -> dict[MatrixCell, np.ndarray]:
    """Every cell of the page's tables as printed (`cell_crop`), cut once: how dark their
    print is (`print_darkness`) is measured on them, and they are read (`read_cells`)."""
    return {cell: cell_crop(page, cell) for table in tables for cell in table.cells}


def read_cells(
    page: PreparedPage,
    cells: list[MatrixCell],
    engine: OcrEngine,
    known: CellReads | None = None,
    alphabet: Alphabet | None = None,
    plausible: Plausible | None = None,
    darkness: float | None = None,
    crops: Mapping[MatrixCell, np.ndarray] | None = None,
) -> CellReads:
    """Read the ink of each cell not in `known` (wrapped text split into lines), cleaned of
    specks and seal remains, optionally as cells of `alphabet`, else as text (squeezed
    first where `plausible` can tell a good read, see `rows.read_text`). `darkness`: the
    page's print (`print_darkness` of its `table_crops`; faint print is ink nearer the
    paper); `crops`: cells already cut (`table_crops`). On a page with a trusted text layer
    the cells' text is taken from it, without OCR."""
    known = known or {}
    todo = [c for c in dict.fromkeys(cells) if c not in known]
    if page.text_layer is not None:
        layer = page.text_layer
        return {cell: known[cell] if cell in known else layer.read(cell.box) for cell in cells}
    lines: dict[MatrixCell, list[np.ndarray]] = {}
    by_cell: dict[MatrixCell, list[TextRead]] = {}
    for cell in todo:
        crop = crops[cell] if crops is not None and cell in crops else cell_crop(page, cell)
        image = clean_cell(crop, page.dpi, darkness)
        if is_dash(image, page.dpi):
            by_cell[cell] = [DASH_READ]
            continue
        lines[cell] = [pad_crop(image, box) for box in ink_lines(image, page.dpi, split_lines=True, darkness=darkness)]
    by_cell |= read_text(lines, engine, plausible) if alphabet is None else read_lines(lines, engine, alphabet=alphabet)
    fresh = {cell: combine_reads(by_cell.get(cell, [])) for cell in todo}
    return {cell: known[cell] if cell in known else fresh[cell] for cell in cells}
