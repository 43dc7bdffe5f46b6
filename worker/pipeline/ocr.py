"""OCR stage: PP-OCR text recognition behind a small engine interface.

The default engine runs the PP-OCRv6 ONNX models shipped inside the `rapidocr` wheel with
onnxruntime on CPU; nothing is downloaded. Recognition is run on cell crops (or text
lines inside cells), not on whole pages. Engine output is turned into our types here, at
the edge, with per-character scores so later stages can judge each digit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import opencc

_BATCH = 8
# The recogniser's working memory grows with a batch's crops times their width: six text lines
# 1,672 px wide took 600 MB at once. Wide crops (headings, long labels) go in smaller batches;
# a batch of narrow value cells stays 8 (they are the many, and batching is what makes them fast).
_BATCH_COLUMNS = 8 * 400
_INPUT_HEIGHT = 48  # the PP-OCR recogniser's input height
_STRIDE = 8  # input pixels per output frame


# The recogniser reads some print (a kai font) in traditional characters (召開…會議數) where
# the reports print simplified ones.
_TO_SIMPLIFIED = opencc.OpenCC("t2s")


@lru_cache(maxsize=8192)  # label matching converts the catalogue's few hundred labels again and again
def simplified(text: str) -> str:
    """`text` in simplified characters, as the reports are printed."""
    return _TO_SIMPLIFIED.convert(text)


@dataclass(frozen=True)
class TextRead:
    text: str
    score: float  # mean of the character probabilities; 0.0 when nothing was read
    char_scores: tuple[float, ...]


@dataclass(frozen=True)
class DetectedLine:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in the detected image
    read: TextRead


class OcrEngine(Protocol):
    name: str

    def recognize(self, crops: Sequence[np.ndarray], alphabet: Alphabet | None = None) -> list[TextRead]:
        """Read one text line per crop (H×W×3 uint8 BGR), optionally as cells of `alphabet`."""

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        """The quadrilateral (4×2, image pixels) of every text line of a region."""

    def read_region(self, image: np.ndarray) -> list[DetectedLine]:
        """Detect and read every text line of a region (for headings above the table)."""


class RapidOcrEngine:
    """PP-OCRv6 detection and recognition from the rapidocr wheel, on onnxruntime."""

    name = "rapidocr-ppocrv6-onnx"

    def __init__(self, threads: int = 0) -> None:
        from rapidocr import RapidOCR  # heavy: imported only when an engine is built

        params: dict[str, object] = {
            "Global.log_level": "error",
            "Global.use_cls": False,
            # Regions are headings a few inches tall: the default (shortest side up to 736 px)
            # would enlarge them several times over before detecting. 960 px across a page
            # (about 115 dpi; heading and title print is 12 pt or more) reads the same
            # metadata as 1280 did on 47 test documents, at a little over half the cost.
            "Det.limit_type": "max",
            "Det.limit_side_len": 960,
        }
        if threads > 0:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        self._ocr = RapidOCR(params=params)
        self._rec = self._ocr._load_rec_model()
        self._decoder = CtcDecoder(self._rec.postprocess_op.character)

    def recognize(self, crops: Sequence[np.ndarray], alphabet: Alphabet | None = None) -> list[TextRead]:
        classes = self._decoder.classes(alphabet) if alphabet else None
        reads: list[TextRead | None] = [None] * len(crops)
        # Crops are batched with crops of their own input width only, so that what a crop
        # reads never depends on the other crops of the call (a faint "1" of "14" came and
        # went with a batch mate a few pixels wider).
        by_width: dict[int, list[int]] = {}
        for index, crop in enumerate(crops):
            by_width.setdefault(_input_width(crop), []).append(index)
        for width, indices in sorted(by_width.items()):
            size = max(1, min(_BATCH, _BATCH_COLUMNS // width))
            for start in range(0, len(indices), size):
                batch = indices[start : start + size]
                for index, probs in zip(batch, self._probabilities([crops[i] for i in batch], width), strict=True):
                    reads[index] = self._decoder.decode(probs, classes)
        return [r for r in reads if r is not None]

    def _probabilities(self, crops: list[np.ndarray], width: int) -> np.ndarray:
        ratio = width / _INPUT_HEIGHT
        batch = np.stack([self._rec.resize_norm_img(c, ratio) for c in crops]).astype(np.float32)
        return self._rec.session(batch)

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        detected = self._ocr(image, use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(detected, "boxes", None)
        return [] if boxes is None else [np.asarray(b) for b in boxes]

    def read_region(self, image: np.ndarray) -> list[DetectedLine]:
        return read_detected(self, image, self.detect(image))


def read_detected(engine: OcrEngine, image: np.ndarray, boxes: Sequence[np.ndarray]) -> list[DetectedLine]:
    """Read the text lines detected at `boxes` (quadrilaterals) in `image`."""
    if not boxes:
        return []
    reads = engine.recognize([_crop_box(image, b) for b in boxes])
    return [DetectedLine(box=box_span(box), read=read) for box, read in zip(boxes, reads, strict=True)]


def box_span(box: np.ndarray) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of a detected quadrilateral."""
    x0, y0 = box.min(axis=0)
    x1, y1 = box.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


@dataclass(frozen=True)
class Alphabet:
    """What a kind of cell holds: each glyph the recogniser knows → the symbol it stands for
    there (O and 0 are both 0 in a number). Glyphs of one symbol add up their probabilities
    before decoding. Other glyphs are read as themselves, unless the alphabet is `closed`."""

    glyphs: Mapping[str, str]
    closed: bool = False


@dataclass(frozen=True)
class _Classes:
    symbols: list[str]
    members: list[np.ndarray]  # recogniser indices of each symbol's glyphs
    closed: bool


class CtcDecoder:
    """Greedy CTC decoding of a recogniser's frame probabilities (class 0 = blank), keeping
    each character's probability; optionally over an alphabet's classes."""

    def __init__(self, characters: Sequence[str]) -> None:
        self.characters = list(characters)
        self._index = {ch: i for i, ch in enumerate(self.characters)}

    def classes(self, alphabet: Alphabet) -> _Classes:
        symbols = sorted(set(alphabet.glyphs.values()))
        members = [
            np.array([self._index[g] for g, s in alphabet.glyphs.items() if s == sym and g in self._index], dtype=int)
            for sym in symbols
        ]
        return _Classes(symbols, members, alphabet.closed)

    def decode(self, probs: np.ndarray, classes: _Classes | None = None) -> TextRead:
        if classes is None:
            best = probs.argmax(axis=1)
            return _collapse(best, probs.max(axis=1), [self.characters[i] for i in best])
        symbols = classes.symbols
        columns = [probs[:, 0], *(probs[:, m].sum(axis=1) for m in classes.members)]
        outside = probs.copy()
        outside[:, np.concatenate([[0], *classes.members])] = 0.0
        other = outside.argmax(axis=1)  # the likeliest glyph outside the alphabet
        if not classes.closed:
            columns.append(outside[np.arange(len(other)), other])
        table = np.column_stack(columns)
        best = table.argmax(axis=1)
        names = ["", *symbols]
        chars = [names[b] if b <= len(symbols) else self.characters[o] for b, o in zip(best, other, strict=True)]
        # Frames of two different glyphs outside the alphabet are two characters, not a repeat.
        best = np.where(best > len(symbols), len(symbols) + 1 + other, best)
        return _collapse(best, table.max(axis=1), chars)


def _collapse(best: np.ndarray, best_prob: np.ndarray, chars: list[str]) -> TextRead:
    """CTC: drop blanks (class 0) and repeats of a class; keep each character's probability."""
    keep = np.ones(len(best), dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    text = "".join(ch for ch, k in zip(chars, keep, strict=True) if k)
    scores = tuple(round(float(p), 5) for p in best_prob[keep])
    return TextRead(text=text, score=float(np.mean(scores)) if scores else 0.0, char_scores=scores)


def _input_width(crop: np.ndarray) -> int:
    """The recogniser's input width for a crop: the crop scaled to the input height, padded
    to the next multiple of the model's horizontal stride (a square at the least). Not the
    model's default 320 px: padding short number and unit crops that far made them cost
    as much as a long label line."""
    scaled = math.ceil(_INPUT_HEIGHT * crop.shape[1] / max(crop.shape[0], 1))
    return max(_INPUT_HEIGHT, math.ceil(scaled / _STRIDE) * _STRIDE)


def _crop_box(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    x0, y0 = np.floor(box.min(axis=0)).astype(int)
    x1, y1 = np.ceil(box.max(axis=0)).astype(int)
    h, w = image.shape[:2]
    crop = image[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
    return crop if crop.size else np.full((8, 8, 3), 255, np.uint8)
