"""Ink in a cell: what is print (against the cell's paper and the page's print darkness),
cleaning away what is not (seal remains, specks), text lines, and marks judged by shape
(flat strokes are dashes, one leaning stroke is a slash)."""

from __future__ import annotations

import cv2
import numpy as np

_PAD = 4  # pixels of paper kept around text sent to the recogniser


FAINT_CONTRAST = 100  # print less than this many grey levels darker than its paper is faint


UNEVEN_LIGHT = 20  # grey levels the paper's light changes by across a cell: a shadow's edge


def ink_mask(crop: np.ndarray, darkness: float | None = None) -> tuple[np.ndarray, float]:
    """Ink (255) is what is clearly darker than the paper, beyond the paper's noise: 40 grey
    levels, or on a page whose print is faint (`darkness`, see `print_darkness`) a quarter
    of its contrast, as the thin strokes of small faint digits do not reach 40 below the
    paper. Not on other pages: there, marks that pale are seal remains. The paper is the
    cell's median grey; where the light changes across the cell by UNEVEN_LIGHT or more
    (a shadow's edge), it is measured around each pixel (see `paper_around`), as the
    change is not noise and print on either side of it is ink."""
    if crop.size == 0 or crop.dtype != np.uint8:
        return _ink_mask_by_pixel(crop, darkness)
    # A cell has at most 256 greys: its medians are taken from its histogram, the same
    # values as over its pixels at a fraction of the cost (ink_mask runs on every cell).
    counts = np.bincount(crop.ravel(), minlength=256)
    paper = float(grey_median(_GREYS, counts))
    around = paper_around(crop)
    if _uneven_light(around):
        return _ink_mask_by_pixel(crop, darkness, paper, around)
    depths = np.float32(paper) - _GREYS.astype(np.float32)  # each grey's depth below the paper
    middle = float(grey_median(depths, counts))
    noise = 1.4826 * float(grey_median(np.abs(depths - middle), counts))
    threshold = middle + max(_margin(paper, darkness), 5.0 * noise)
    return (depths > threshold).astype(np.uint8)[crop] * 255, paper


_GREYS = np.arange(256, dtype=np.uint8)


def grey_median(values: np.ndarray, counts: np.ndarray) -> float:
    """np.median of the pixels of a uint8 image whose grey g stands for values[g], from the
    image's grey counts: the middle one or two values, averaged in the precision np.median
    averages them in (float64 for integers, else the values' own)."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(counts[order])
    n = int(cumulative[-1])
    ranks = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    precision = np.float64 if values.dtype.kind in "iu" else values.dtype.type
    middle = [precision(v) for v in values[order[np.searchsorted(cumulative, ranks, side="right")]]]
    return float(sum(middle[1:], middle[0]) / len(middle))


def median_grey(image: np.ndarray) -> float:
    """np.median of a uint8 image's pixels, from its grey counts (a page's in a few ms)."""
    counts = cv2.calcHist([np.ascontiguousarray(image).reshape(-1, 1)], [0], None, [256], [0, 256])
    return grey_median(_GREYS, counts.ravel().astype(np.int64))


def _uneven_light(around: np.ndarray) -> bool:
    """Whether the paper's light changes across a cell by UNEVEN_LIGHT or more (between its
    5th and 95th percentiles). Each percentile lies between the order statistics around
    its rank; np.percentile is asked only when those do not settle it."""
    flat = around.ravel()
    last = flat.size - 1
    brackets = [(max(int(q * last) - 1, 0), min(int(q * last) + 2, last)) for q in (0.05, 0.95)]
    ranks = sorted({rank for bracket in brackets for rank in bracket})
    stats = dict(zip(ranks, np.partition(flat, ranks)[ranks], strict=True))
    (low_min, low_max), (high_min, high_max) = ((stats[a], stats[b]) for a, b in brackets)
    if high_min - low_max >= UNEVEN_LIGHT:
        return True
    if high_max - low_min < UNEVEN_LIGHT:
        return False
    lit = np.percentile(around, (5, 95))
    return bool(lit[1] - lit[0] >= UNEVEN_LIGHT)


def _margin(paper: float, darkness: float | None) -> float:
    if darkness is not None and paper - darkness < FAINT_CONTRAST:
        return max(0.25 * (paper - darkness), 20.0)
    return 40.0


def _ink_mask_by_pixel(
    crop: np.ndarray, darkness: float | None, paper: float | None = None, around: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """`ink_mask` over the pixels themselves (a shadow's edge: the paper's grey varies)."""
    paper = float(np.median(crop)) if paper is None else paper
    around = paper_around(crop) if around is None else around
    lit = np.percentile(around, (5, 95))
    level = around if lit[1] - lit[0] >= UNEVEN_LIGHT else np.float32(paper)
    depth = level - crop.astype(np.float32)
    noise = 1.4826 * float(np.median(np.abs(depth - float(np.median(depth)))))
    return (depth > float(np.median(depth)) + max(_margin(paper, darkness), 5.0 * noise)).astype(np.uint8) * 255, paper


def paper_around(crop: np.ndarray) -> np.ndarray:
    """The paper's grey around each pixel of a cell (float32): the grey closing of the cell
    with a window half its height, wider than any stroke of its print (even bold or blurred)
    so print is closed over, while light that changes across the cell is followed."""
    size = max(min(crop.shape) // 2, 3) | 1
    closed = cv2.morphologyEx(crop, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    return closed.astype(np.float32)


def _is_solid(h: int, area: int, dpi: float) -> bool:
    """Big enough to be part of a character rather than a speck of dust or toner."""
    return h >= max(dpi * 0.025, 3) or area >= max((dpi / 150) ** 2 * 6, 4) * 3


def _is_sign(box: tuple[int, int, int, int], height: int, dpi: float) -> bool:
    """A flat stroke across the middle of the cell (a minus sign, a thin dash), however thin:
    no speck is that wide and flat, and what is left of a rule lies at the cell's edge."""
    _, y, w, h = box
    return w >= max(dpi * 0.03, 5) and w >= 2.5 * h and 0.25 * height <= y + h / 2 <= 0.75 * height


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
    ink, paper = ink_mask(crop, darkness)
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
    if paper - darkest < FAINT_CONTRAST:
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
        if _isolated(labels, int(i) + 1, stats[i + 1], reach)
        and not on_baseline_between(stats[i + 1], characters)
        and not _sign_before(stats[i + 1], characters)
    }


def _sign_before(mark: tuple[int, ...], characters: list[tuple[int, ...]]) -> bool:
    """A stroke wider than tall at mid-height just before a character: a minus sign."""
    x, y, w, h = mark[:4]
    if w < 1.5 * h:
        return False
    middle = y + h / 2
    return any(
        w >= 0.3 * ch and cy + 0.3 * ch <= middle <= cy + 0.7 * ch and 0 <= cx - (x + w) <= ch
        for cx, cy, _, ch, *_ in characters
    )


FAINT_SIGN_DEPTH = 20  # grey levels below the paper a pale or thin minus still reaches
_DIGIT_SHARE = 0.4  # of the darkest ink's depth: a faint digit's strokes (see `mark_before_digits`)


def mark_before_digits(cell: np.ndarray) -> tuple[int, int, int, int] | None:
    """Where ink that could be a minus sign lies left of a cell's digits: a flat stroke at
    their mid-height, however faint, thin or short. A minus printed pale or one pixel high
    is cleaned away as a seal's remains or a speck before the cell is read (`clean_cell`),
    or dropped by the recogniser, so a number read without a sign is not known positive
    while such a stroke is there. The box (x0, y0, x1, y1) of the stroke and the digits,
    None when there is none."""
    if cell.size == 0:
        return None
    smooth = cv2.GaussianBlur(cell, (3, 3), 0).astype(np.float32)
    depth = float(np.median(smooth)) - smooth
    # Digits are ink 40 grey levels below the paper, or on faint print (thin strokes at a low
    # dpi, a pale copy) 0.4 of the darkest ink's depth: else they fall apart into specks and
    # a minus before them is taken for part of them.
    digits = _digit_boxes((depth > min(40.0, _DIGIT_SHARE * float(depth.max()))).astype(np.uint8))
    if not digits:
        return None
    left = min(x for x, _, _, _ in digits)
    top = float(np.median([y for _, y, _, _ in digits]))
    size = float(np.median([h for _, _, _, h in digits]))
    faint = (depth > FAINT_SIGN_DEPTH).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(faint[:, :left], connectivity=8)
    height = faint.shape[0]
    for x, y, w, h, _ in stats[1:count]:
        if x == 0 or y == 0 or y + h == height:
            continue  # what is left of a rule at the cell's edge
        # no taller than wide: a fax keeps of a thin minus a blob 4 pixels wide and 3 high
        flat = w >= max(h, 0.15 * size) and h <= 0.45 * size
        middle = top + 0.2 * size <= y + h / 2 <= top + 0.8 * size
        if flat and middle and left - (x + w) <= 1.2 * size:
            right = max(dx + dw for dx, _, dw, _ in digits)
            bottom = max(dy + dh for _, dy, _, dh in digits)
            return int(x), min(int(y), min(dy for _, dy, _, _ in digits)), int(right), int(max(y + h, bottom))
    return None


def _digit_boxes(ink: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of the tall blobs of a cell's print, away from its edges: its digits."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height, width = ink.shape
    inside = [
        (int(x), int(y), int(w), int(h))
        for x, y, w, h, _ in stats[1:count]
        if x > 0 and y > 0 and x + w < width and y + h < height and h >= 4
    ]
    tallest = max((h for *_, h in inside), default=0)
    return [box for box in inside if box[3] >= 0.6 * tallest]


def _isolated(labels: np.ndarray, label: int, box: np.ndarray, reach: int) -> bool:
    x, y, w, h = (int(v) for v in box[:4])
    around = labels[max(y - reach, 0) : y + h + reach, max(x - reach, 0) : x + w + reach]
    return bool(np.all((around == 0) | (around == label)))


def on_baseline_between(dot: tuple[int, ...], solid: list[tuple[int, ...]]) -> bool:
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


def ink_lines(
    crop: np.ndarray, dpi: float, split_lines: bool, darkness: float | None = None
) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the text lines in a cell crop; [] for a blank cell."""
    if crop.size == 0:
        return []
    ink, _ = ink_mask(crop, darkness)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    height, width = ink.shape
    solid, faint = [], []
    for x, y, w, h, area in stats[1:count]:
        touches_edge = x == 0 or y == 0 or x + w == width or y + h == height
        if touches_edge and (w > 0.6 * width or h > 0.8 * height) and min(w, h) <= 3:
            continue  # remains of a ruled line
        if _is_solid(h, area, dpi) or _is_sign((x, y, w, h), height, dpi):
            solid.append((x, y, x + w, y + h))
        else:
            faint.append((x, y, w, h))
    characters = [(x0, y0, x1 - x0, y1 - y0) for x0, y0, x1, y1 in solid]
    solid += [(x, y, x + w, y + h) for x, y, w, h in faint if _sign_before((x, y, w, h), characters)]
    if not solid:
        return []
    boxes = np.array(solid)
    if not split_lines:
        x0, y0 = boxes[:, :2].min(axis=0)
        x1, y1 = boxes[:, 2:].max(axis=0)
        return [(int(x0), int(y0), int(x1), int(y1))]
    return _split_text_lines(boxes, dpi)


def _split_text_lines(boxes: np.ndarray, dpi: float) -> list[tuple[int, int, int, int]]:
    """Group component boxes into text lines by their vertical overlap. Parts of one
    character stacked apart (条 is 夂 over 朩, 二 two strokes) stay one line: a line far
    shorter than wide so far takes the part below it where together they are no taller
    than the character is wide."""
    order = np.argsort((boxes[:, 1] + boxes[:, 3]) / 2)
    lines: list[list[int]] = []
    widest: list[int] = []  # the widest component of each line: about a character's size
    gap = dpi * 0.02
    for i in order:
        x0, y0, x1, y1 = (int(v) for v in boxes[i])
        if lines:
            lx0, ly0, lx1, ly1 = lines[-1]
            overlaps = y0 < ly1 - gap or (y0 + y1) / 2 < ly1
            # The line so far is part of one character (one character wide, far shorter than
            # wide), this the rest of it.
            partial = lx1 - lx0 <= 1.3 * widest[-1] and ly1 - ly0 < 0.7 * widest[-1]
            stacked = (
                partial and x0 < lx1 and x1 > lx0 and max(ly1, y1) - min(ly0, y0) <= 1.2 * max(widest[-1], x1 - x0)
            )
            if overlaps or stacked:
                lines[-1] = [min(lx0, x0), min(ly0, y0), max(lx1, x1), max(ly1, y1)]
                widest[-1] = max(widest[-1], x1 - x0)
                continue
        lines.append([x0, y0, x1, y1])
        widest.append(x1 - x0)
    min_line = dpi * 0.06  # a "line" thinner than this is a stray mark
    return [tuple(line) for line in _join_broken(lines, gap, min_line) if line[3] - line[1] >= min_line]  # type: ignore[misc]


def _join_broken(lines: list[list[int]], gap: float, min_line: float) -> list[list[int]]:
    """Lines (top to bottom) with a piece thinner than a line joined to the one just below
    it, where they overlap across within `gap` and together are as wide as a character
    (a third of their height): a character whose faint print broke apart (the curve of a 2
    above its base) is one line, not two stray marks; pieces of a hairline left of a rule
    stay apart."""
    joined: list[list[int]] = []
    for line in lines:
        if joined:
            last = joined[-1]
            both = [*np.minimum(last[:2], line[:2]).tolist(), *np.maximum(last[2:], line[2:]).tolist()]
            thin = min(last[3] - last[1], line[3] - line[1]) < min_line
            across = line[0] < last[2] and line[2] > last[0]
            wide = both[2] - both[0] >= (both[3] - both[1]) / 3
            if thin and across and wide and line[1] - last[3] <= gap:
                joined[-1] = both
                continue
        joined.append(line)
    return joined


def pad_crop(crop: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    h, w = crop.shape
    piece = crop[max(y0 - _PAD, 0) : min(y1 + _PAD, h), max(x0 - _PAD, 0) : min(x1 + _PAD, w)]
    piece = cv2.copyMakeBorder(piece, _PAD, _PAD, _PAD, _PAD, cv2.BORDER_CONSTANT, value=255)
    return cv2.cvtColor(piece, cv2.COLOR_GRAY2BGR)


def is_slanted_stroke(crop: np.ndarray, box: tuple[int, int, int, int]) -> bool:
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
    lines = ink_lines(cell, dpi, split_lines=False, darkness=darkness)
    return bool(lines) and is_flat(lines[0], dpi)


def is_flat(box: tuple[int, int, int, int], dpi: float) -> bool:
    x0, y0, x1, y1 = box
    return y1 - y0 <= max(dpi * 0.03, 3) and x1 - x0 >= 2.5 * (y1 - y0)
