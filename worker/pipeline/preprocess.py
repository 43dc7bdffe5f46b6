"""Preprocess stage: a page image → an upright, deskewed, seal-suppressed grey image.

Red seal ink is removed by reading the red channel (red is as bright as paper there, black
text stays dark), and where it was found it is remembered so the fields under a seal are
flagged. Grey or black seals (fax, grey scans) cannot be removed; they are found as
rings of seal size and flagged the same way. Every geometric change is kept as a 3×3
matrix so that boxes can be reported in the original page's pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from itertools import combinations

import cv2
import numpy as np

from worker.pipeline.cells.ink import median_grey
from worker.pipeline.load import PageImage
from worker.pipeline.pdfrules import DrawnRule, printed
from worker.pipeline.textlayer import TextLayer

_SKEW_RANGE = 5.0  # degrees, either way
_PRINTED_INK_LEVEL = 180  # a rendered digital page: grey rules are ink, light cell shading is not
_SEAL_RADIUS_INCH = (0.55, 1.05)  # round official seals are 40–42 mm across


@dataclass(frozen=True)
class Seal:
    """A seal's extent in prepared-page pixels."""

    box: tuple[float, float, float, float]
    kind: str  # "red" or "grey"
    # The seal's ink over its box, upright, 255 = ink: a red seal's redness (the black print
    # over it left out), a grey seal's darkness. Its lettering is the unit's name.
    lettering: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Stroke:
    """One 8-connected piece of a ruled-line mask: its bounding box and its pixels in it."""

    x: int
    y: int
    width: int
    height: int
    pixels: np.ndarray = field(repr=False)  # bool, height × width
    solid: bool = False  # every pixel of the box (a PDF's own rule): its centre line is its middle

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Page x and y of the stroke's pixels, row by row."""
        ys, xs = np.nonzero(self.pixels)
        return xs + self.x, ys + self.y


@dataclass(frozen=True)
class RuleStrokes:
    """The pieces of the horizontal and vertical ruled-line masks (see `line_masks`)."""

    horizontal: tuple[Stroke, ...]
    vertical: tuple[Stroke, ...]


@dataclass(frozen=True)
class PreparedPage:
    number: int
    gray: np.ndarray = field(repr=False)  # upright, deskewed, seal ink removed; uint8
    ink: np.ndarray = field(repr=False)  # binary ink mask of `gray` (255 = ink)
    to_original: np.ndarray = field(repr=False)  # 3×3: prepared pixel → original page pixel
    dpi: float
    found_seals: tuple[Seal, ...] | None  # the red seals found preparing it; None: grey ones looked for when asked
    rotation: int  # quarter turns applied (0, 90, 180, 270), clockwise
    skew: float  # degrees removed
    found_strokes: RuleStrokes | None = field(default=None, repr=False)  # as `prepare_page` found them
    text_layer: TextLayer | None = field(default=None, repr=False)  # trusted only: cells are read from it
    drawn_rules: tuple[DrawnRule, ...] | None = field(default=None, repr=False)  # a digital page's, checked printed

    @cached_property
    def seals(self) -> tuple[Seal, ...]:
        """The page's seals: on a colour page the red ones, found while preparing it; else the
        grey rings, looked for when first asked (a page without a table never is: on a page of
        the narrative the ring search was a tenth of the page's time)."""
        return self.found_seals if self.found_seals is not None else _grey_seals(self.gray, self.dpi)

    @cached_property
    def strokes(self) -> RuleStrokes:
        """The ruled strokes of `ink`, found once: the orientation check and both table
        finders read them (labelling the masks' pieces was a good part of a page's time)."""
        return self.found_strokes or self.strokes_down_to(RULE_INCH)

    def strokes_down_to(self, vertical_inch: float) -> RuleStrokes:
        """The ruled strokes with verticals down to `vertical_inch` long: the PDF's own
        rules where the page has them, else found on `ink`."""
        if self.drawn_rules is not None:
            return drawn_strokes(self.drawn_rules, self.dpi, vertical_inch)
        return rule_strokes(self.ink, self.dpi, vertical_inch)

    def original_box(self, box: tuple[float, float, float, float]) -> list[float]:
        """Map a box of this prepared page to the original page's pixels."""
        x0, y0, x1, y1 = box
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
        mapped = cv2.perspectiveTransform(corners[None], self.to_original)[0]
        return [round(float(v), 1) for v in (*mapped.min(axis=0), *mapped.max(axis=0))]


def _redness(blue: np.ndarray, green: np.ndarray, red: np.ndarray) -> np.ndarray:
    """How much redder than it is anything else each pixel is: r - max(g, b), 0 where not positive."""
    return cv2.subtract(red, cv2.max(green, blue))


def suppress_red(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grey image with red ink turned to paper, and the mask of the red ink (255 = red)."""
    b, g, r = cv2.split(image)
    redness = _redness(b, g, r)
    red = cv2.bitwise_and(cv2.compare(redness, 40, cv2.CMP_GT), cv2.compare(r, 90, cv2.CMP_GT))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if not cv2.countNonZero(red):
        return gray, red
    # Where black print crosses the seal, the pixel is dark in the red channel and darker
    # than the seal ink: keep it. Seal ink alone is light in the red channel and no darker
    # than seal ink is (JPEG keeps colour at half resolution, so thin print over a seal
    # can look as red as the seal, but not as light). Seal ink and its soft, less red edges
    # become the paper around them.
    seal_ink = median_grey(gray[red > 0])
    # A seal's faint parts (a pale, blurred or shaded seal in a photo) lie within a few pixels
    # of its clearly red ones, are a little red and, in the red channel, nearly as light as
    # the paper around them: measured against that paper, not against white.
    near = cv2.dilate(red, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))) > 0
    paper_red = _paper_level(r.astype(np.uint8), red > 0).astype(np.float32)
    light = r > 0.7 * paper_red
    seal_only = near & (redness > 8) & light & (gray >= seal_ink - 35)
    # Painted as the paper around it, not white: a white seal on grey paper leaves its own
    # outline, which heading detection reads as text.
    return np.where(seal_only, _paper_level(gray, seal_only), gray).astype(np.uint8), red


def _paper_level(gray: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """The paper's brightness around each pixel, `hidden` pixels left out: a median over a
    window wider than any stroke, taken at a quarter of the resolution."""
    height, width = gray.shape
    seen = np.where(hidden, np.uint8(median_grey(gray)), gray)  # most of a page is paper
    small = cv2.resize(seen, (max(width // 4, 1), max(height // 4, 1)), interpolation=cv2.INTER_AREA)
    window = max(min(small.shape) // 40, 2) * 2 + 1
    return cv2.resize(cv2.medianBlur(small, window), (width, height), interpolation=cv2.INTER_LINEAR)


def binarize(gray: np.ndarray, dpi: float) -> np.ndarray:
    """Ink mask (255 = ink), robust to uneven light and faint print."""
    block = int(dpi / 4) | 1
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY_INV, max(block, 15), 15)


def paper_mask(gray: np.ndarray, dpi: float) -> np.ndarray | None:
    """The sheet of paper in a photo taken against a darker background (255 = paper).

    The sheet's edges would otherwise binarize as long ruled lines. None when the paper
    fills the image (scans) or nothing clearly darker surrounds it.
    """
    scale = 400 / max(gray.shape)
    small = cv2.GaussianBlur(cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), (5, 5), 0)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright)
    if count < 2:
        return None
    sheet = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    # The hull of the paper's outlines is the hull of all its pixels, from far fewer points.
    outlines, _ = cv2.findContours(
        (sheet | _shaded_paper(small, sheet)).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    hull = cv2.convexHull(np.concatenate(outlines))
    inside = np.zeros_like(small)
    cv2.fillConvexPoly(inside, hull, 255)
    outside = inside == 0
    if outside.mean() < 0.02 or np.median(small[outside]) > np.median(small[~outside]) - 40:
        return None
    margin = max(int(dpi * 0.04 * scale), 1)  # the dark edge itself binarizes as a line
    inside = cv2.erode(inside, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * margin + 1,) * 2))
    return cv2.resize(inside, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_NEAREST)


_KEYSTONE_DEGREES = 0.3  # opposite edges of a photographed sheet further from parallel: flattened


def flattened_sheet(paper: np.ndarray) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The homography taking a photographed sheet (`paper_mask`) to an upright rectangle of
    its size, and that size; None when the sheet is no four-cornered shape wholly in the
    picture or its opposite edges are parallel (a deskew straightens it). A photo taken at
    an angle narrows the sheet away from the camera: its rules lean by different angles in
    different parts of the page, which one rotation cannot undo."""
    outlines, _ = cv2.findContours(paper, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not outlines:
        return None
    outline = max(outlines, key=cv2.contourArea)
    corners = cv2.approxPolyDP(outline, 0.02 * cv2.arcLength(outline, True), True).reshape(-1, 2).astype(np.float32)
    height, width = paper.shape
    if len(corners) != 4 or not cv2.isContourConvex(corners):
        return None
    if (corners.min(axis=0) <= 2).any() or (corners[:, 0] >= width - 3).any() or (corners[:, 1] >= height - 3).any():
        return None  # the sheet runs out of the picture: its corner there is the picture's
    top_left, top_right, bottom_right, bottom_left = _clockwise_from_top_left(corners)
    edges = [top_right - top_left, bottom_right - bottom_left, bottom_left - top_left, bottom_right - top_right]
    if _degrees_apart(*edges[:2]) < _KEYSTONE_DEGREES and _degrees_apart(*edges[2:]) < _KEYSTONE_DEGREES:
        return None
    size = (
        round(max(np.linalg.norm(edges[0]), np.linalg.norm(edges[1]))),
        round(max(np.linalg.norm(edges[2]), np.linalg.norm(edges[3]))),
    )
    target = np.float32([[0, 0], [size[0] - 1, 0], [size[0] - 1, size[1] - 1], [0, size[1] - 1]])
    source = np.float32([top_left, top_right, bottom_right, bottom_left])
    return cv2.getPerspectiveTransform(source, target), size


def _degrees_apart(edge: np.ndarray, other: np.ndarray) -> float:
    """The angle between two edges running the same way."""
    return float(abs(np.degrees(np.arctan2(edge[1], edge[0]) - np.arctan2(other[1], other[0]))))


def _clockwise_from_top_left(corners: np.ndarray) -> list[np.ndarray]:
    """Four corners as top left, top right, bottom right, bottom left."""
    sums, differences = corners.sum(axis=1), corners[:, 0] - corners[:, 1]
    return [
        corners[np.argmin(sums)],
        corners[np.argmax(differences)],
        corners[np.argmax(sums)],
        corners[np.argmin(differences)],
    ]


def _flatten(
    images: list[np.ndarray | None], homography: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Grey, red and paper images of the sheet alone, flattened; and the matrix back."""
    gray, red, paper = images
    assert gray is not None and paper is not None
    level = float(median_grey(gray[paper > 0]))
    flat_gray = cv2.warpPerspective(gray, homography, size, flags=cv2.INTER_LINEAR, borderValue=level)
    flat_red = None if red is None else cv2.warpPerspective(red, homography, size, flags=cv2.INTER_NEAREST)
    flat_paper = cv2.warpPerspective(paper, homography, size, flags=cv2.INTER_NEAREST)
    return flat_gray, flat_red, flat_paper, np.linalg.inv(homography)


RULE_INCH = 0.45  # no stroke of text is this long


_SHEET_STEP = 20  # grey levels across 3 pixels of the 400-pixel view: a sheet's edge, not light


def _shaded_paper(small: np.ndarray, sheet: np.ndarray) -> np.ndarray:
    """The paper that the bright part of the sheet reaches without crossing a step: paper in
    a shadow may be as dark as the desk, but light changes gradually (a shadow's edge is
    soft) while the sheet's edge against the desk is a step."""
    steps = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) >= _SHEET_STEP
    count, labels = cv2.connectedComponents((~steps).astype(np.uint8), connectivity=4)
    overlap = np.bincount(labels[sheet & ~steps], minlength=count)
    overlap[0] = 0  # the steps themselves
    return labels == int(np.argmax(overlap))


def line_masks(ink: np.ndarray, dpi: float, vertical_inch: float = RULE_INCH) -> tuple[np.ndarray, np.ndarray]:
    """Long horizontal and vertical strokes (ruled lines), bridged over small breaks.
    Verticals down to `vertical_inch` long: the column rules of a table only a row or two
    high are shorter than a line of text is wide."""
    length = max(int(dpi * RULE_INCH), 20)
    vertical_length = max(int(dpi * vertical_inch), 10)
    # A thin rule that still leans (perspective, residual skew) steps sideways every few
    # dozen pixels; widening the ink across the rule first keeps its run unbroken.
    widen = max(int(dpi * 0.02), 1) * 2 + 1
    horizontal = cv2.morphologyEx(
        cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (1, widen))),
        cv2.MORPH_OPEN,
        cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)),
    )
    vertical = cv2.morphologyEx(
        cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (widen, 1))),
        cv2.MORPH_OPEN,
        cv2.getStructuringElement(cv2.MORPH_RECT, (1, vertical_length)),
    )
    bridge = max(int(dpi * 0.04), 3)
    bridge_h = cv2.getStructuringElement(cv2.MORPH_RECT, (bridge * 3, 1))
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, bridge_h)
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge * 3)))
    return horizontal, vertical


def rule_strokes(ink: np.ndarray, dpi: float, vertical_inch: float = RULE_INCH) -> RuleStrokes:
    horizontal, vertical = line_masks(ink, dpi, vertical_inch)
    return RuleStrokes(_strokes(horizontal), _strokes(vertical))


def drawn_strokes(rules: tuple[DrawnRule, ...], dpi: float, vertical_inch: float = RULE_INCH) -> RuleStrokes:
    """The strokes `rule_strokes` finds on a rendered page, from the rules the PDF draws.
    As `line_masks` widens the ink across a rule, rules a few pixels apart (a table drawn
    cell by cell outlines each cell's box) are one line, and a rule's pieces meeting across
    a crossing rule's width are one stroke; strokes shorter than a rule are left out, and
    the rest joined over the breaks `line_masks` bridges."""
    widen = max(int(dpi * 0.02), 1) * 2 + 1
    bridge = max(int(dpi * 0.04), 3) * 3
    horizontal = [r for r in rules if r.horizontal]
    vertical = [r for r in rules if not r.horizontal]
    return RuleStrokes(
        _drawn(horizontal, True, max(int(dpi * RULE_INCH), 20), widen, bridge),
        _drawn(vertical, False, max(int(dpi * vertical_inch), 10), widen, bridge),
    )


def _drawn(rules: list[DrawnRule], horizontal: bool, min_length: int, widen: int, bridge: int) -> tuple[Stroke, ...]:
    strokes = []
    for line in _lines(rules, widen):
        touching = _joined([(r.position, r.start, r.end, r.width) for r in line], widen)
        for position, start, end, thickness in _joined([p for p in touching if p[2] - p[1] >= min_length], bridge):
            across = max(round(thickness), 1)
            top, along = round(position - across / 2), math.floor(start)
            length = math.ceil(end) - along + 1
            height, width = (across, length) if horizontal else (length, across)
            x, y = (along, top) if horizontal else (top, along)
            strokes.append(Stroke(x, y, width, height, np.ones((height, width), bool), solid=True))
    return tuple(sorted(strokes, key=lambda s: (s.y, s.x)))


def _lines(rules: list[DrawnRule], widen: int) -> list[list[DrawnRule]]:
    """Rules grouped by the line they lie on: positions less than `widen` apart."""
    lines: list[list[DrawnRule]] = []
    for rule in sorted(rules, key=lambda r: r.position):
        if lines and rule.position - lines[-1][-1].position < widen:
            lines[-1].append(rule)
        else:
            lines.append([rule])
    return lines


Piece = tuple[float, float, float, float]  # position, start, end, thickness


def _joined(pieces: list[Piece], gap: float) -> list[Piece]:
    """Pieces of one line joined where less than `gap` apart: the position weighed by length,
    the thickest piece's thickness kept."""
    joined: list[Piece] = []
    for piece in sorted(pieces, key=lambda p: p[1]):
        if joined and piece[1] <= joined[-1][2] + gap:
            position, start, end, thickness = joined[-1]
            weight, added = end - start, piece[2] - piece[1]
            position = (position * weight + piece[0] * added) / max(weight + added, 1e-9)
            joined[-1] = (position, start, max(end, piece[2]), max(thickness, piece[3]))
        else:
            joined.append(piece)
    return joined


def _strokes(mask: np.ndarray) -> tuple[Stroke, ...]:
    """The mask's 8-connected pieces, labelled within the box round them (a page's rules
    leave most of the mask empty, and labelling scans every pixel). The box starts on an
    even row and column: OpenCV labels 2×2 blocks, and so numbers the pieces in the same
    order as over the whole mask."""
    x, y, width, height = cv2.boundingRect(mask)
    if width == 0:
        return ()
    left, top = x - x % 2, y - y % 2
    inked = mask[top : y + height, left : x + width]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inked, connectivity=8)
    return tuple(
        Stroke(int(x) + left, int(y) + top, int(w), int(h), labels[y : y + h, x : x + w] == label)
        for label, (x, y, w, h, _) in enumerate(stats[1:count], start=1)
    )


def _alignment(ink: np.ndarray) -> tuple[float, float]:
    """(angle, sharpness) of the rotation that makes rows of ink sharpest, by profile.

    The angle is what `cv2.getRotationMatrix2D` needs to straighten the image; the sharpness
    (squared differences of row sums, per pixel of width) compares orientations.
    """
    scale = 800 / max(ink.shape)
    small = cv2.resize(ink, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    center = (w / 2, h / 2)

    @cache  # the best angle is measured again, and the fine search starts on a coarse angle
    def sharpness(angle: float) -> float:
        rotation = cv2.getRotationMatrix2D(center, angle, 1.0)
        turned = cv2.warpAffine(small, rotation, (w, h), flags=cv2.INTER_NEAREST)
        rows = turned.sum(axis=1, dtype=np.float64)
        return float(np.sum(np.diff(rows) ** 2)) / w**2

    coarse = max(np.arange(-_SKEW_RANGE, _SKEW_RANGE + 1e-6, 0.5), key=sharpness)
    fine = max(np.arange(coarse - 0.5, coarse + 0.5 + 1e-6, 0.1), key=sharpness)
    return float(fine), sharpness(fine)


def sideways_and_skew(ink: np.ndarray) -> tuple[bool, float]:
    """Whether text lines and table rows run down the page, and the skew once they run across.

    The direction whose profile is sharper (at its best angle) is horizontal; a page is
    turned only on clear evidence. Skew is in degrees, positive = content turned
    counter-clockwise on the (turned) page.
    """
    angle, as_is = _alignment(ink)
    turned_angle, turned = _alignment(cv2.rotate(ink, cv2.ROTATE_90_CLOCKWISE))
    sideways = turned > 1.5 * as_is
    return sideways, -(turned_angle if sideways else angle)


_LABEL_WIDER = 1.5  # a label column is at least this much wider than any other column


def _label_column_on_right(vertical: tuple[Stroke, ...], height: int, dpi: float) -> bool:
    """True when the table's vertical rules crowd to the left, or its last column is far the
    widest: its label column is on the right, i.e. the page is upside down.

    Rules are taken as line pieces rather than pixel columns, so rules that lean a little
    (a photo in perspective) still count."""
    tall = [s for s in vertical if s.height >= 0.1 * height]
    if len(tall) < 3:
        return False
    centers = np.sort([s.x + s.width / 2 for s in tall])
    rules = [float(x) for x, gap in zip(centers, np.diff(centers, prepend=-np.inf), strict=True) if gap > dpi * 0.05]
    if len(rules) < 3:
        return False
    left, right, inner = rules[0], rules[-1], rules[1:-1]
    # Clearly crowded only: evenly spaced columns (the 2019+ forms' tables) say nothing. Or
    # the last column far the widest: a label column beside a few narrow ones (FJ2009's
    # 指标名称 is under half the table, its three value and unit columns are not crowded).
    widths = np.diff(rules)
    widest_last = bool(widths[-1] >= _LABEL_WIDER * widths[:-1].max())
    return widest_last or float(np.median(inner)) < left + 0.4 * (right - left)


_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def _turn_matrix(turn: int, width: int, height: int) -> np.ndarray:
    """Matrix taking a pixel of the turned image back to the unturned one."""
    if turn == 0:
        return np.eye(3)
    if turn == 90:  # turned (x', y') came from (y', H-1-x')... inverted below
        forward = np.array([[0, -1, height - 1], [1, 0, 0], [0, 0, 1]], np.float64)
    elif turn == 180:
        forward = np.array([[-1, 0, width - 1], [0, -1, height - 1], [0, 0, 1]], np.float64)
    else:
        forward = np.array([[0, 1, 0], [-1, 0, width - 1], [0, 0, 1]], np.float64)
    return np.linalg.inv(forward)


def prepare_page(page: PageImage, gray: np.ndarray | None = None) -> PreparedPage:
    """Upright, deskew and clean one page; red seals are located on the way (grey ones
    when first asked for, `PreparedPage.seals`).

    Sideways pages are turned first, then deskewed; upside-down is judged last, on the
    straightened page, from the side the table's wide label column is on. A page whose
    text layer is trusted is printed straight and unstained: it is only binarised. `gray`:
    the page's image in grey when the caller made it already (a colour page's is made here,
    with its red ink taken out).
    """
    if page.text_layer is not None and page.text_layer.trusted:
        return _prepare_printed(page, page.text_layer, gray)
    gray, red = _gray_and_red(page, gray)
    paper = paper_mask(gray, page.dpi)
    to_original = np.eye(3)
    if paper is not None and (flat := flattened_sheet(paper)) is not None:
        gray, red, paper, to_original = _flatten([gray, red, paper], *flat)
    ink = binarize(gray, page.dpi)
    if paper is not None:
        ink[paper == 0] = 0
    height, width = gray.shape
    sideways, skew = sideways_and_skew(ink)
    turn = 90 if sideways else 0
    images = [gray, ink, red]
    if turn:
        images = [_turn(im, 90) for im in images]
    to_original = to_original @ _turn_matrix(turn, width, height)
    if abs(skew) >= 0.1:
        images, rotation = _rotate(images, skew)
        to_original = to_original @ np.linalg.inv(rotation)
    strokes = rule_strokes(images[1], page.dpi)
    h, w = images[1].shape
    if _label_column_on_right(strokes.vertical, h, page.dpi):
        images = [_turn(im, 180) for im in images]
        strokes = rule_strokes(images[1], page.dpi)  # not the old ones turned: a kernel of even length is not symmetric
        to_original = to_original @ _turn_matrix(180, w, h)
        turn += 180
    gray, ink, red = images
    return PreparedPage(
        number=page.number,
        gray=gray,
        ink=ink,
        to_original=to_original,
        dpi=page.dpi,
        found_seals=None if red is None else _red_seals_lettered(red, page, to_original),
        rotation=turn,
        skew=skew,
        found_strokes=strokes,
    )


def _gray_and_red(page: PageImage, gray: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    if page.is_color:
        return suppress_red(page.image)
    return (gray if gray is not None else cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY)), None


def _prepare_printed(page: PageImage, layer: TextLayer, gray: np.ndarray | None) -> PreparedPage:
    """A digital page as it is (identity transform): no turn, skew or grey-seal search; red
    seal images are still taken out and located."""
    gray, red = _gray_and_red(page, gray)
    ink = cv2.threshold(gray, _PRINTED_INK_LEVEL, 255, cv2.THRESH_BINARY_INV)[1]  # evenly lit: one level serves
    rules = page.drawn_rules
    return PreparedPage(
        number=page.number,
        gray=gray,
        ink=ink,
        to_original=np.eye(3),
        dpi=page.dpi,
        found_seals=() if red is None else _red_seals_lettered(red, page, np.eye(3)),
        rotation=0,
        skew=0.0,
        text_layer=layer,
        drawn_rules=rules if rules is not None and printed(rules, ink) else None,
    )


def _turn(image: np.ndarray | None, turn: int) -> np.ndarray | None:
    return None if image is None else cv2.rotate(image, _TURNS[turn])


def _rotate(images: list[np.ndarray | None], angle: float) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Rotate gray, ink and red images by `-angle`; returns them and the 3×3 forward matrix."""
    h, w = images[1].shape  # type: ignore[union-attr]
    rotation = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0), [0, 0, 1]])
    affine = rotation[:2]
    fills = (255, 0, 0)  # paper for the grey image, no ink, no red
    modes = (cv2.INTER_LINEAR, cv2.INTER_NEAREST, cv2.INTER_NEAREST)
    turned = [
        None if im is None else cv2.warpAffine(im, affine, (w, h), flags=mode, borderValue=fill)
        for im, fill, mode in zip(images, fills, modes, strict=True)
    ]
    return turned, rotation


def _red_seals(red: np.ndarray, dpi: float) -> tuple[Seal, ...]:
    """Seal extents from the red-ink mask: blobs of seal size once the ink is joined up. A
    pale seal in a photo may come apart in arcs: pieces that together are no larger than
    one seal are one seal."""
    joined = cv2.dilate(red, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(dpi * 0.08) | 1,) * 2))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined)
    low, high = (2 * r * dpi for r in _SEAL_RADIUS_INCH)
    groups = [(x, y, x + w, y + h) for x, y, w, h, _ in stats[1:count] if low * 0.3 <= max(w, h) <= high * 1.3]
    merged = True
    while merged:
        merged = False
        for first, second in combinations(range(len(groups)), 2):
            a, b = groups[first], groups[second]
            union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
            if max(union[2] - union[0], union[3] - union[1]) <= high * 1.1:
                groups[first] = union
                del groups[second]
                merged = True
                break
    return tuple(
        Seal(box=(float(x0), float(y0), float(x1), float(y1)), kind="red")
        for x0, y0, x1, y1 in sorted(groups, key=lambda b: (b[1], b[0]))
        if max(x1 - x0, y1 - y0) >= low * 0.6
    )


def _red_seals_lettered(red: np.ndarray, page: PageImage, to_original: np.ndarray) -> tuple[Seal, ...]:
    return tuple(_lettered(seal, page.image, to_original) for seal in _red_seals(red, page.dpi))


def _lettered(seal: Seal, image: np.ndarray, to_original: np.ndarray) -> Seal:
    """The red seal with its ink (`Seal.lettering`) taken from the page as scanned: the
    prepared grey has it painted out."""
    x0, y0, x1, y1 = (round(v) for v in seal.box)
    corners = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float64)
    found = cv2.perspectiveTransform(corners, to_original)[0]
    height, width = image.shape[:2]
    ox0, oy0 = (max(int(v) - 2, 0) for v in found.min(axis=0))
    ox1, oy1 = min(int(found[:, 0].max()) + 3, width), min(int(found[:, 1].max()) + 3, height)
    if ox1 <= ox0 or oy1 <= oy0:
        return seal
    redness = _redness(*cv2.split(image[oy0:oy1, ox0:ox1]))
    # seal box pixel → crop pixel: into the box, to the original page, into the crop
    to_crop = _shift(-ox0, -oy0) @ to_original @ _shift(x0, y0)
    lettering = cv2.warpPerspective(redness, to_crop, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    return replace(seal, lettering=lettering)


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64)


def _grey_seals(gray: np.ndarray, dpi: float) -> tuple[Seal, ...]:
    """Grey/black seals: rings of seal size, found by a Hough transform at low resolution."""
    scale = 100 / dpi  # work at 100 dpi
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.medianBlur(small, 3)
    low, high = (int(r * 100) for r in _SEAL_RADIUS_INCH)
    circles = cv2.HoughCircles(
        small,
        cv2.HOUGH_GRADIENT,
        dp=1.5,
        minDist=2 * low,
        param1=120,
        param2=60,
        minRadius=low,
        maxRadius=high,
    )
    if circles is None:
        return ()
    marked = small < float(np.median(small)) - 35
    seals = []
    for cx, cy, found in circles[0]:
        radius = _ring_radius(marked, cx, cy, found)
        if radius is not None:
            x0, y0, x1, y1 = (float(v / scale) for v in (cx - radius, cy - radius, cx + radius, cy + radius))
            side = int(2 * radius / scale)
            darkness = 255 - cv2.getRectSubPix(gray, (side, side), (float(cx / scale), float(cy / scale)))
            seals.append(Seal(box=(x0, y0, x1, y1), kind="grey", lettering=darkness))
    return tuple(seals)


_RING_ANGLES = np.linspace(0, 2 * np.pi, 72, endpoint=False)
_RING_COS = np.array([np.cos(a) for a in _RING_ANGLES])
_RING_SIN = np.array([np.sin(a) for a in _RING_ANGLES])


def _ring_radius(marked: np.ndarray, cx: float, cy: float, radius: float) -> float | None:
    """The radius of the seal ring about this centre, None when there is none: a seal's
    outer ring is a thin stroke marked nearly all the way round; table corners and blocks
    of print are not. A red seal scanned in grey may be a pale grey, so marked is only
    somewhat darker than the paper; over a table, print lies on both sides of the ring
    here and there, so thin is asked of most of the ring, not all of it."""

    def round_marked(r: float) -> np.ndarray:
        """Whether the ring's point at each of `_RING_ANGLES` at radius r is marked."""
        xs, ys = np.rint(cx + r * _RING_COS), np.rint(cy + r * _RING_SIN)
        height, width = marked.shape
        inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
        found = np.zeros(len(_RING_ANGLES), bool)
        found[inside] = marked[ys[inside].astype(int), xs[inside].astype(int)]
        return found

    # Hough's radius may be a few pixels off the ring: take the one most marked round.
    candidates = np.arange(radius - 5, radius + 5.5)
    radius = candidates[int(np.argmax([round_marked(r).sum() for r in candidates]))]
    on = round_marked(radius - 1) | round_marked(radius) | round_marked(radius + 1)
    inside = round_marked(radius - 8) | round_marked(radius - 6)
    outside = round_marked(radius + 6) | round_marked(radius + 8)
    thin = on & ~(inside & outside)  # paper on one side of the stroke at least
    count = len(_RING_ANGLES)
    return float(radius) if on.sum() >= 0.8 * count and thin.sum() >= 0.65 * count else None
