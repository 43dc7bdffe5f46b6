"""Indicator catalogues: the standard rows of each statistics-table template.

A catalogue is read from a template's folder (`models/templates/<id>/`, see `models.template`):
`indicators.csv` (the spec's files, copied verbatim), `rules.csv` (the arithmetic the printed
numbers should satisfy) and, for a matrix form, `variants.csv` (rows some reports print
instead of others).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

# The numbering that opens a label, in the order they nest: 一、 （一） 1. 其中：
_MARKERS: list[tuple[str, re.Pattern[str]]] = [
    ("section", re.compile(r"^[一二三四五六七八九十]+、")),
    ("item", re.compile(r"^[（(][一二三四五六七八九十]+[）)]")),
    ("sub", re.compile(r"^\d+[.．、]")),
    ("of_which", re.compile(r"^其中[：:]")),
]

MarkerKind = Literal["section", "item", "sub", "of_which", "none"]


@lru_cache(maxsize=1 << 16)  # pure; label matching splits the same few hundred labels again and again
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
    alternates: tuple[str, ...] = ()  # other wordings reports print for this row

    @property
    def is_heading(self) -> bool:
        """A heading row whose unit is a dash: its value cell is often left blank."""
        return self.unit in {"——", "—", "-"}


@dataclass(frozen=True)
class Rule:
    """`sum`: target = Σ terms; `sum_le`: Σ terms ≤ target (其中 rows that need not add up);
    `le`: each term ≤ target. A term written `-CODE` is subtracted."""

    kind: Literal["sum", "sum_le", "le"]
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


def _read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def read_rules(folder: Path) -> tuple[Rule, ...]:
    return tuple(
        Rule(kind=r["kind"], target=r["target"], terms=tuple(r["terms"].split()), note=r["note"])  # type: ignore[arg-type]
        for r in _read_csv(folder / "rules.csv")
    )


@cache
def read_list_catalogue(
    folder: Path, catalogue_id: str, alternates: tuple[tuple[str, tuple[str, ...]], ...] = ()
) -> Catalogue:
    """A list form: `indicators.csv` with code,parent,label,unit (one row per code)."""
    other = dict(alternates)
    indicators = []
    for index, row in enumerate(_read_csv(folder / "indicators.csv")):
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
                alternates=other.get(row["code"], ()),
            )
        )
    return Catalogue(id=catalogue_id, indicators=tuple(indicators), rules=read_rules(folder))


# -- matrix forms (2019+, FJ2009): ruled tables whose codes are <row>@<column> ------------------


@dataclass(frozen=True)
class MatrixColumn:
    key: str  # the code's part after "@": natural, total, issued, ...
    label: str  # the printed header path: 法人或其他组织/商业企业

    @property
    def leaf(self) -> str:
        return self.label.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class MatrixRow:
    """One printed row of a matrix table: its label path and its value columns."""

    code: str  # GK2021-3.3.3.1
    table: str  # 三、收到和处理政府信息公开申请情况
    path: tuple[str, ...]  # ('三、本年度办理结果', '（三）不予公开', '1.属于国家秘密')
    columns: tuple[MatrixColumn, ...]
    units: tuple[str, ...]  # per column
    index: int  # position among the rows of the catalogue
    replaces: tuple[str, ...] = ()  # a variant row printed instead of these rows' codes
    alternates: tuple[str, ...] = ()  # other wordings of its label that reports print

    @property
    def leaf(self) -> Indicator:
        """The printed row label as an Indicator, for the label matcher of `mapping`."""
        kind, marker, text = split_marker(self.path[-1])
        return Indicator(self.code, None, self.path[-1], self.units[0], self.index, kind, marker, text, self.alternates)

    def code_of(self, column: MatrixColumn) -> str:
        return f"{self.code}@{column.key}"


@dataclass(frozen=True)
class MatrixCatalogue:
    """A 2019+ template: `catalogue` holds one Indicator per code (contract order) and the
    identities; `rows` the printed rows; `variants` rows some reports print instead."""

    catalogue: Catalogue
    rows: tuple[MatrixRow, ...]
    variants: tuple[MatrixRow, ...]

    @property
    def id(self) -> str:
        return self.catalogue.id

    def tables(self) -> list[str]:
        return list(dict.fromkeys(r.table for r in self.rows))


def _matrix_rows(records: list[dict[str, str]], alternates: dict[str, tuple[str, ...]]) -> list[MatrixRow]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for record in records:
        grouped.setdefault(record["code"].split("@")[0], []).append(record)
    rows = []
    for index, (code, cells) in enumerate(grouped.items()):
        columns = tuple(MatrixColumn(c["code"].split("@")[1], c["column"]) for c in cells)
        path = tuple(cells[0]["row"].split("/"))
        units = tuple(c["unit"] for c in cells)
        rows.append(
            MatrixRow(code, cells[0]["table"], path, columns, units, index, alternates=alternates.get(code, ()))
        )
    return rows


def _matrix_variants(folder: Path, rows: list[MatrixRow]) -> list[MatrixRow]:
    """`variants.csv`: code,row,replaces — a row printed in place of others, with their columns."""
    path = folder / "variants.csv"
    if not path.is_file():
        return []
    by_code = {r.code: r for r in rows}
    variants = []
    for record in _read_csv(path):
        replaced = tuple(record["replaces"].split())
        model = by_code[replaced[0]]
        variants.append(
            MatrixRow(
                record["code"],
                model.table,
                tuple(record["row"].split("/")),
                model.columns,
                model.units,
                model.index,
                replaces=replaced,
            )
        )
    return variants


def _matrix_label(path: tuple[str, ...], column: MatrixColumn) -> str:
    """The printed row path and column header: 三、本年度办理结果/（一）予以公开|自然人."""
    return f"{'/'.join(path)}|{column.label}"


@cache
def read_matrix_catalogue(
    folder: Path, catalogue_id: str, alternates: tuple[tuple[str, tuple[str, ...]], ...] = ()
) -> MatrixCatalogue:
    """A matrix form: `indicators.csv` with code,table,row,column,unit, its rules and variants."""
    rows = _matrix_rows(_read_csv(folder / "indicators.csv"), dict(alternates))
    indicators = []
    for row in rows:
        for column, unit in zip(row.columns, row.units, strict=True):
            label = _matrix_label(row.path, column)
            kind, marker, text = split_marker(row.path[-1])
            indicators.append(
                Indicator(row.code_of(column), None, label, unit, len(indicators), kind, marker, text, row.alternates)
            )
    catalogue = Catalogue(id=catalogue_id, indicators=tuple(indicators), rules=read_rules(folder))
    return MatrixCatalogue(catalogue, tuple(rows), tuple(_matrix_variants(folder, rows)))


def variant_indicators(catalogue: MatrixCatalogue, variant: MatrixRow) -> list[Indicator]:
    """Indicators for the codes of a variant row (added to a result when it is printed)."""
    kind, marker, text = split_marker(variant.path[-1])
    return [
        Indicator(variant.code_of(c), None, _matrix_label(variant.path, c), u, -1, kind, marker, text)
        for c, u in zip(variant.columns, variant.units, strict=True)
    ]
