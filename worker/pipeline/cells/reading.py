"""Reading cells: what a cell read gives (`CellRead`) and how text lines are sent to the
recogniser (squeezed first where a plausibility test can tell a good read)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np

from worker.pipeline.ocr import Alphabet, OcrEngine, TextRead

DASH_READ = TextRead("—", 1.0, (1.0,))  # a mark read from its shape, not by the recogniser


# Share of its width a line of Chinese text is first read at (see `read_text`). The
# recogniser's cost is its input's width (0.24 ms a column at 48 px high, whatever the
# batch); at 0.35 a label is 2-3 frames a character and 519 of 629 label cells of the sample
# scans still read as a catalogue label (528 at 0.5): the labels' OCR costs a quarter less.
NARROW = 0.35


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


def read_text(
    lines: Mapping[K, list[np.ndarray]],
    engine: OcrEngine,
    plausible: Plausible | None = None,
    alphabet: Alphabet | None = None,
    narrow: float = NARROW,
) -> dict[K, list[TextRead]]:
    """Read text cells, each given as its line crops (optionally as cells of `alphabet`).
    The recogniser's cost grows with the width of a line and printed Chinese stays legible
    squeezed, so with `plausible` the lines are read squeezed to `narrow` of their width
    first; a cell whose text then does not read like what such a cell holds is read again
    at full width, the shape the recogniser was trained on. Without `plausible`, at full
    width only."""
    reads: dict[K, list[TextRead]] = {}
    if plausible is not None:
        squeezed = read_lines(lines, engine, narrow, alphabet)
        reads = {key: r for key, r in squeezed.items() if plausible("".join(x.text for x in r))}
    reads |= read_lines({key: c for key, c in lines.items() if key not in reads}, engine, 1.0, alphabet)
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


def combine_reads(reads: list[TextRead], slanted: bool = False) -> CellRead:
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


def overlaps(box: tuple[float, float, float, float], other: tuple[float, float, float, float]) -> bool:
    """True when two boxes share more than a sliver (a fifth of the smaller side)."""
    ix = min(box[2], other[2]) - max(box[0], other[0])
    iy = min(box[3], other[3]) - max(box[1], other[1])
    if ix <= 0 or iy <= 0:
        return False
    return ix * iy >= 0.2 * min(box[2] - box[0], other[2] - other[0]) * min(box[3] - box[1], other[3] - other[1])


Box = tuple[float, float, float, float]
