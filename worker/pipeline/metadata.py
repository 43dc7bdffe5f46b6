"""Report metadata: the reporting unit (填报单位) and the year, from the text above the table;
for 2019+ reports, the issuing body and the year from the report's title (`parse_title`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from worker.pipeline.ocr import DetectedLine, OcrEngine, box_span, read_detected, simplified
from worker.pipeline.preprocess import PreparedPage, Seal
from worker.pipeline.seal_lettering import read_lettering

# 填 may be read as its variant 塡, and 盖 or either bracket of (盖章) may be lost, or 盖 read as
# another character where a colon follows (美章):): no name starts so.
_UNIT_LINE = re.compile(
    r"[填塡]\s*报\s*单\s*位\s*(?:[(（]?\s*盖?\s*章\s*[)）]?|[(（]?\s*[^:：\s]\s*章\s*[)）]?(?=\s*[:：]))?\s*[:：]?\s*(.*)"
)
# 县 read as 具: a county's name (象山县) has 县 after its first two or three characters,
# where 具 only follows the first character of a word such as 家具 or 工具.
_COUNTY = re.compile(r"^(\w{2,3}?)(?<![家工玩文农器用道餐茶刀量模灯洁])具")
_MIN_PIECE_SCORE = 0.5  # below this a detected piece is a seal's remnant, not print
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年\s*度")
# The year line with its century lost under a seal: (2016年度) read as 16年度).
_SHORT_YEAR = re.compile(r"^[(（]?\s*(\d{2})\s*年\s*度\s*[)）]$")
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_TRAILING_DATE = re.compile(r"\s*(?:填\s*报\s*(?:日\s*期|时\s*间).*|(?:19|20)\d{2}\s*年.*|\d{4}[-./]\d{1,2}.*)$")
TABLE_TITLE = "政府信息公开情况统计表"


Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Metadata:
    """What was read of the unit name and year, with the evidence `report_trust` weighs."""

    unit_name: str | None
    year: int | None
    title_found: bool
    unit_score: float = 1.0  # OCR score of the weakest piece the name was read from
    year_score: float = 1.0
    unit_box: Box | None = None  # where the name was read, to tell whether a seal lies over it
    year_box: Box | None = None
    year_short: bool = False  # printed without its century: (16年度), a seal took 20
    unit_sealed: bool = False  # a seal lies over the name as printed
    year_sealed: bool = False
    # What the seals over the name print round their tops (their unit's name), read; None: not read.
    seal_names: tuple[str, ...] | None = None
    # The year printed a second time, read as evidence: a value column's header (FJ2009's
    # 2009年度), or, where a seal lies over a title's year, the body's opening below it.
    second_year: int | None = None
    title: Metadata | None = None  # the narrative's title, read as evidence for the heading's


@dataclass(frozen=True)
class _Row:
    """The detected pieces of one printed line, joined left to right."""

    text: str
    score: float  # the weakest piece's
    box: Box
    char_scores: tuple[float, ...] = ()  # each character's, where the pieces' reads give them

    def year_score(self) -> float:
        """How surely the year was read: its characters' mean score (the row's digits, 年 and
        度), not the brackets' around them (（2008年度) with a faint bracket); the row's score
        where its reads give no score per character."""
        if len(self.char_scores) != len(self.text):
            return self.score
        scores = [p for ch, p in zip(self.text, self.char_scores, strict=True) if _year_character(ch)]
        return float(np.mean(scores)) if scores else self.score


def _year_character(character: str) -> bool:
    return unicodedata.normalize("NFKC", character) in _YEAR_CHARACTERS


_YEAR_CHARACTERS = frozenset("0123456789年度")


def heading_band(page: PreparedPage, table_top: float) -> Box:
    """Where a table's heading is printed: the title, year and unit line sit just above it."""
    bottom = int(min(max(table_top + page.dpi * 0.05, 0), page.gray.shape[0]))
    return (0.0, float(max(bottom - int(page.dpi * 2.2), 0)), float(page.gray.shape[1]), float(bottom))


def title_band(page: PreparedPage) -> Box:
    """Where a report's title is printed: the top of its first page, three inches down from
    its first print (a phone photo's desk above the sheet holds none: its ink is masked, and
    the title can lie more than three inches below the picture's top)."""
    counts = np.count_nonzero(page.ink, axis=1)
    printed = np.flatnonzero(counts >= page.dpi * _PRINTED_ROW_INCH)
    top = max(int(printed[0]) - round(page.dpi * _ABOVE_PRINT_INCH), 0) if len(printed) else 0
    bottom = min(top + int(page.dpi * _TITLE_BAND_INCH), page.gray.shape[0])
    return (0.0, float(top), float(page.gray.shape[1]), float(bottom))


def read_heading(page: PreparedPage, table_top: float, engine: OcrEngine) -> list[DetectedLine]:
    """Detect and read the text lines between the top of the page and the table."""
    _, band_top, _, band_bottom = heading_band(page, table_top)
    top, bottom = int(band_top), int(band_bottom)
    if bottom - top < page.dpi * 0.1:
        return []
    return read_band(page, top, bottom, engine)


def read_band(page: PreparedPage, top: int, bottom: int, engine: OcrEngine) -> list[DetectedLine]:
    """Detect and read the text lines across the page between `top` and `bottom`."""
    if page.text_layer is not None:
        return page.text_layer.lines_in((0.0, float(top), float(page.gray.shape[1]), float(bottom)))
    region = np.ascontiguousarray(page.gray[top:bottom])
    lines = engine.read_region(np.dstack([region] * 3))
    return [_moved_down(line, top) for line in lines]


def read_year_under_title(page: PreparedPage, lines: list[DetectedLine], engine: OcrEngine) -> int | None:
    """The year line (2009年度) below the table's title, read without detection: where a
    seal lies over it the detector may find no line there at all."""
    titles = [ln for ln in lines if "统计表" in ln.read.text]
    if not titles:
        return None
    x0, _, x1, bottom = titles[0].box
    below = [ln.box[1] for ln in lines if ln.box[1] > bottom + 2]
    lower = min([*below, bottom + 1.5 * (bottom - titles[0].box[1])])
    crop = page.gray[int(bottom) : int(lower), int(x0) : int(x1)]
    if crop.shape[0] < 8 or crop.shape[1] < 8:
        return None
    if page.text_layer is not None:
        text = page.text_layer.read((x0, bottom, x1, lower)).text
    else:
        text = engine.recognize([np.dstack([crop] * 3)])[0].text
    year = _YEAR.search(unicodedata.normalize("NFKC", text))
    return int(year.group(1)) if year else None


def parse_heading(lines: list[DetectedLine]) -> Metadata:
    """Unit name and year from the heading lines, read top to bottom, left to right."""
    read = _joined_rows(_printed(lines))
    rows = [replace(row, text=unicodedata.normalize("NFKC", row.text).strip()) for row in read]
    unit: tuple[str, float, Box] | None = None
    year: tuple[int, float, Box, bool] | None = None
    for index, row in enumerate(rows):
        m = _UNIT_LINE.search(row.text)
        if m and unit is None:
            name = _clean_unit_name(m.group(1))
            if name:
                unit = (name, row.score, _part_box(row, m.start(1)))
            elif index + 1 < len(rows) and (name := _clean_unit_name(rows[index + 1].text)):
                unit = (name, rows[index + 1].score, rows[index + 1].box)  # the name was read as its own line
        y = _YEAR.search(row.text) or _SHORT_YEAR.search(row.text)
        if y and year is None:
            short = len(y.group(1)) == 2
            year = (int(y.group(1)) + (2000 if short else 0), read[index].year_score(), row.box, short)
    if year is None:  # a title such as 2017年政府信息公开工作年度报告, never a fill-in date
        for row in (r for r in rows if "报告" in r.text or "统计" in r.text):
            y = _TITLE_YEAR.search(row.text)
            if y:
                year = (int(y.group(1)), row.score, row.box, False)
                break
    title_found = any("统计表" in r.text or "信息公开情况" in r.text for r in rows)
    metadata = Metadata(unit_name=None, year=None, title_found=title_found)
    if unit is not None:
        metadata = replace(metadata, unit_name=unit[0], unit_score=unit[1], unit_box=unit[2])
    if year is not None:
        metadata = replace(metadata, year=year[0], year_score=year[1], year_box=year[2], year_short=year[3])
    return metadata


def _part_box(row: _Row, start: int, end: int | None = None) -> Box:
    """The part of the row's box its characters `start` to `end` (the row's end: None) were
    printed in, in proportion to the characters before them."""
    x0, y0, x1, y1 = row.box
    count = max(len(row.text), 1)
    right = x1 if end is None else x0 + (x1 - x0) * end / count
    return (x0 + (x1 - x0) * start / count, y0, right, y1)


def sealed_over(box: Box | None, seals: tuple[Box, ...] | list[Box]) -> bool:
    """Whether a seal (its box: a disc's bounding square) reaches into the box."""
    if box is None:
        return False
    x0, y0, x1, y1 = box
    for sx0, sy0, sx1, sy1 in seals:
        cx, cy, radius = (sx0 + sx1) / 2, (sy0 + sy1) / 2, min(sx1 - sx0, sy1 - sy0) / 2
        nearest_x, nearest_y = min(max(cx, x0), x1), min(max(cy, y0), y1)
        if (nearest_x - cx) ** 2 + (nearest_y - cy) ** 2 < (0.9 * radius) ** 2:
            return True
    return False


_YEAR_IN_BRACKETS = re.compile(r"[(（]\s*(?:19|20)\d{2}\s*年\s*度?\s*[)）]")


def _clean_unit_name(text: str) -> str:
    """The name without the (2013年度) of a neighbouring line read into it, a fill-in date,
    or brackets, colons and other marks left at its ends."""
    text = _TRAILING_DATE.sub("", _YEAR_IN_BRACKETS.sub("", simplified(text)))
    return _COUNTY.sub(r"\1县", _strip_marks(text))


def _strip_marks(text: str) -> str:
    """Without the punctuation, symbols and spaces at its ends: no name starts or ends so."""
    keep = [not (unicodedata.category(ch)[0] in "PSZ" or ch.isspace()) for ch in text]
    if not any(keep):
        return ""
    first, last = keep.index(True), len(keep) - keep[::-1].index(True)
    return text[first:last]


def _printed(lines: list[DetectedLine]) -> list[DetectedLine]:
    """The heading's pieces of print, without a seal's: those read with low confidence or
    far taller than the print (a seal's ring read as one piece would join three lines)."""
    heights = [ln.box[3] - ln.box[1] for ln in lines if ln.read.text.strip()]
    tallest = 2 * float(np.median(heights)) if heights else 0.0
    return [
        ln
        for ln in lines
        if ln.read.text.strip() and ln.read.score >= _MIN_PIECE_SCORE and ln.box[3] - ln.box[1] <= tallest
    ]


def _joined_rows(lines: list[DetectedLine]) -> list[_Row]:
    """The detected pieces that share a printed line, joined left to right."""
    joined = []
    for row in _rows([ln.box for ln in lines]):
        pieces = sorted((lines[i] for i in row), key=lambda ln: ln.box[0])
        box = (
            min(p.box[0] for p in pieces),
            min(p.box[1] for p in pieces),
            max(p.box[2] for p in pieces),
            max(p.box[3] for p in pieces),
        )
        text, scores = "".join(p.read.text for p in pieces), sum((p.read.char_scores for p in pieces), ())
        joined.append(_Row(text, min(p.read.score for p in pieces), box, scores))
    return joined


def _rows(boxes: list[tuple[float, float, float, float]]) -> list[list[int]]:
    """Indices of the boxes (x0, y0, x1, y1) that share a printed line, top line first: a
    box joins a line when its middle is within half a height of the line's first box's."""
    rows: list[list[int]] = []
    for index in sorted(range(len(boxes)), key=lambda i: (boxes[i][1] + boxes[i][3]) / 2):
        _, y0, _, y1 = boxes[index]
        if rows:
            first = boxes[rows[-1][0]]
            if abs((y0 + y1) / 2 - (first[1] + first[3]) / 2) < 0.5 * (first[3] - first[1]):
                rows[-1].append(index)
                continue
        rows.append([index])
    return rows


# -- 2019+ reports: the issuing body and the year are in the report's title ------------------

# 2019+: …2023年政府信息公开工作年度报告; the old form's narrative: …(关于)2014年度政府信息公开
# 工作总结 / 工作情况的报告 / 工作报告.
_REPORT_TITLE = re.compile(
    r"((?:19|20)\d{2})\s*年\s*度?\s*(?:政\s*府\s*)?信\s*息\s*公\s*开\s*工\s*作"
    r"\s*(?:年\s*度\s*报\s*告|情\s*况\s*的?\s*报\s*告|报\s*告|总\s*结)"
)
_BODY_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_BODY_ROWS = 3  # the body's opening sentence, in its first rows below the title, names the year
_ABOUT = re.compile(r"关\s*于$")  # 某局关于2010年度…报告: the body is before 关于
_TITLE_ROWS = 4  # the title is one of the first rows; it may wrap once
_TITLE_BAND_INCH = 3.0  # the band read for the title, from the page's first print down
_ABOVE_PRINT_INCH = 0.2  # paper kept above that print (a line's top strokes are few)
_PRINTED_ROW_INCH = 0.1  # a row holding this much ink is print, not a speck


def read_title(page: PreparedPage, engine: OcrEngine) -> list[DetectedLine]:
    """Detect the text lines of the top of the first page, where the title is, and read
    those of its first `_TITLE_ROWS` rows (the only ones `parse_title` looks at; the body
    text below is long lines, slow to read)."""
    band = title_band(page)
    bottom = int(band[3])
    if page.text_layer is not None:
        lines = page.text_layer.lines_in(band)
        return [line for row in _rows([line.box for line in lines])[:_TITLE_ROWS] for line in (lines[i] for i in row)]
    top = int(band[1])
    region = np.dstack([np.ascontiguousarray(page.gray[top:bottom])] * 3)
    boxes = engine.detect(region)
    rows = _rows([box_span(b) for b in boxes])[:_TITLE_ROWS]
    lines: list[DetectedLine] = []
    # Most titles are in the first two rows, and `parse_title` finds them there before it
    # looks further: the rows below (often long lines of the body) are read only if not.
    for some in (rows[:2], rows[2:]):
        found = read_detected(engine, region, [boxes[i] for i in sorted(i for row in some for i in row)])
        lines += [_moved_down(line, top) for line in found]
        if parse_title(lines).title_found:
            break
    return lines


def _moved_down(line: DetectedLine, top: int) -> DetectedLine:
    """A line read in a band of the page, in the page's pixels."""
    x0, y0, x1, y1 = line.box
    return DetectedLine((x0, y0 + top, x1, y1 + top), line.read)


def parse_title(lines: list[DetectedLine]) -> Metadata:
    """Issuing body and year from a title such as 洪泽区人民政府2023年政府信息公开工作年度报告,
    printed on one line or wrapped (the body on the line above the year)."""
    # A row of a character or two read unsure is a seal's remnant or a speck, not a title's
    # line: between the body's line and the year's it would keep them apart.
    read_rows = [row for row in _joined_rows(lines)[:_TITLE_ROWS] if len(row.text) > 2 or row.score >= 0.5]
    rows = [simplified(unicodedata.normalize("NFKC", row.text)).strip() for row in read_rows]
    for first in range(len(rows)):
        for last in range(first + 1, min(first + 2, len(rows)) + 1):
            joined = re.sub(r"\s+", "", "".join(rows[first:last]))
            match = _REPORT_TITLE.search(joined)
            if match:
                body = _strip_marks(_ABOUT.sub("", joined[: match.start()])) or None
                score = min(row.score for row in read_rows[first:last])
                box = _union([row.box for row in read_rows[first:last]])
                return Metadata(
                    body,
                    int(match.group(1)),
                    title_found=True,
                    unit_score=score,
                    year_score=score,
                    unit_box=box if body else None,
                    year_box=box,
                )
    return Metadata(unit_name=None, year=None, title_found=False)


def with_body_year(metadata: Metadata, page: PreparedPage, engine: OcrEngine) -> Metadata:
    """A title's year under a seal, with the year the body's opening names below it
    (2019年，本机关…; 统计期限自2019年1月1日起…) as evidence (`second_year`): read only then,
    from the first rows below the title that no seal lies over."""
    if not metadata.year_sealed or metadata.year_box is None or metadata.second_year is not None:
        return metadata
    seals = [seal.box for seal in page.seals]
    top = int(metadata.year_box[3])
    lines = read_band(page, top, min(top + int(page.dpi * 1.5), page.gray.shape[0]), engine)
    for row in _joined_rows(_printed(lines))[:_BODY_ROWS]:
        text = unicodedata.normalize("NFKC", row.text)
        found = _BODY_YEAR.search(text)
        if found and not sealed_over(_part_box(replace(row, text=text), *found.span(1)), seals):
            return replace(metadata, second_year=int(found.group(1)))
    return metadata


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def with_seals(metadata: Metadata, seals: Sequence[Seal], engine: OcrEngine) -> Metadata:
    """The metadata with the seals over where its unit name and year were read recorded, and
    the names the seals over the unit name print read (`report_trust` reviews a sealed read
    unless another source corroborates it: the title, the seal's own lettering)."""
    over_name = [seal for seal in seals if sealed_over(metadata.unit_box, [seal.box])]
    names = metadata.seal_names
    if names is None and over_name:
        names = tuple(read_lettering(seal, engine) for seal in over_name)
    return replace(
        metadata,
        unit_sealed=metadata.unit_sealed or bool(over_name),
        year_sealed=metadata.year_sealed or sealed_over(metadata.year_box, [seal.box for seal in seals]),
        seal_names=names,
    )


def with_title(heading: Metadata, title: Metadata) -> Metadata:
    """The heading's metadata with the narrative title's read beside it, as evidence: which
    name and year the report gets, and how sure it is, is `report_trust.decide_report`'s."""
    return replace(heading, title=title if title.title_found else None)


def unit_line_metadata(page: PreparedPage, top: float, title_page: PreparedPage | None, engine: OcrEngine) -> Metadata:
    """The unit and year of a form whose table has a 填报单位 line above it (`top`, on `page`):
    from that heading, with the narrative's title on `title_page` (None: the tables start the
    document) read as evidence. Always, not only where a seal lies over the heading: a clear
    unit line still misreads a character of a long name (建设局 as 建毅局) with a high score,
    and the title's large print tells."""
    lines = read_heading(page, top, engine)
    heading = with_seals(parse_heading(lines), page.seals, engine)
    sealed = any(seal.box[1] < top for seal in page.seals)
    if heading.year is None:  # a year line the detector missed, most often under a seal
        heading = replace(heading, year=read_year_under_title(page, lines, engine), year_sealed=sealed)
    if title_page is None:
        return heading
    return with_title(heading, parse_title(read_title(title_page, engine)))


def with_column_year(metadata: Metadata, headers: list[tuple[Box, str, float]]) -> Metadata:
    """The year a table header prints (FJ2009's value column: 2009年度), from (box, text,
    score) of the header cells read: a heading without a year line takes it, one with a year
    line has it as a second print of its year (`second_year`)."""
    for box, text, score in headers:
        found = _YEAR.search(unicodedata.normalize("NFKC", text))
        if found and metadata.year is None:
            return replace(metadata, year=int(found.group(1)), year_score=score, year_box=box)
        if found:
            return replace(metadata, second_year=int(found.group(1)))
    return metadata
