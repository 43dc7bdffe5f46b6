"""Report metadata: the reporting unit (填报单位) and the year, from the text above the table;
for 2019+ reports, the issuing body and the year from the report's title (`parse_title`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz

from worker.pipeline.ocr import DetectedLine, OcrEngine, box_span, read_detected, simplified
from worker.pipeline.preprocess import PreparedPage

# 填 may be read as its variant 塡, and 盖 or either bracket of (盖章) may be lost.
_UNIT_LINE = re.compile(r"[填塡]\s*报\s*单\s*位\s*(?:[(（]?\s*盖?\s*章\s*[)）]?)?\s*[:：]?\s*(.*)")
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


@dataclass(frozen=True)
class Metadata:
    unit_name: str | None
    year: int | None
    title_found: bool


def read_heading(page: PreparedPage, table_top: float, engine: OcrEngine) -> list[DetectedLine]:
    """Detect and read the text lines between the top of the page and the table."""
    bottom = int(min(max(table_top + page.dpi * 0.05, 0), page.gray.shape[0]))
    top = max(bottom - int(page.dpi * 2.2), 0)  # title, year and unit line sit just above
    if bottom - top < page.dpi * 0.1:
        return []
    if page.text_layer is not None:
        return page.text_layer.lines_in((0.0, float(top), float(page.gray.shape[1]), float(bottom)))
    region = np.ascontiguousarray(page.gray[top:bottom])
    lines = engine.read_region(np.dstack([region] * 3))
    return [
        DetectedLine(box=(x0, y0 + top, x1, y1 + top), read=line.read)
        for line in lines
        for (x0, y0, x1, y1) in [line.box]
    ]


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
    text_lines = [unicodedata.normalize("NFKC", t).strip() for t in _join_rows(_printed(lines))]
    unit_name = None
    year = None
    for index, text in enumerate(text_lines):
        m = _UNIT_LINE.search(text)
        if m and unit_name is None:
            name = _clean_unit_name(m.group(1))
            if not name and index + 1 < len(text_lines):  # the name was read as its own line
                name = _clean_unit_name(text_lines[index + 1])
            unit_name = name or None
        y = _YEAR.search(text) or _SHORT_YEAR.search(text)
        if y and year is None:
            year = int(y.group(1)) + (2000 if len(y.group(1)) == 2 else 0)
    if year is None:  # a title such as 2017年政府信息公开工作年度报告, never a fill-in date
        for text in (t for t in text_lines if "报告" in t or "统计" in t):
            y = _TITLE_YEAR.search(text)
            if y:
                year = int(y.group(1))
                break
    title_found = any("统计表" in t or "信息公开情况" in t for t in text_lines)
    return Metadata(unit_name=unit_name, year=year, title_found=title_found)


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


def _join_rows(lines: list[DetectedLine]) -> list[str]:
    """Texts of detected pieces that share a printed line, joined left to right."""
    rows = _rows([ln.box for ln in lines])
    return ["".join(p.read.text for p in sorted((lines[i] for i in row), key=lambda ln: ln.box[0])) for row in rows]


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
_ABOUT = re.compile(r"关\s*于$")  # 某局关于2010年度…报告: the body is before 关于
_TITLE_ROWS = 4  # the title is one of the first rows; it may wrap once


def read_title(page: PreparedPage, engine: OcrEngine) -> list[DetectedLine]:
    """Detect the text lines of the top of the first page, where the title is, and read
    those of its first `_TITLE_ROWS` rows (the only ones `parse_title` looks at; the body
    text below is long lines, slow to read)."""
    bottom = min(int(page.dpi * 3.0), page.gray.shape[0])
    if page.text_layer is not None:
        lines = page.text_layer.lines_in((0.0, 0.0, float(page.gray.shape[1]), float(bottom)))
        return [line for row in _rows([line.box for line in lines])[:_TITLE_ROWS] for line in (lines[i] for i in row)]
    region = np.dstack([np.ascontiguousarray(page.gray[:bottom])] * 3)
    boxes = engine.detect(region)
    first_rows = sorted(i for row in _rows([box_span(b) for b in boxes])[:_TITLE_ROWS] for i in row)
    return read_detected(engine, region, [boxes[i] for i in first_rows])


def parse_title(lines: list[DetectedLine]) -> Metadata:
    """Issuing body and year from a title such as 洪泽区人民政府2023年政府信息公开工作年度报告,
    printed on one line or wrapped (the body on the line above the year)."""
    rows = [simplified(unicodedata.normalize("NFKC", t)).strip() for t in _join_rows(lines)][:_TITLE_ROWS]
    for first in range(len(rows)):
        for last in range(first + 1, min(first + 2, len(rows)) + 1):
            joined = re.sub(r"\s+", "", "".join(rows[first:last]))
            match = _REPORT_TITLE.search(joined)
            if match:
                body = _strip_marks(_ABOUT.sub("", joined[: match.start()])) or None
                return Metadata(unit_name=body, year=int(match.group(1)), title_found=True)
    return Metadata(unit_name=None, year=None, title_found=False)


# A unit line may print the short form of the title's name (市审计局 for 余姚市审计局): it
# starts with the level of its place; a name whose first characters a seal took does not.
_SHORT_FORM = re.compile(r"^[省市县区]")
_SAME_NAME = 60  # rapidfuzz ratio: the title names the unit the seal damaged on the unit line


def with_title(heading: Metadata, title: Metadata) -> Metadata:
    """The heading's metadata, with the narrative title's unit name and year where the
    heading's are missing, and its name where the heading's is a damaged read of it (a
    seal over the unit line changes or drops characters; the title's large print has none)."""
    name = heading.unit_name
    if title.unit_name and (name is None or _mends(name, title.unit_name)):
        name = title.unit_name
    return Metadata(unit_name=name, year=heading.year or title.year, title_found=heading.title_found)


def _mends(read: str, title: str) -> bool:
    """Whether the title's name is what the unit line's damaged read stands for."""
    short_form = _SHORT_FORM.match(read) is not None and title.endswith(read)
    return fuzz.ratio(read, title) >= _SAME_NAME and not short_form
