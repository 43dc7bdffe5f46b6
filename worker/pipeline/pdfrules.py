"""Ruled lines a PDF page draws as vector paths, in page pixels.

A report exported from a word processor draws its table's rules as stroked lines or thin
filled rectangles; taking them from the drawing is exact and spares finding them on the
rendered page (morphology over the whole page was most of a digital page's time). Only a
page drawn with text and paths alone is read so: an image, a form object or a shading may
carry rules of its own, and a dashed rule is printed in pieces; such a page's rules are
found on its image. `printed` checks the rules against the rendered page before they are
used (a rule clipped away or painted over is not printed).
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

_STRAIGHT = 0.5  # pixels a rule's ends may differ across it and the rule still count as straight
_THIN_FILL_INCH = 0.04  # a filled rectangle this thin is a rule (word processors fill borders)
_INK_LUMINANCE = 180  # lighter paint renders as paper (the printed page's ink level)
_SAMPLES = 7  # points along a rule checked on the rendered page
_PRINTED_SHARE = 0.8  # of a rule's sampled points that must be ink (a character may cross it)


@dataclass(frozen=True)
class DrawnRule:
    horizontal: bool
    position: float  # y of a horizontal rule's centre line, x of a vertical one
    start: float  # extent along the rule
    end: float
    width: float  # thickness

    @property
    def length(self) -> float:
        return self.end - self.start


def drawn_rules(page, scale: float, height_pt: float, pdfium_c) -> tuple[DrawnRule, ...] | None:  # type: ignore[no-untyped-def]
    """The horizontal and vertical rules of a pypdfium2 page, points → pixels at `scale`
    pixels per point; None when the page draws anything but text and paths."""
    paths = _PathReader(scale, height_pt, pdfium_c)
    rules: list[DrawnRule] = []
    for index in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        obj = pdfium_c.FPDFPage_GetObject(page.raw, index)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            continue
        if kind != pdfium_c.FPDF_PAGEOBJ_PATH or pdfium_c.FPDFPageObj_GetDashCount(obj) > 0:
            return None
        rules.extend(paths.rules(obj))
    return tuple(rules)


Point = tuple[float, float]


class _PathReader:
    """Reads path objects through pdfium's C interface (a page has hundreds of them: its
    out-parameters are made once)."""

    def __init__(self, scale: float, height_pt: float, pdfium_c) -> None:  # type: ignore[no-untyped-def]
        self.scale, self.height_pt, self.c = scale, height_pt, pdfium_c
        self.thin = _THIN_FILL_INCH * 72.0 * scale
        self.fill_mode, self.stroked = ctypes.c_int(), ctypes.c_int()
        self.x, self.y, self.width = ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
        self.rgba = [ctypes.c_uint() for _ in range(4)]
        self.matrix = pdfium_c.FS_MATRIX()
        self.box = [ctypes.c_float() for _ in range(4)]
        # Pointers to them, made once too: ctypes.byref is a good part of a call's cost.
        self.mode_refs = (ctypes.byref(self.fill_mode), ctypes.byref(self.stroked))
        self.rgba_refs = tuple(ctypes.byref(v) for v in self.rgba)
        self.box_refs = tuple(ctypes.byref(v) for v in self.box)
        self.width_ref, self.matrix_ref = ctypes.byref(self.width), ctypes.byref(self.matrix)
        self.point_refs = (ctypes.byref(self.x), ctypes.byref(self.y))

    def rules(self, obj) -> list[DrawnRule]:  # type: ignore[no-untyped-def]
        c = self.c
        c.FPDFPath_GetDrawMode(obj, *self.mode_refs)
        stroked = bool(self.stroked.value) and self._is_ink(obj, c.FPDFPageObj_GetStrokeColor)
        filled = not stroked and self.fill_mode.value != c.FPDF_FILLMODE_NONE
        if not (stroked or (filled and self._is_ink(obj, c.FPDFPageObj_GetFillColor))):
            return []
        thickness = self._stroke_width(obj) if stroked else 0.0
        # One line stroked, or one box filled (most paths): a thin one is a rule, its points
        # need not be read one by one. Several pieces in a thin band may leave gaps: read.
        single = c.FPDFPath_CountSegments(obj) <= (2 if stroked else 5)
        bar = self._thin_bounds(obj, thickness) if single else None
        if bar is not None:
            return [bar]
        subpaths = self._subpaths(obj, self._matrix(obj))
        if filled:
            return [rule for points in subpaths if (rule := _bar_rule(points, self.thin))]
        return [
            rule
            for points in subpaths
            for p, q in pairwise(points)
            if (rule := _edge_rule(p, q, thickness)) is not None
        ]

    def _stroke_width(self, obj) -> float:  # type: ignore[no-untyped-def]
        self.c.FPDFPageObj_GetStrokeWidth(obj, self.width_ref)
        a, b, c, d = self._matrix(obj)[:4]
        return max(self.width.value * math.sqrt(abs(a * d - b * c)) * self.scale, 1.0)

    def _thin_bounds(self, obj, thickness: float) -> DrawnRule | None:  # type: ignore[no-untyped-def]
        """The rule a path paints when what it paints is a thin axis-aligned bar (pdfium's
        bounds of a stroked path take in the stroke's width); `thickness` 0: a filled one."""
        box = self.box
        self.c.FPDFPageObj_GetBounds(obj, *self.box_refs)
        left, bottom, right, top = (v.value * self.scale for v in box)
        y0, y1 = (self.height_pt * self.scale - top, self.height_pt * self.scale - bottom)
        width, height = right - left, y1 - y0
        if height <= self.thin < width:
            return DrawnRule(True, (y0 + y1) / 2, left, right, thickness or max(height, 1.0))
        if width <= self.thin < height:
            return DrawnRule(False, (left + right) / 2, y0, y1, thickness or max(width, 1.0))
        return None

    def _is_ink(self, obj, colour_of) -> bool:  # type: ignore[no-untyped-def]
        r, g, b, a = self.rgba
        if not colour_of(obj, *self.rgba_refs):
            return True  # a colour pdfium cannot tell (a pattern): rendered, it may be ink
        return a.value > 0 and 0.299 * r.value + 0.587 * g.value + 0.114 * b.value < _INK_LUMINANCE

    def _matrix(self, obj) -> tuple[float, float, float, float, float, float]:  # type: ignore[no-untyped-def]
        m = self.matrix
        if not self.c.FPDFPageObj_GetMatrix(obj, self.matrix_ref):
            return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        return (m.a, m.b, m.c, m.d, m.e, m.f)

    def _subpaths(self, obj, matrix) -> list[list[Point]]:  # type: ignore[no-untyped-def]
        """The path's straight subpaths as page-pixel points (a closed one ends where it
        began); a subpath with a curve is left out (no rule is curved)."""
        c, scale, height_pt = self.c, self.scale, self.height_pt
        a, b, cc, d, e, f = matrix
        x, y = self.x, self.y
        subpaths: list[list[Point]] = []
        curved: set[int] = set()
        for index in range(c.FPDFPath_CountSegments(obj)):
            segment = c.FPDFPath_GetPathSegment(obj, index)
            c.FPDFPathSegment_GetPoint(segment, *self.point_refs)
            point = ((a * x.value + cc * y.value + e) * scale, (height_pt - (b * x.value + d * y.value + f)) * scale)
            kind = c.FPDFPathSegment_GetType(segment)
            if kind == c.FPDF_SEGMENT_MOVETO or not subpaths:
                subpaths.append([point])
            else:
                subpaths[-1].append(point)
                if kind == c.FPDF_SEGMENT_BEZIERTO:
                    curved.add(len(subpaths) - 1)
            if c.FPDFPathSegment_GetClose(segment) and subpaths[-1][0] != point:
                subpaths[-1].append(subpaths[-1][0])
        return [points for i, points in enumerate(subpaths) if i not in curved]


def _edge_rule(a: Point, b: Point, thickness: float) -> DrawnRule | None:
    (x0, y0), (x1, y1) = a, b
    if abs(y1 - y0) <= _STRAIGHT and abs(x1 - x0) > _STRAIGHT:
        return DrawnRule(True, (y0 + y1) / 2, min(x0, x1), max(x0, x1), thickness)
    if abs(x1 - x0) <= _STRAIGHT and abs(y1 - y0) > _STRAIGHT:
        return DrawnRule(False, (x0 + x1) / 2, min(y0, y1), max(y0, y1), thickness)
    return None


def _bar_rule(points: list[Point], thin: float) -> DrawnRule | None:
    """A filled axis-aligned rectangle no thicker than `thin`, as the rule it draws."""
    if len(points) < 4:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    edges = zip(points, points[1:] + points[:1], strict=True)
    if not all(abs(p[0] - q[0]) <= _STRAIGHT or abs(p[1] - q[1]) <= _STRAIGHT for p, q in edges):
        return None
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    width, height = x1 - x0, y1 - y0
    if height <= thin < width:
        return DrawnRule(True, (y0 + y1) / 2, x0, x1, max(height, 1.0))
    if width <= thin < height:
        return DrawnRule(False, (x0 + x1) / 2, y0, y1, max(width, 1.0))
    return None


def printed(rules: tuple[DrawnRule, ...], ink: np.ndarray) -> bool:
    """Whether every rule shows on the rendered page's ink mask (255 = ink) along its length:
    at most of `_SAMPLES` points along it there is ink within its half-width and a pixel."""
    if not rules:
        return True
    height, width = ink.shape
    table = np.array([(r.horizontal, r.position, r.start, r.end, r.width) for r in rules], np.float64)
    horizontal, position, start, end, thickness = table.T
    share = (np.arange(_SAMPLES) + 1) / (_SAMPLES + 1)
    along = np.rint(start[:, None] + (end - start)[:, None] * share).astype(int)  # rules × samples
    reach = math.ceil(float(thickness.max()) / 2) + 1
    across = np.rint(position[:, None] + np.arange(-reach, reach + 1)).astype(int)  # rules × offsets
    near = np.abs(across - position[:, None]) <= np.maximum(thickness / 2, 1.0)[:, None] + 1.0
    flat = horizontal[:, None, None] > 0
    ys = np.where(flat, across[:, None, :], along[:, :, None])
    xs = np.where(flat, along[:, :, None], across[:, None, :])
    inside = (ys >= 0) & (ys < height) & (xs >= 0) & (xs < width) & near[:, None, :]
    inked = inside & (ink[np.clip(ys, 0, height - 1), np.clip(xs, 0, width - 1)] > 0)
    return bool((inked.any(axis=2).mean(axis=1) >= _PRINTED_SHARE).all())
