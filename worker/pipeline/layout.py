"""Layout stage: ruled lines (OpenCV) → a grid of cells (layoutparser blocks).

Each ruled line is fitted as a straight line through its pixels, so a table that is still
a little tilted or seen in perspective gives exact cell quadrilaterals (where lines cross)
instead of axis-aligned guesses. Broken and faint lines are bridged before fitting, and
pieces of one line are joined. A row is the band between two lines that cross the value
column, so a label that wraps onto two lines stays one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import cv2
import layoutparser as lp
import numpy as np

from worker.pipeline.preprocess import PreparedPage, RuleStrokes, Stroke

COLUMN_ROLES = ("label", "unit", "value")
SHORT_TABLE_INCH = 0.25  # a header row and one row of data are taller than this


@dataclass(frozen=True)
class FittedLine:
    """y = slope·x + offset for a horizontal rule, x = slope·y + offset for a vertical one."""

    slope: float
    offset: float
    start: float  # extent along the line's own direction
    end: float

    def at(self, t: float) -> float:
        return self.slope * t + self.offset

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class TableGrid:
    """Cells of one table page: `layout` holds a TextBlock per cell (type = column role)."""

    page: int
    rows: int
    layout: lp.Layout = field(repr=False)
    frame: tuple[float, float, float, float]  # x0, y0, x1, y1 of the ruled table

    def cell(self, row: int, role: str) -> lp.TextBlock:
        return self._index[(row, role)]

    @property
    def _index(self) -> dict[tuple[int, str], lp.TextBlock]:
        cache = self.__dict__.get("_index_cache")
        if cache is None:
            cache = {(int(b.id), b.type): b for b in self.layout}
            object.__setattr__(self, "_index_cache", cache)
        return cache


def _fit_strokes(strokes: tuple[Stroke, ...], horizontal: bool) -> list[FittedLine]:
    lines = []
    for stroke in strokes:
        if stroke.solid:  # the fit through a full box, without its thousands of points
            lines.append(_solid_line(stroke, horizontal))
            continue
        xs, ys = stroke.points()
        along, across = (xs, ys) if horizontal else (ys, xs)
        if len(along) > 4000:
            pick = np.linspace(0, len(along) - 1, 4000).astype(int)
            along, across = along[pick], across[pick]
        slope, offset = np.polyfit(along.astype(np.float64), across.astype(np.float64), 1)
        lines.append(FittedLine(float(slope), float(offset), float(along.min()), float(along.max())))
    return lines


def _solid_line(stroke: Stroke, horizontal: bool) -> FittedLine:
    if horizontal:
        return FittedLine(0.0, stroke.y + (stroke.height - 1) / 2, float(stroke.x), float(stroke.x + stroke.width - 1))
    return FittedLine(0.0, stroke.x + (stroke.width - 1) / 2, float(stroke.y), float(stroke.y + stroke.height - 1))


def _rules(
    strokes: tuple[Stroke, ...], horizontal: bool, min_length: float, tolerance: float, reference: float
) -> list[FittedLine]:
    """The ruled lines at least `min_length` long, their pieces joined first: a rule broken
    into short pieces (a faint or dashed rule) is as long as the pieces span."""
    lines = _merge(_fit_strokes(strokes, horizontal), tolerance, reference)
    return [line for line in lines if line.length >= min_length]


def _merge(lines: list[FittedLine], tolerance: float, reference: float) -> list[FittedLine]:
    """Join pieces of one rule (and double-drawn rules) that lie within `tolerance`."""
    lines = sorted(lines, key=lambda ln: ln.at(reference))
    merged: list[list[FittedLine]] = []
    for line in lines:
        if merged and abs(line.at(reference) - merged[-1][-1].at(reference)) <= tolerance:
            merged[-1].append(line)
        else:
            merged.append([line])
    result = []
    for group in merged:
        weights = np.array([g.length for g in group])
        slope = float(np.average([g.slope for g in group], weights=weights))
        center = float(np.average([g.at(reference) for g in group], weights=weights))
        result.append(
            FittedLine(slope, center - slope * reference, min(g.start for g in group), max(g.end for g in group))
        )
    return result


def _intersect(h: FittedLine, v: FittedLine) -> tuple[float, float]:
    """Crossing of y = a·x + b and x = c·y + d."""
    a, b, c, d = h.slope, h.offset, v.slope, v.offset
    y = (a * d + b) / (1 - a * c)
    return c * y + d, y


def _ruled_across(verticals: list[FittedLine], horizontals: list[FittedLine], tolerance: float) -> list[FittedLine]:
    """The verticals that the table's rows are ruled up to: a table's column rules meet
    most horizontal rules, the edges of a photographed sheet or a box beside the table
    meet hardly any."""

    def meets(v: FittedLine, h: FittedLine) -> bool:
        x, y = _intersect(h, v)
        return h.start - tolerance <= x <= h.end + tolerance and v.start - tolerance <= y <= v.end + tolerance

    support = [sum(meets(v, h) for h in horizontals) for v in verticals]
    most = max(support, default=0)
    return [v for v, n in zip(verticals, support, strict=True) if n >= 0.5 * most]


def _column_rules(
    verticals: list[FittedLine], horizontals: list[FittedLine], tolerance: float
) -> list[FittedLine] | None:
    """The four rules of a label | unit | value table, chosen among the long verticals that
    the rows are ruled up to (so the edge of a photographed sheet, however long, does not
    set the length a column rule must have)."""
    ruled = _ruled_across(verticals, horizontals, tolerance)
    if len(ruled) < 3:
        return None
    longest = max(v.length for v in ruled)
    tall = [v for v in ruled if v.length >= 0.35 * longest]
    if len(tall) < 3:
        return None
    mid = float(np.median([(v.start + v.end) / 2 for v in tall]))
    tall.sort(key=lambda v: v.at(mid))
    if len(tall) == 3:  # no outer right or left rule: cannot tell the value column's edge
        return None
    # Label column is the widest; the unit and value columns are the last two.
    left, right = tall[0], tall[-1]
    inner = tall[1:-1]
    split = inner[-1]
    unit_left = inner[-2] if len(inner) >= 2 else None
    if unit_left is None:
        return None
    return [left, unit_left, split, right]


def find_grid(page: PreparedPage) -> TableGrid | None:
    """The ruled label | unit | value grid of a page, or None when the page has none.

    A page with no grid of long rules is looked at again for column rules down to
    SHORT_TABLE_INCH: the last page of a table that goes on may hold only its header and a
    row or two. The grid's shape (four column rules that the rows are ruled up to, row
    rules across the number columns) is what tells a table from text or a page border."""
    grid = _grid(page, page.strokes, page.dpi * 0.6)
    if grid is None:
        short = page.strokes_down_to(SHORT_TABLE_INCH)
        grid = _grid(page, short, page.dpi * SHORT_TABLE_INCH)
    return grid


def _grid(page: PreparedPage, strokes: RuleStrokes, min_vertical: float) -> TableGrid | None:
    height, width = page.ink.shape
    verticals = _rules(strokes.vertical, False, min_vertical, page.dpi * 0.03, height / 2)
    horizontals = _rules(strokes.horizontal, True, page.dpi * 0.5, page.dpi * 0.03, width / 2)
    columns = _column_rules(verticals, horizontals, page.dpi * 0.05)
    if columns is None:
        return None
    mid_y = float(np.median([(v.start + v.end) / 2 for v in columns]))
    unit_left, value_left, value_right = (c.at(mid_y) for c in columns[1:])
    value_center = (value_left + value_right) / 2
    # A row rule crosses the unit or the value column whole (label rules may be broken by
    # wrapped text; a faint rule may be broken in one of the number columns).
    rules = [h for h in horizontals if _crosses(h, unit_left, value_left) or _crosses(h, value_left, value_right)]
    rules.sort(key=lambda h: h.at(value_center))
    top, bottom = min(c.start for c in columns), max(c.end for c in columns)
    tolerance = page.dpi * 0.05
    rules = [h for h in rules if top - tolerance <= h.at(value_center) <= bottom + tolerance]
    rules = _drop_thin_bands(rules, value_center, page.dpi * 0.06)
    if len(rules) < 3:
        return None
    blocks = []
    for row, (upper, lower) in enumerate(pairwise(rules)):
        for role, (left, right) in zip(COLUMN_ROLES, pairwise(columns), strict=True):
            quad = np.array(
                [_intersect(upper, left), _intersect(upper, right), _intersect(lower, right), _intersect(lower, left)]
            )
            blocks.append(lp.TextBlock(lp.Quadrilateral(quad), id=row, type=role))
    corners = np.array([b.block.points for b in blocks]).reshape(-1, 2)
    frame = (*corners.min(axis=0).tolist(), *corners.max(axis=0).tolist())
    return TableGrid(
        page=page.number,
        rows=len(rules) - 1,
        layout=lp.Layout(blocks, page_data={"page": page.number}),
        frame=tuple(float(v) for v in frame),  # type: ignore[arg-type]
    )


def _crosses(rule: FittedLine, left: float, right: float) -> bool:
    slack = (right - left) * 0.25
    return rule.start <= left + slack and rule.end >= right - slack


def _drop_thin_bands(rules: list[FittedLine], x: float, min_gap: float) -> list[FittedLine]:
    """Rules closer than a text line are one rule drawn twice (or a stroke of a seal)."""
    kept: list[FittedLine] = []
    for rule in rules:
        if kept and rule.at(x) - kept[-1].at(x) < min_gap:
            continue
        kept.append(rule)
    return kept


def cell_image(gray: np.ndarray, block: lp.TextBlock, inset: float) -> np.ndarray:
    """The cell's inside, straightened to a rectangle, with `inset` pixels of rule cut away."""
    quad = np.asarray(block.block.points, np.float32)
    width = float(max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3])))
    height = float(max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1])))
    w, h = max(round(width - 2 * inset), 1), max(round(height - 2 * inset), 1)
    target = np.array([[-inset, -inset], [w + inset, -inset], [w + inset, h + inset], [-inset, h + inset]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    return cv2.warpPerspective(gray, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
