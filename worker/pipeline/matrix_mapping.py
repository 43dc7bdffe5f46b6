"""Matrix mapping: read 2019+ tables → `<row>@<column>` codes.

Each band of a table is split into its label cells (left) and value cells (the run of
cells on the right, starting at the band and ending together, that hold a number, a dash
or nothing: a row a stray rule split in two bands is one row). Bands without a number are
headers. Data bands are aligned to the catalogue's printed rows by the same
global sequence alignment as `mapping` (order + fuzzy label + numbering, 1、 read as 1.),
so a garbled, wrapped or misspelt label lands on its row and a missing row shifts
nothing; a variant row (（六）其他处理 printed as one row) competes with the rows it
replaces. Columns follow the print order when their count is the catalogue's, else their
header text. A label cell holding a unit alone (条, 件, 万元: forms with a 计量单位 column) is
the row's unit, not its label. A table without row labels (GK2019/GK2021's 四, named by the
template) has its 15 values (in one row, or in rows of five or ten) split into three groups
of five under the 行政复议 / 未经复议直接起诉 / 复议后起诉 headers. A row the template lists
as optional, skipped between two rows read for sure, is reported absent (not printed).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from models.catalogue import MatrixCatalogue, MatrixColumn, MatrixRow
from worker.pipeline.cells import CellRead
from worker.pipeline.mapping import SURE_LABEL, align, label_similarity, normalize_label, normalize_unit
from worker.pipeline.matrix import MatrixCell, MatrixTable
from worker.pipeline.values import parse_value

_SKIP_BAND = -0.35
_SKIP_ROW = -0.30
_SEAL_CHARACTERS = 2  # a seal's lettering over a cell: a character or two
_GROUP_SIZE = 5  # table 四: 结果维持 结果纠正 其他结果 尚未审结 总计
# What a 计量单位 cell prints: a label cell holding one of these alone is the row's unit.
UNIT_WORDS = frozenset({"条", "件", "次", "篇", "个", "人", "项", "元", "万元", "家", "份", "—"})


@dataclass(frozen=True)
class ReadTable:
    table: MatrixTable
    reads: dict[MatrixCell, CellRead]
    sealed: frozenset[MatrixCell] = frozenset()  # cells a seal lies over

    def text(self, cell: MatrixCell) -> str:
        return self.reads[cell].text


@dataclass(frozen=True)
class DataBand:
    page: int
    labels: tuple[str, ...]  # label texts, outermost first (merged parents included)
    values: tuple[MatrixCell, ...]
    header: tuple[tuple[MatrixCell, str], ...]  # cells of the closest header band above
    unit: str | None = None  # the unit cell's text, where the table has a unit column


@dataclass(frozen=True)
class CellMatch:
    """Where one code's value was read (cell None: not found)."""

    code: str
    page: int | None
    cell: MatrixCell | None
    read: CellRead | None
    similarity: float  # label (or group header) similarity of its row
    label: str | None = None  # the row's label as read
    unit: str | None = None  # the row's unit cell as read


@dataclass(frozen=True)
class MatrixMapping:
    matches: dict[str, CellMatch]
    variants: tuple[MatrixRow, ...]  # variant rows found printed
    pages: tuple[int, ...]
    absent: dict[str, str] = field(default_factory=dict)  # optional row not printed → the row after it


def _is_value(read: CellRead) -> bool:
    """A number, a dash, nothing, or marks only (a digit read as 。: unreadable, but a value
    cell all the same; no label is punctuation alone)."""
    text = read.text.strip()
    return (
        read.blank
        or parse_value(text, decimal_allowed=True).readable
        or all(unicodedata.category(ch)[0] in "PS" for ch in text)
    )


def _has_number(read: CellRead) -> bool:
    """A number read, as an amount or as a count (22. is a count with a speck after it)."""
    return not read.blank and any(parse_value(read.text, amount).value is not None for amount in (True, False))


def split_bands(read: ReadTable) -> tuple[list[DataBand], list[DataBand]]:
    """(labelled data bands, bare value bands) of a table, top to bottom."""
    labelled, bare = [], []
    header: tuple[tuple[MatrixCell, str], ...] = ()
    numeric = _value_columns(read)
    for band in range(read.table.bands):
        cells = read.table.band_cells(band)
        if all(c.top < band for c in cells):
            continue  # the lower part of a row split by a stray rule: read with its top
        # Below the table's first data band, a seal's lettering over a value column reads as
        # a character or two where the number is (鼓, 米): still that row's value cell.
        below_data = bool(labelled or bare)
        lettered = {
            c
            for c in cells
            if below_data and c in read.sealed and (c.left, c.right) in numeric and _lettering(read.text(c))
        }
        values: list[MatrixCell] = []
        for cell in reversed(cells):
            # A row's value cells share its top and bottom (a row may span two bands).
            bottom = values[0].bottom if values else cell.bottom
            garbled_number = (cell.left, cell.right) in numeric and _garbled_number(read.text(cell))
            value = _is_value(read.reads[cell]) or _no_words(read.text(cell)) or garbled_number or cell in lettered
            if cell.top != band or cell.bottom != bottom or not value:
                break
            values.insert(0, cell)
        labels = tuple(read.text(c) for c in cells[: len(cells) - len(values)] if read.text(c))
        garbled = bool(values) and all(any(ch.isdigit() for ch in read.text(c)) or c in lettered for c in values)
        if not any(_has_number(read.reads[c]) for c in values) and not garbled:
            if len(cells) >= 2 and any(read.text(c) for c in cells):
                header = tuple((c, read.text(c)) for c in cells)
            continue
        unit = None
        if len(labels) >= 2 and normalize_unit(labels[-1]) in UNIT_WORDS:
            labels, unit = labels[:-1], labels[-1]
        data = DataBand(read.table.page, labels, tuple(values), header, unit)
        (labelled if labels else bare).append(data)
    return labelled, bare


def _no_words(text: str) -> bool:
    """A cell read without a Chinese character (0, beside a speck, af for a 0 under a fax's
    black seal): a value cell in any column, as every row's label has words (a row of one
    value per column, table 四's, has no column of numbers to tell it by)."""
    return _chinese(text) == 0


def _garbled_number(text: str) -> bool:
    """A seal's lettering over a number (676é, A0, 年は0): digits, and no words (a label in
    the column, 1、属于国家秘密, has them)."""
    return any(ch.isdigit() for ch in text) and _chinese(text) < 2


def _lettering(text: str) -> bool:
    """What a seal's lettering over a value cell reads as: at most two Chinese characters
    and no word of a header (本年新制作数量 is seven)."""
    return _chinese(text) <= _SEAL_CHARACTERS


def _chinese(text: str) -> int:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text)


def _value_columns(read: ReadTable) -> set[tuple[int, int]]:
    """The columns (left, right rule) whose one-band cells mostly hold numbers: a cell there
    with digits in what it reads is a value cell (a seal's lettering over its number)."""
    cells: dict[tuple[int, int], int] = {}
    numbers: dict[tuple[int, int], int] = {}
    for cell in read.table.cells:
        if cell.bottom - cell.top == 1:
            span = (cell.left, cell.right)
            cells[span] = cells.get(span, 0) + 1
            numbers[span] = numbers.get(span, 0) + _has_number(read.reads[cell])
    return {span for span, count in cells.items() if numbers[span] >= max(3, 0.5 * count)}


def _row_sequence(catalogue: MatrixCatalogue, label_less: tuple[str, ...]) -> list[MatrixRow]:
    """Rows with labels, in print order; each variant right after the rows it replaces."""
    sequence: list[MatrixRow] = []
    for row in catalogue.rows:
        if row.table.startswith(label_less):
            continue
        sequence.append(row)
        sequence.extend(v for v in catalogue.variants if v.replaces[-1] == row.code)
    return sequence


def _gain(band: DataBand, row: MatrixRow, aliases: Mapping[str, str]) -> tuple[float, float]:
    if aliases.get(normalize_label(band.labels[-1]), "").split("@")[0] == row.code:
        similarity = 1.0  # a reviewer accepted this spelling for this row before
    else:
        similarity = label_similarity(band.labels[-1], row.leaf)
    gain = similarity - 0.5
    parents = [normalize_label(p) for p in band.labels[:-1]]
    if parents and len(row.path) > 1:
        best = max(fuzz.ratio(p, normalize_label(q)) for p in parents for q in row.path[:-1])
        gain += 0.05 if best >= 80 else 0.0
    if len(band.values) == len(row.columns):
        gain += 0.1
    elif len(band.values) < len(row.columns):
        gain -= 0.1
    return gain, similarity


def align_rows(
    bands: list[DataBand],
    rows: list[MatrixRow],
    optional: tuple[str, ...] = (),
    aliases: Mapping[str, str] | None = None,
) -> dict[int, tuple[int, float]]:
    """Global alignment of data bands to rows: row index → (band index, label similarity).
    Variant rows and the template's `optional` rows cost nothing to skip."""
    n, m = len(bands), len(rows)
    gains, sims = np.zeros((n, m)), np.zeros((n, m))
    for i, band in enumerate(bands):
        for j, row in enumerate(rows):
            gains[i, j], sims[i, j] = _gain(band, row, aliases or {})
    skip_row = np.array([0.0 if r.replaces or r.code in optional else _SKIP_ROW for r in rows])
    matched = align(gains, _SKIP_BAND, skip_row)
    return {j: (i, float(sims[i, j])) for j, i in matched.items()}


def _absent(
    rows: list[MatrixRow], bands: list[DataBand], aligned: dict[int, tuple[int, float]], optional: tuple[str, ...]
) -> dict[str, str]:
    """Optional rows skipped between the rows before and after them, matched for sure to two
    bands ruled one under the other: not printed (→ the code of the row after them). A band
    between them that was set aside (its values read as no number: taken for a header) may
    have been the row: then it is not found, not "not printed"."""
    absent = {}
    for j, row in enumerate(rows):
        if row.code not in optional or j in aligned or j + 1 >= len(rows) or j == 0:
            continue
        before, after = aligned.get(j - 1), aligned.get(j + 1)
        if (
            before
            and after
            and after[0] == before[0] + 1
            and _ruled_next(bands[before[0]], bands[after[0]])
            and min(before[1], after[1]) >= SURE_LABEL
        ):
            absent[row.code] = rows[j + 1].code
    return absent


def _ruled_next(upper: DataBand, lower: DataBand) -> bool:
    """The lower band starts where the upper one ends, in one table of one page."""
    return (
        upper.page == lower.page
        and min(c.top for c in lower.values) == max(c.bottom for c in upper.values)
        and lower.values[0].box[1] > upper.values[0].box[1]
    )


def assign_columns(band: DataBand, columns: tuple[MatrixColumn, ...]) -> dict[str, MatrixCell]:
    """Column key → value cell: by order when the counts agree, else by header text."""
    if len(band.values) == len(columns):
        return {c.key: cell for c, cell in zip(columns, band.values, strict=True)}
    if len(band.values) > len(columns) and not band.header:
        return {c.key: cell for c, cell in zip(columns, band.values[-len(columns) :], strict=True)}
    assigned: dict[str, MatrixCell] = {}
    for cell in band.values:
        above = [text for h, text in band.header if h.left <= cell.left and cell.right <= h.right and text]
        if not above:
            continue
        scored = [(fuzz.ratio(normalize_label(above[-1]), normalize_label(c.leaf)), c.key) for c in columns]
        best, key = max(scored)
        if best >= 60 and key not in assigned:
            assigned[key] = cell
    return assigned


def _group_similarity(read: ReadTable, cells: tuple[MatrixCell, ...], label: str) -> float:
    """How well the header cell spanning a group of five values reads as its row's label."""
    first, last = cells[0], cells[-1]
    texts = [
        read.text(c) for c in read.table.cells if c.left == first.left and c.right == last.right and c.top < first.top
    ]
    return max((fuzz.ratio(normalize_label(t), normalize_label(label)) / 100 for t in texts), default=0.0)


def column_header(read: ReadTable, cell: MatrixCell) -> MatrixCell | None:
    """The closest header cell over a value cell (spanning it), None for none."""
    above = [c for c in read.table.cells if c.bottom <= cell.top and c.left <= cell.left and cell.right <= c.right]
    return max(above, key=lambda c: c.bottom) if above else None


def _headed(read: ReadTable, band: DataBand) -> tuple[MatrixCell, ...]:
    """The band's value cells without empty ones at its ends that no header names: an empty
    ruled column before or after the values is no column of the form."""

    def unnamed(cell: MatrixCell) -> bool:
        header = column_header(read, cell)
        return read.reads[cell].blank and (header is None or not normalize_label(read.text(header)))

    values = list(band.values)
    while values and unnamed(values[0]):
        values.pop(0)
    while values and unnamed(values[-1]):
        values.pop()
    return tuple(values)


_UNSURE_COLUMN = 0.5  # a value whose column header does not name its column: below min_label_match


def _names(text: str, column: MatrixColumn) -> bool:
    leaf = normalize_label(column.leaf)
    return fuzz.ratio(text, leaf) >= 60 or (len(text) > len(leaf) and fuzz.partial_ratio(leaf, text) >= 80)


def column_similarity(
    read: ReadTable, cell: MatrixCell, column: MatrixColumn, columns: tuple[MatrixColumn, ...]
) -> float | None:
    """Whether the header over a value names its column: None when it does, or when only a
    header over several columns (a group's: 行政复议) lies over it; else _UNSURE_COLUMN, as
    the value may be shifted by a lost or an extra rule, as it is when the value's cell runs
    under several columns' headers. A header over this column alone must
    read as this column's and as no other's better; one merged over several columns that
    names columns (结果维持结果纠正) must name this one."""
    width = cell.right - cell.left
    narrower = [
        c
        for c in read.table.cells
        if c.bottom <= cell.top and cell.left <= c.left and c.right <= cell.right and c.right - c.left < width
    ]
    if narrower:
        return _UNSURE_COLUMN  # the value's cell runs under several columns' headers: a rule lost
    header = column_header(read, cell)
    if header is None:
        return None
    text = normalize_label(read.text(header))
    if (header.left, header.right) == (cell.left, cell.right):
        best = max(fuzz.ratio(text, normalize_label(c.leaf)) for c in columns)
        sure = bool(text) and _names(text, column) and fuzz.ratio(text, normalize_label(column.leaf)) >= best
        return None if sure else _UNSURE_COLUMN
    if not any(_names(text, c) for c in columns):
        return None  # a group's header
    return None if _names(text, column) else _UNSURE_COLUMN


def map_review_groups(bare: list[tuple[ReadTable, DataBand]], rows: list[MatrixRow]) -> dict[str, CellMatch]:
    """Table 四: its 15 values in print order (one row, or 行政复议 and 行政诉讼 in two), by
    fives; each value checked against the header over it, a value not under its column's
    header unsure (a person checks it, it is never taken shifted)."""
    headed = [(read, band, _headed(read, band)) for read, band in bare]
    groups = [
        (read, band, values[i : i + _GROUP_SIZE])
        for read, band, values in headed
        if values and len(values) % _GROUP_SIZE == 0  # a stray row of another table is not part of 四
        for i in range(0, len(values), _GROUP_SIZE)
    ]
    if len(groups) != len(rows):
        return {}
    found = {}
    for row, (read, band, cells) in zip(rows, groups, strict=True):
        group = _group_similarity(read, cells, row.path[-1])
        for column, cell in zip(row.columns, cells, strict=True):
            header = column_similarity(read, cell, column, row.columns)
            similarity = group if header is None else min(group, header)
            found[row.code_of(column)] = CellMatch(row.code_of(column), band.page, cell, read.reads[cell], similarity)
    return found


def map_matrix(
    tables: list[ReadTable],
    catalogue: MatrixCatalogue,
    label_less: tuple[str, ...] = ("四",),
    optional: tuple[str, ...] = (),
    aliases: Mapping[str, str] | None = None,
) -> MatrixMapping:
    """One CellMatch per code of the catalogue (and of the variant rows found printed).
    `label_less`: captions (their start) of tables without row labels; `optional`: row codes
    a version of the form leaves out; `aliases`: label spellings reviewers accepted."""
    labelled: list[DataBand] = []
    bare: list[tuple[ReadTable, DataBand]] = []
    for read in tables:
        with_labels, without = split_bands(read)
        labelled.extend(with_labels)
        bare.extend((read, band) for band in without)
    found = {}
    if label_less:
        found = map_review_groups(bare, [r for r in catalogue.rows if r.table.startswith(label_less)])
    sequence = _row_sequence(catalogue, label_less)
    reads = {cell: r for t in tables for cell, r in t.reads.items()}
    variants = []
    aligned = align_rows(labelled, sequence, optional, aliases)
    for index, (band_index, similarity) in aligned.items():
        row, band = sequence[index], labelled[band_index]
        if row.replaces:
            variants.append(row)
        for key, cell in assign_columns(band, row.columns).items():
            code = f"{row.code}@{key}"
            found[code] = CellMatch(code, band.page, cell, reads[cell], similarity, band.labels[-1], band.unit)
    pages = tuple(sorted({m.page for m in found.values() if m.page is not None}))
    return MatrixMapping(found, tuple(variants), pages, _absent(sequence, labelled, aligned, optional))
