"""A round official seal's lettering: the unit's full name, printed round the seal's top.

A 公章 carries the name of the unit it belongs to in an arc above its star. Stamped over the
填报单位 line, it hides the name printed there, and it prints the name again itself: read
alone, unrolled into a straight line, it is a second, independent read of the name
(`report_trust` takes it as corroboration when it agrees exactly).
"""

from __future__ import annotations

import math
import unicodedata

import cv2
import numpy as np

from worker.pipeline.ocr import OcrEngine, simplified
from worker.pipeline.preprocess import Seal

# The lettering lies between these fractions of the seal's radius: inside the ring, outside the star.
_BAND = (0.5, 0.92)
# The arc unrolled, in degrees clockwise from the seal's right (image y points down): all but
# the bottom, where a seal may print its number; the name is centred on the top (270°).
_ARC = (130, 410)


def unrolled(lettering: np.ndarray) -> np.ndarray:
    """The seal's lettering band as one straight line of dark print on white, left to right,
    the characters' tops up (each character stands on the radius through it)."""
    height, width = lettering.shape
    radius = max(height, width) / 2
    angles = max(int(2 * math.pi * radius * 0.75), 8)  # a pixel per pixel of arc at mid-band
    polar = cv2.warpPolar(
        lettering, (int(radius), angles), (width / 2, height / 2), radius, cv2.WARP_POLAR_LINEAR | cv2.INTER_LINEAR
    )  # rows: angle, clockwise from the right; columns: distance from the centre
    band = polar[:, int(_BAND[0] * radius) : int(_BAND[1] * radius)]
    band = np.concatenate([band, band])[angles * _ARC[0] // 360 : angles * _ARC[1] // 360]
    line = band.T[::-1].astype(np.float32)  # angle along, the outer edge on top
    strongest = max(float(np.percentile(line, 99)), 1.0)  # a pale seal's ink as dark as a strong one's
    return (255 - np.clip(line * (255 / strongest), 0, 255)).astype(np.uint8)


def read_lettering(seal: Seal, engine: OcrEngine) -> str:
    """The name the seal prints, its Chinese characters only (a digit or mark of the print
    crossing the band, or of the seal's number, is not part of a name); "" when unread."""
    if seal.lettering is None or min(seal.lettering.shape) < 16:
        return ""
    line = unrolled(seal.lettering)
    text = engine.recognize([np.dstack([line] * 3)])[0].text
    return "".join(ch for ch in simplified(text) if unicodedata.category(ch) == "Lo")
