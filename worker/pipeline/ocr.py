"""OCR stage: PP-OCR text recognition behind a small engine interface.

The default engine runs the PP-OCRv6 ONNX models shipped inside the `rapidocr` wheel with
onnxruntime on CPU; nothing is downloaded. Recognition is run on cell crops (or text
lines inside cells), not on whole pages. Engine output is turned into our types here, at
the edge, with per-character scores so later stages can judge each digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

_BATCH = 8


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

    def recognize(self, crops: Sequence[np.ndarray]) -> list[TextRead]:
        """Read one text line per crop (H×W×3 uint8 BGR)."""

    def read_region(self, image: np.ndarray) -> list[DetectedLine]:
        """Detect and read every text line of a region (for headings above the table)."""


class RapidOcrEngine:
    """PP-OCRv6 detection and recognition from the rapidocr wheel, on onnxruntime."""

    name = "rapidocr-ppocrv6-onnx"

    def __init__(self, threads: int = 0) -> None:
        from rapidocr import RapidOCR  # heavy: imported only when an engine is built

        params: dict[str, object] = {"Global.log_level": "error", "Global.use_cls": False}
        if threads > 0:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        self._ocr = RapidOCR(params=params)
        self._rec = self._ocr._load_rec_model()
        self._characters: list[str] = self._rec.postprocess_op.character

    def recognize(self, crops: Sequence[np.ndarray]) -> list[TextRead]:
        reads: list[TextRead | None] = [None] * len(crops)
        order = np.argsort([c.shape[1] / max(c.shape[0], 1) for c in crops])
        for start in range(0, len(order), _BATCH):
            batch = [int(i) for i in order[start : start + _BATCH]]
            for index, read in zip(batch, self._recognize_batch([crops[i] for i in batch]), strict=True):
                reads[index] = read
        return [r for r in reads if r is not None]

    def _recognize_batch(self, crops: list[np.ndarray]) -> list[TextRead]:
        _, height, width = self._rec.rec_image_shape
        max_ratio = max([width / height] + [c.shape[1] / max(c.shape[0], 1) for c in crops])
        batch = np.stack([self._rec.resize_norm_img(c, max_ratio) for c in crops]).astype(np.float32)
        probs = self._rec.session(batch)
        return [self._decode(p) for p in probs]

    def _decode(self, probs: np.ndarray) -> TextRead:
        """Greedy CTC decoding that keeps each character's probability."""
        best = probs.argmax(axis=1)
        best_prob = probs.max(axis=1)
        keep = np.ones(len(best), dtype=bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != 0  # blank
        chars = [self._characters[i] for i in best[keep]]
        scores = tuple(round(float(p), 5) for p in best_prob[keep])
        text = "".join(chars)
        return TextRead(text=text, score=float(np.mean(scores)) if scores else 0.0, char_scores=scores)

    def read_region(self, image: np.ndarray) -> list[DetectedLine]:
        detected = self._ocr(image, use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(detected, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return []
        boxes = [np.asarray(b) for b in boxes]
        reads = self.recognize([_crop_box(image, b) for b in boxes])
        lines = []
        for box, read in zip(boxes, reads, strict=True):
            x0, y0 = box.min(axis=0)
            x1, y1 = box.max(axis=0)
            lines.append(DetectedLine(box=(float(x0), float(y0), float(x1), float(y1)), read=read))
        return lines


def _crop_box(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    x0, y0 = np.floor(box.min(axis=0)).astype(int)
    x1, y1 = np.ceil(box.max(axis=0)).astype(int)
    h, w = image.shape[:2]
    crop = image[max(y0, 0) : min(y1, h), max(x0, 0) : min(x1, w)]
    return crop if crop.size else np.full((8, 8, 3), 255, np.uint8)
