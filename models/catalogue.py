"""Indicator catalogues: the standard rows of each statistics-table template.

A catalogue is read from `models/catalogues/<id>-indicators.csv` (the spec's files, copied
verbatim) plus `<id>-rules.csv` (the arithmetic the printed numbers should satisfy).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

# The numbering that opens a label, in the order they nest: 一、 （一） 1. 其中：
_MARKERS: list[tuple[str, re.Pattern[str]]] = [
    ("section", re.compile(r"^[一二三四五六七八九十]+、")),
    ("item", re.compile(r"^[（(][一二三四五六七八九十]+[）)]")),
    ("sub", re.compile(r"^\d+[.．、]")),
    ("of_which", re.compile(r"^其中[：:]")),
]

MarkerKind = Literal["section", "item", "sub", "of_which", "none"]


def split_marker(label: str) -> tuple[MarkerKind, str, str]:
    """Split a label into (marker kind, marker text, rest): '1.当面申请数' → ('sub', '1.', '当面申请数')."""
    label = label.strip()
    for kind, pattern in _MARKERS:
        m = pattern.match(label)
        if m:
            return kind, m.group(0), label[m.end() :].strip()  # type: ignore[return-value]
    return "none", "", label


@dataclass(frozen=True)
class Indicator:
    code: str
    parent: str | None
    label: str
    unit: str
    index: int  # position in the catalogue (table order)
    marker_kind: MarkerKind
    marker: str
    text: str  # the label without its numbering, for fuzzy matching

    @property
    def is_heading(self) -> bool:
        """A heading row whose unit is a dash: its value cell is often left blank."""
        return self.unit in {"——", "—", "-"}


@dataclass(frozen=True)
class Rule:
    kind: Literal["sum", "le"]
    target: str
    terms: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Catalogue:
    id: str
    indicators: tuple[Indicator, ...]
    rules: tuple[Rule, ...]

    def __len__(self) -> int:
        return len(self.indicators)

    @property
    def codes(self) -> list[str]:
        return [i.code for i in self.indicators]


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("models.catalogues").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def load_catalogue(catalogue_id: str = "GK2008") -> Catalogue:
    stem = catalogue_id.lower()
    indicators = []
    for index, row in enumerate(_read_csv(f"{stem}-indicators.csv")):
        kind, marker, text = split_marker(row["label"])
        indicators.append(
            Indicator(
                code=row["code"],
                parent=row["parent"] or None,
                label=row["label"],
                unit=row["unit"],
                index=index,
                marker_kind=kind,
                marker=marker,
                text=text,
            )
        )
    rules = tuple(
        Rule(kind=r["kind"], target=r["target"], terms=tuple(r["terms"].split()), note=r["note"])  # type: ignore[arg-type]
        for r in _read_csv(f"{stem}-rules.csv")
    )
    return Catalogue(id=catalogue_id, indicators=tuple(indicators), rules=rules)
