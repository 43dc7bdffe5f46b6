"""Template detection: which statistics form a report carries, from a few header and label cells.

Only cheap text is read: the first rows of each ruled table (its header) and the first
column of the rows below. Each text votes for the form whose vocabulary it matches best:
GK2008's row labels, the 2019+ tables' headers and labels, and within those the phrases
that tell the 2019 trial form (本年新制作数量, 政府集中采购, ...) from the 2021 national
form (本年制发件数, 本年收费金额, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz

from models.catalogue import load_catalogue, split_marker
from worker.pipeline.mapping import normalize_label
from worker.pipeline.matrix import MatrixCell, MatrixTable

# Tables 三 and 四 and the row captions of table 二: the same in GK2019 and GK2021.
_SHARED_2019 = (
    "主动公开政府信息情况",
    "收到和处理政府信息公开申请情况",
    "本年新收政府信息公开申请数量",
    "上年结转政府信息公开申请数量",
    "本年度办理结果",
    "予以公开",
    "部分公开",
    "不予公开",
    "无法提供",
    "不予处理",
    "其他处理",
    "结转下年度继续办理",
    "申请人情况",
    "自然人",
    "法人或其他组织",
    "商业企业",
    "科研机构",
    "社会公益组织",
    "法律服务机构",
    "结果维持",
    "结果纠正",
    "其他结果",
    "尚未审结",
    "未经复议直接起诉",
    "复议后起诉",
    "第二十条第（一）项",
    "第二十条第（五）项",
    "第二十条第（六）项",
    "第二十条第（八）项",
    "信息内容",
    "行政许可",
    "行政处罚",
    "行政强制",
    "行政事业性收费",
)
_ONLY_2019 = (
    "规范性文件",
    "处理决定数量",
    "本年新制作数量",
    "本年新公开数量",
    "对外公开总数量",
    "上一年项目数量",
    "本年增/减",
    "其他对外管理服务事项",
    "第二十条第（九）项",
    "政府集中采购",
    "采购项目数量",
    "采购总金额",
)
_ONLY_2021 = ("本年制发件数", "本年废止件数", "现行有效件数", "本年处理决定数量", "本年收费金额", "行政规范性文件")
_MIN_SIMILARITY = 80
_MIN_VOTES = 3
_PROBE_BANDS = 3  # header rows read in full
_PROBE_LABELS = 12  # first-column cells read below them
_DECISIVE_VOTES = 12  # with this many votes and a clear winner, later pages need no probe
_DECISIVE_CONFIDENCE = 0.9


@dataclass(frozen=True)
class TemplateGuess:
    id: str  # GK2008, GK2019 or GK2021
    confidence: float  # share of the votes for the chosen form
    votes: dict[str, int]


def probe_cells(table: MatrixTable) -> list[MatrixCell]:
    """The cells detection reads: the header rows in full and the first column below."""
    chosen: dict[MatrixCell, None] = {}
    for band in range(min(table.bands, _PROBE_BANDS + _PROBE_LABELS)):
        cells = table.band_cells(band)
        for cell in cells if band < _PROBE_BANDS else cells[:1]:
            chosen[cell] = None
    return list(chosen)


@cache
def _vocabulary() -> dict[str, list[str]]:
    gk2008 = [split_marker(i.label)[2] for i in load_catalogue("GK2008").indicators]
    return {
        "GK2008": [normalize_label(t) for t in gk2008 if len(t) >= 4],
        "shared": [normalize_label(t) for t in _SHARED_2019],
        "GK2019": [normalize_label(t) for t in _ONLY_2019],
        "GK2021": [normalize_label(t) for t in _ONLY_2021],
    }


def _score(text: str, phrase: str) -> float:
    """Similarity of a cell text to a phrase. A phrase of six characters or more inside a
    slightly longer text counts a little less than the same text; a shorter one (规范性文件,
    inside 行政规范性文件 and 制发规范性文件总数) is too common a fragment to count that way."""
    if text == phrase:
        return 100.0
    if len(phrase) >= 6 and phrase in text and len(text) <= len(phrase) + 8:
        return 95.0
    return fuzz.ratio(text, phrase)


def is_form_text(raw: str) -> bool:
    """True when a cell's text is one of the forms' phrases (it would vote)."""
    text = split_marker(normalize_label(raw))[2]
    return len(text) >= 2 and any(_score(text, p) >= _MIN_SIMILARITY for ps in _vocabulary().values() for p in ps)


def detect_template(texts: list[str]) -> TemplateGuess | None:
    """The form the texts belong to, or None when too few of them are recognisable."""
    vocabulary = _vocabulary()
    votes = dict.fromkeys(vocabulary, 0)
    for raw in texts:
        text = split_marker(normalize_label(raw))[2]
        if len(text) < 2:
            continue
        best = max(((max(_score(text, p) for p in phrases), group) for group, phrases in vocabulary.items()))
        if best[0] >= _MIN_SIMILARITY:
            votes[best[1]] += 1
    family_2019 = votes["shared"] + votes["GK2019"] + votes["GK2021"]
    total = family_2019 + votes["GK2008"]
    if total < _MIN_VOTES:
        return None
    if votes["GK2008"] > family_2019:
        return TemplateGuess("GK2008", round(votes["GK2008"] / total, 3), votes)
    chosen = "GK2019" if votes["GK2019"] > votes["GK2021"] else "GK2021"
    specific = votes["GK2019"] + votes["GK2021"]
    # The family share, times how clearly the form-specific phrases pick one form.
    clarity = (votes[chosen] / specific) if specific else 0.5
    return TemplateGuess(chosen, round(family_2019 / total * clarity, 3), votes)


def is_decided(guess: TemplateGuess | None) -> bool:
    """True when enough text was seen to stop probing further pages."""
    return (
        guess is not None and sum(guess.votes.values()) >= _DECISIVE_VOTES and guess.confidence >= _DECISIVE_CONFIDENCE
    )
