"""Text layer: the characters a PDF page holds as text, with their boxes in page pixels.

A report exported from a word processor carries its table's text exactly; reading it is
faster and surer than OCR of the rendered page. A layer is used only once it is checked
against the image (`agrees_with_image`): its characters must sit on ink, and a few of its runs,
recognised from the image, must read as the layer says. A scan that another tool made
searchable carries that tool's OCR as invisible text, right or wrong; broken font
encodings extract as the wrong characters: both fail the check and the page is read by OCR.
"""

from __future__ import annotations

import ctypes
import difflib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

import numpy as np

from worker.pipeline.cells.reading import CellRead
from worker.pipeline.ocr import DetectedLine, OcrEngine, TextRead, simplified

Box = tuple[float, float, float, float]

_MIN_CHARS = 20  # fewer printed characters: not a text page worth trusting
_ON_INK = 0.95  # share of characters whose box holds ink
_BOX_SLACK = 0.3  # of a character box's longer side, added around it when looking for ink
_INK_LEVEL = 128  # grey level below which a pixel is ink
_SAMPLED_RUNS = 2  # runs recognised from the image to check a visible layer's text, one with
# digits and one without (a broken font encoding garbles every run set in that font; the
# recogniser's time grows with the runs' width, and this is most of a digital page's time)
_SAMPLED_RUNS_INVISIBLE = 24  # another tool's OCR is wrong here and there, not throughout
_AGREEMENT = 0.8  # similarity of a run's recognised text to the layer's for it to agree
_LONGEST_RUN = 10  # characters of a sampled run: the recogniser's cost grows with a line's width
_LONGEST_VISIBLE_RUN = 6  # a garbled font garbles every character: a few show it
_RUN_GAP = 1.2  # a horizontal gap wider than this many character heights ends a run


@dataclass(frozen=True)
class LayerChar:
    text: str
    box: Box  # page pixels
    font: str = ""  # the PDF font it is set in (its encoding maps codes to text)


@dataclass(frozen=True)
class TextLayer:
    """A page's text characters (spaces and generated line breaks left out)."""

    chars: tuple[LayerChar, ...] = field(repr=False)
    invisible: bool  # every character drawn invisibly: a searchable scan's OCR layer
    trusted: bool = False  # checked against the page's image (`agrees_with_image`); only then read

    @cached_property
    def centres(self) -> np.ndarray:
        """The characters' centres (n×2): a page's cells each look up their characters, and
        a scan of the whole layer per cell was a third of a digital page's time."""
        boxes = np.array([c.box for c in self.chars], np.float64).reshape(-1, 4)
        return np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2])

    def chars_in(self, box: Box) -> list[LayerChar]:
        x0, y0, x1, y1 = box
        xs, ys = self.centres[:, 0], self.centres[:, 1]
        inside = np.flatnonzero((x0 <= xs) & (xs <= x1) & (y0 <= ys) & (ys <= y1))
        return [self.chars[i] for i in inside]

    def read(self, box: Box) -> CellRead:
        """The text whose characters' centres lie in `box`, line by line: a cell read that
        cannot be misread (score 1.0)."""
        lines = text_runs(self.chars_in(box), split_gaps=False)
        if not lines:
            return CellRead.empty()
        text = "".join(_text(line) for line in lines)
        return CellRead(text=text, score=1.0, min_char_score=1.0, blank=False, lines=len(lines))

    def lines_in(self, box: Box) -> list[DetectedLine]:
        """The runs of text in `box` as detected lines (what the heading readers take)."""
        return [
            DetectedLine(box=_span(run), read=TextRead(_text(run), 1.0, (1.0,) * len(run)))
            for run in text_runs(self.chars_in(box), split_gaps=True)
        ]


def _text(chars: Sequence[LayerChar]) -> str:
    return "".join(c.text for c in chars)


def _span(chars: Sequence[LayerChar]) -> Box:
    boxes = np.array([c.box for c in chars])
    return (float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()), float(boxes[:, 3].max()))


def text_runs(chars: Sequence[LayerChar], split_gaps: bool) -> list[list[LayerChar]]:
    """Characters grouped into lines (top to bottom, each left to right); with `split_gaps`
    a line is cut where a gap wider than a few characters opens, as a detector cuts it."""
    lines: list[list[LayerChar]] = []
    tallest = middle = 0.0  # of the last line: its tallest character's height and centre
    for char in sorted(chars, key=lambda c: (c.box[1] + c.box[3]) / 2):
        centre, height = (char.box[1] + char.box[3]) / 2, char.box[3] - char.box[1]
        # A point or comma has a box a few pixels tall: the line's tallest character decides.
        if lines and abs(centre - middle) <= 0.5 * max(tallest, height):
            lines[-1].append(char)
            if height > tallest:
                tallest, middle = height, centre
        else:
            lines.append([char])
            tallest, middle = height, centre
    runs: list[list[LayerChar]] = []
    for line in lines:
        line.sort(key=lambda c: c.box[0])
        height = max(max(c.box[3] - c.box[1] for c in line), 1.0)
        runs.append([line[0]])
        for previous, char in pairwise(line):
            if split_gaps and char.box[0] - previous.box[2] > _RUN_GAP * height:
                runs.append([char])
            else:
                runs[-1].append(char)
    return runs


def extract_layer(textpage, scale: float, page_height_pt: float, pdfium_c) -> TextLayer | None:  # type: ignore[no-untyped-def]
    """The characters of a pdfium text page, points → pixels at `scale` pixels per point.
    pdfium's C interface is called with out-parameters made once (a page has thousands of
    characters); a character's font and render mode are its text object's, asked once."""
    chars: list[LayerChar] = []
    invisible = True
    raw = textpage.raw
    font_name, font_flags = ctypes.create_string_buffer(128), ctypes.c_int()
    box = [ctypes.c_double() for _ in range(4)]
    box_refs = [ctypes.byref(v) for v in box]
    left, right, bottom, top = box  # FPDFText_GetCharBox's order
    objects: dict[int, tuple[str, bool]] = {}  # text object → (font, drawn invisibly)
    for index in range(pdfium_c.FPDFText_CountChars(raw)):
        if pdfium_c.FPDFText_IsGenerated(raw, index) == 1:
            continue
        text = chr(pdfium_c.FPDFText_GetUnicode(raw, index))
        if not text.strip():
            continue
        if not pdfium_c.FPDFText_GetCharBox(raw, index, *box_refs):
            continue
        text_object = pdfium_c.FPDFText_GetTextObject(raw, index)
        key = ctypes.cast(text_object, ctypes.c_void_p).value
        facts = objects.get(key) if key is not None else None
        if facts is None:
            pdfium_c.FPDFText_GetFontInfo(raw, index, font_name, len(font_name), ctypes.byref(font_flags))
            mode = pdfium_c.FPDFTextObj_GetTextRenderMode(text_object)
            facts = (font_name.value.decode("latin-1"), mode == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE)
            if key is not None:
                objects[key] = facts
        font, hidden = facts
        pixel_box = (
            left.value * scale,
            (page_height_pt - top.value) * scale,
            right.value * scale,
            (page_height_pt - bottom.value) * scale,
        )
        chars.append(LayerChar(text, pixel_box, font))
        invisible = invisible and hidden
    return TextLayer(tuple(chars), invisible) if len(chars) >= _MIN_CHARS else None


def on_ink(layer: TextLayer, gray: np.ndarray) -> float:
    """Share of the layer's letters, digits and characters whose box (a little widened: an
    OCR tool's boxes are its own font's, not the print's) holds some ink of the image.
    Punctuation is left out: fonts place 、 and 。 in different corners of their box."""
    letters = [c.box for c in layer.chars if c.text.isalnum()]
    if not letters:
        return 0.0
    boxes = np.array(letters, np.float64)
    pads = _BOX_SLACK * np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    height, width = gray.shape
    x0 = np.maximum(np.round(np.round(boxes[:, 0]) - pads), 0).astype(int)
    y0 = np.maximum(np.round(np.round(boxes[:, 1]) - pads), 0).astype(int)
    x1 = np.minimum(np.round(np.round(boxes[:, 2]) + pads), width).astype(int)
    y1 = np.minimum(np.round(np.round(boxes[:, 3]) + pads), height).astype(int)
    inked = sum(
        bool(b > a and d > c and gray[a:b, c:d].min() < _INK_LEVEL)
        for a, b, c, d in zip(y0.tolist(), y1.tolist(), x0.tolist(), x1.tolist(), strict=True)
    )
    return inked / len(letters)


def sampled_runs(
    layer: TextLayer, count: int = _SAMPLED_RUNS, longest: int = _LONGEST_VISIBLE_RUN
) -> list[list[LayerChar]]:
    """Short runs spread over the page, half of them with digits (what the tables hold and
    what a wrong OCR layer gets wrong); a long line is taken in pieces of a few characters
    (its numbers, a year in a sentence, are sampled too)."""
    runs = [
        piece
        for run in text_runs(layer.chars, split_gaps=True)
        for piece in _pieces(run, longest)
        if len(_words(_text(piece))) >= 2  # a lone 0 reads as O as well
    ]
    numeric = [run for run in runs if any(c.text.isdigit() for c in run)]
    others = [run for run in runs if not any(c.text.isdigit() for c in run)]
    picked = _spread(numeric, count // 2)
    return picked + _spread(others, count - len(picked))


def _pieces(run: list[LayerChar], longest: int) -> list[list[LayerChar]]:
    return [run[i : i + longest] for i in range(0, len(run), longest)]


def _spread(items: list[list[LayerChar]], count: int) -> list[list[LayerChar]]:
    if count <= 0 or not items:
        return []
    indices = np.unique(np.linspace(0, len(items) - 1, min(count, len(items))).round().astype(int))
    return [items[i] for i in indices]


def _words(text: str) -> str:
    """Letters, digits and characters only: dashes, points and brackets are read any which way."""
    return "".join(ch for ch in simplified(unicodedata.normalize("NFKC", text)) if ch.isalnum())


def _agrees(read: str, layer_text: str) -> bool:
    return difflib.SequenceMatcher(None, _words(read), _words(layer_text)).ratio() >= _AGREEMENT


def agrees_with_image(layer: TextLayer, gray: np.ndarray, engine: OcrEngine) -> bool:
    """Whether the page's text layer says what its image shows (see the module's doc)."""
    return _proving_runs(layer, gray, engine) is not None


def _proving_runs(layer: TextLayer, gray: np.ndarray, engine: OcrEngine) -> list[list[LayerChar]] | None:
    """The sampled runs, when the layer's letters sit on ink and every sampled run, recognised
    from the image, reads as the layer says; else None (an OCR misread of a right layer only
    costs the page its OCR)."""
    if on_ink(layer, gray) < _ON_INK:
        return None
    if layer.invisible:
        runs = sampled_runs(layer, _SAMPLED_RUNS_INVISIBLE, _LONGEST_RUN)
    else:
        runs = sampled_runs(layer, _SAMPLED_RUNS, _LONGEST_VISIBLE_RUN)
    if not runs:
        return None
    reads = engine.recognize([_crop(gray, _span(run)) for run in runs])
    return runs if all(_agrees(read.text, _text(run)) for read, run in zip(reads, runs, strict=True)) else None


class LayerCheck:
    """Checks one document's text layers page by page. A visible layer's fonts are what can
    be wrong in it (an encoding that maps codes to the wrong characters garbles every run
    set in that font): once runs in a font read right, later pages set only in proven fonts
    need their letters on ink, not OCR. Another tool's invisible OCR layer is wrong run by
    run, so each of its pages is recognised."""

    def __init__(self, engine: OcrEngine) -> None:
        self.engine = engine
        self.proven: set[str] = set()

    def trusted(self, layer: TextLayer, gray: np.ndarray) -> bool:
        if not layer.invisible and {c.font for c in layer.chars} <= self.proven:
            return on_ink(layer, gray) >= _ON_INK
        runs = _proving_runs(layer, gray, self.engine)
        if runs is not None and not layer.invisible:
            self.proven |= {c.font for run in runs for c in run}
        return runs is not None


def _crop(gray: np.ndarray, box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    pad = 0.2 * (y1 - y0) + 2
    height, width = gray.shape
    crop = gray[int(max(y0 - pad, 0)) : int(min(y1 + pad, height)), int(max(x0 - pad, 0)) : int(min(x1 + pad, width))]
    return np.dstack([np.ascontiguousarray(crop)] * 3)
