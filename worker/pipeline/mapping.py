"""Mapping stage: recognised rows → catalogue codes, by order as well as by text.

Rows are aligned to the catalogue with a global sequence alignment (the table's order is
the catalogue's order), scored by fuzzy label similarity (rapidfuzz), agreement of the
numbering (一、（一）1. 其中) and of the unit. A row that OCR garbled still lands on the
right code when its neighbours are sure, a missing row leaves its code unmatched instead
of shifting every value below it, and an extra row (a repeated header, a stray line) is
skipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz

from models.catalogue import Catalogue, Indicator, split_marker
from worker.pipeline.ocr import simplified
from worker.pipeline.rows import TableRow

_SKIP_ROW = -0.35  # an extra row (header, stray line) costs this much
_SKIP_CODE = -0.30  # a catalogue row that is not in the table
# A read this close to a label maps without lowering a field's confidence much (route
# scales it by the label similarity): a squeezed first read that close is kept.
SURE_LABEL = 0.9


@dataclass(frozen=True)
class RowMatch:
    indicator: Indicator
    row: TableRow | None
    similarity: float  # label similarity in [0, 1]; 0 when unmatched; sure where placed (`_placed`)


@lru_cache(maxsize=1 << 16)  # a pure function, called for every label pair the alignment scores
def normalize_label(text: str) -> str:
    """Compare labels without the noise of width, spacing, bracket style and traditional characters."""
    text = simplified(unicodedata.normalize("NFKC", text))
    text = re.sub(r"\s+", "", text)
    return text.replace("【", "[").replace("】", "]").replace("：", ":")


def normalize_unit(text: str) -> str:
    text = normalize_label(text)
    return "—" if text and set(text) <= set("—―─-_一~") else text


def is_header_row(row: TableRow) -> bool:
    label = normalize_label(row.label.text)
    value = normalize_label(row.value.text)
    return (fuzz.ratio(label, "统计指标") >= 70 and len(label) <= 6) or value in {"统计数", "数"}


@lru_cache(maxsize=1 << 16)  # pure; the alignments score every read label against every row, page after page
def label_similarity(read: str, indicator: Indicator) -> float:
    """Similarity of a read label to an indicator's label, in [0, 1]."""
    read_norm, marker, rest = _read_parts(read)
    if not read_norm:
        return 0.0
    wordings, indicator_marker = _indicator_parts(indicator)
    similarity = max(_wording_similarity(read_norm, rest, label, text) for label, text in wordings)
    if marker is not None and indicator_marker is not None and marker == indicator_marker:
        similarity = min(1.0, similarity + 0.05)
    return similarity


# Both are pure and asked for every (read, indicator) pair the alignment scores: a read's
# parts and an indicator's normalized wordings are worked out once.
@lru_cache(maxsize=1 << 14)
def _read_parts(read: str) -> tuple[str, str | None, str]:
    """The read normalized, its numbering (normalized, without its last character: 一、 and
    一. are one marker; None when it has none) and the rest."""
    read_norm = normalize_label(read)
    _, marker, rest = split_marker(read_norm)
    return read_norm, normalize_label(marker)[:-1] if marker else None, rest


@lru_cache(maxsize=4096)
def _indicator_parts(indicator: Indicator) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """An indicator's wordings (label, text without numbering), normalized, and its numbering
    as `_read_parts` gives it (None when it has none)."""
    wordings = [(indicator.label, indicator.text), *((a, split_marker(a)[2]) for a in indicator.alternates)]
    marker = normalize_label(indicator.marker)[:-1] if indicator.marker else None
    return tuple((normalize_label(label), normalize_label(text)) for label, text in wordings), marker


def _wording_similarity(read: str, rest: str, label: str, text: str) -> float:
    """`read` against a normalized label in full, and `rest` (the read without its numbering)
    against the label's `text` without numbering (a little less: the numbering says something too)."""
    full = fuzz.ratio(read, label) / 100
    return max(full, fuzz.ratio(rest, text) / 100 * 0.95)


def is_catalogue_label(read: str, catalogue: Catalogue, aliases: Mapping[str, str] | None = None) -> bool:
    """True when a read label is close to one of the catalogue's labels (or is a spelling
    reviewers accepted): a read good enough to map by."""
    if aliases and normalize_label(read) in aliases:
        return True
    return any(label_similarity(read, indicator) >= SURE_LABEL for indicator in catalogue.indicators)


def _gain(row: TableRow, indicator: Indicator, aliases: Mapping[str, str]) -> tuple[float, float]:
    if aliases.get(normalize_label(row.label.text)) == indicator.code:
        similarity = 1.0  # a reviewer accepted this spelling for this code before
    else:
        similarity = label_similarity(row.label.text, indicator)
    gain = similarity - 0.5
    unit = normalize_unit(row.unit.text)
    if unit and unit == normalize_unit(indicator.unit):
        gain += 0.1
    return gain, similarity


def map_rows(rows: list[TableRow], catalogue: Catalogue, aliases: Mapping[str, str] | None = None) -> list[RowMatch]:
    """One RowMatch per catalogue indicator, in catalogue order. `aliases`: normalized
    label as read → code, learnt from review (models.aliases)."""
    rows = [r for r in rows if not is_header_row(r)]
    indicators = catalogue.indicators
    n, m = len(rows), len(indicators)
    gains = np.zeros((n, m))
    sims = np.zeros((n, m))
    for i, row in enumerate(rows):
        for j, indicator in enumerate(indicators):
            gains[i, j], sims[i, j] = _gain(row, indicator, aliases or {})
    pairs = align(gains, _SKIP_ROW, np.full(m, _SKIP_CODE))
    placed = _placed(pairs, sims, [normalize_unit(r.unit.text) for r in rows], indicators)
    matched = {j: (rows[i], max(float(sims[i, j]), SURE_LABEL if j in placed else 0.0)) for j, i in pairs.items()}
    return [
        RowMatch(indicator=ind, row=matched[k][0], similarity=matched[k][1])
        if k in matched
        else RowMatch(indicator=ind, row=None, similarity=0.0)
        for k, ind in enumerate(indicators)
    ]


def _placed(pairs: dict[int, int], sims: np.ndarray, units: list[str], indicators: tuple[Indicator, ...]) -> set[int]:
    """Codes whose row is placed by its neighbours whatever its label read: the codes
    before and after it went to the rows just before and after it, both with labels read
    for sure, so one row lies in a gap of one code (a long two-line label read as a jumble,
    a label cell read empty). Not where the row's unit reads as another unit."""
    placed = set()
    for slot, row in pairs.items():
        before, after = pairs.get(slot - 1), pairs.get(slot + 1)
        if sims[row, slot] >= SURE_LABEL or before != row - 1 or after != row + 1:
            continue
        neighbours_sure = sims[before, slot - 1] >= SURE_LABEL and sims[after, slot + 1] >= SURE_LABEL
        if neighbours_sure and units[row] in ("", normalize_unit(indicators[slot].unit)):
            placed.add(slot)
    return placed


def align(gains: np.ndarray, skip_item: float, skip_slot: np.ndarray) -> dict[int, int]:
    """Global sequence alignment of items (rows read, in print order) to slots (catalogue
    rows, in catalogue order): slot index → item index, maximising the summed gain of
    matched pairs less the costs of skipped items and of skipped slots (per slot)."""
    n, m = gains.shape
    # Python floats and lists: the recurrence visits every cell one by one, where numpy's
    # per-element indexing and argmax cost more than the arithmetic (same float64 sums).
    gain, skip_slots = gains.tolist(), [float(v) for v in skip_slot]
    skip_item = float(skip_item)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]  # 0 match, 1 skip item, 2 skip slot
    for i in range(1, n + 1):
        score[i][0], move[i][0] = skip_item * i, 1
    for j in range(1, m + 1):
        score[0][j], move[0][j] = score[0][j - 1] + skip_slots[j - 1], 2
    for i in range(1, n + 1):
        above, row, gain_row, moves = score[i - 1], score[i], gain[i - 1], move[i]
        for j in range(1, m + 1):
            match, skip_row, skip_code = (
                above[j - 1] + gain_row[j - 1],
                above[j] + skip_item,
                row[j - 1] + skip_slots[j - 1],
            )
            if match >= skip_row and match >= skip_code:  # the first best, as argmax takes it
                row[j], moves[j] = match, 0
            elif skip_row >= skip_code:
                row[j], moves[j] = skip_row, 1
            else:
                row[j], moves[j] = skip_code, 2
    matched: dict[int, int] = {}
    i, j = n, m
    while i > 0 or j > 0:
        if move[i][j] == 0:
            matched[j - 1] = i - 1
            i, j = i - 1, j - 1
        elif move[i][j] == 1:
            i -= 1
        else:
            j -= 1
    return matched
