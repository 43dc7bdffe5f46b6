"""The matrix reader: forms printed as ruled tables with merged cells (GK2019, GK2021, FJ2009).

Every cell of every ruled table on the table pages is read (the cells read for detection are
not read again), mapped to `<row>@<column>` codes (`matrix_mapping`), the unsure values read
again as numbers (and a signed column's number with a stroke before it, for its minus), those
that still read no clear number from the digit-sized ink alone where their column's numbers
sit (seal lettering and rings beside them left out, as the list reader does), and each code
becomes a `FieldRead` with the reader's own doubts. The issuing body and year come
from the title on page 1; without one (a scan of the tables only), from the lines above the
first table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from models.catalogue import Indicator, MatrixCatalogue, variant_indicators
from models.template import Template
from worker.pipeline.cells import (
    CellRead,
    clean_cell,
    combine_reads,
    learn_placement,
    mark_before_digits,
    numbers_ink,
    overlaps,
    pad_crop,
    print_darkness,
    reread_digits,
    unsure_number,
)
from worker.pipeline.decide import FieldRead, ValueRead
from worker.pipeline.mapping import normalize_label, normalize_unit
from worker.pipeline.matrix import CellReads, MatrixCell, cell_crop, read_cells, table_crops
from worker.pipeline.matrix_mapping import CellMatch, MatrixMapping, ReadTable, map_matrix
from worker.pipeline.metadata import (
    Metadata,
    heading_band,
    parse_heading,
    parse_title,
    read_heading,
    read_title,
    title_band,
    unit_line_metadata,
    with_body_year,
    with_column_year,
    with_seals,
)
from worker.pipeline.preprocess import PreparedPage
from worker.pipeline.readers import PageRegion, Reading, ReadJob, TablePage
from worker.pipeline.reasons import Reason
from worker.pipeline.values import UNIT_ALPHABET, VALUE_ALPHABET, gave_no_number, parse_value

_MARKS_ONLY = re.compile(r"^[.。·、,，'`]+$")
_PLACEMENT_CELLS = 8  # clear numbers enough to learn where a column's numbers sit
PageDarkness = Mapping[int, float | None]  # each table page's print darkness (`print_darkness`)
MIN_MATCHED_SHARE = 0.4  # as in the list reader: below this share of codes read, not this template
UNIT_HEADERS = frozenset({"计量单位", "单位"})


def read_matrix(job: ReadJob) -> Reading | None:
    template = job.template
    catalogue = template.matrix
    with job.clock.stage("read"):
        darkness: dict[int, float | None] = {}
        tables = []
        for tp in job.pages:
            crops = table_crops(tp.prepared, tp.tables)
            dark = darkness[tp.prepared.number] = print_darkness(list(crops.values()))
            known = job.probed.get(tp.prepared.number)
            reads = read_cells(tp.prepared, list(crops), job.engine, known, darkness=dark, crops=crops) if crops else {}
            reads |= _unit_column_reads(tp, reads, job, dark)
            tables.extend(
                ReadTable(
                    table,
                    {c: reads[c] for c in table.cells},
                    frozenset(c for c in table.cells if _under_a_seal(c, tp.prepared)),
                )
                for table in tp.tables
            )
    with job.clock.stage("map"):
        mapping = map_matrix(tables, catalogue, template.label_less_tables, template.optional_rows, job.aliases)
    if len(mapping.matches) < MIN_MATCHED_SHARE * len(catalogue.catalogue):
        return None  # the headers looked like the form, the tables are not it
    with job.clock.stage("read"):
        mapping = _read_signs_again(_digits_alone(_reread_unsure_values(mapping, job, darkness), job, darkness), job)
    with job.clock.stage("metadata"):
        metadata, heading = _report_metadata(job, mapping)
    pages = {tp.prepared.number: tp.prepared for tp in job.pages}
    return Reading(
        fields=_field_reads(mapping, template, pages),
        pages=list(mapping.pages),
        table_pages=[tp for tp in job.pages if tp.prepared.number in mapping.pages],
        confidence=None,  # the detection's confidence stands
        metadata=metadata,
        heading=heading,
    )


def _unit_column_reads(tp: TablePage, reads: CellReads, job: ReadJob, darkness: float | None) -> CellReads:
    """The cells under a 计量单位 (单位) header read again as units: a lone 条 read as text
    is stretched into two characters (冬杀)."""
    cells = []
    for table in tp.tables:
        for header in (c for c in table.cells if normalize_label(reads[c].text) in UNIT_HEADERS):
            cells += [
                c for c in table.cells if c.top >= header.bottom and (c.left, c.right) == (header.left, header.right)
            ]
    if not cells:
        return {}
    again = read_cells(tp.prepared, cells, job.engine, alphabet=UNIT_ALPHABET, darkness=darkness)
    return {cell: read for cell, read in again.items() if read.text}


def _reread_unsure_values(mapping: MatrixMapping, job: ReadJob, darkness: PageDarkness) -> MatrixMapping:
    """Cells read before it was known they hold numbers: the unsure ones again, as numbers."""
    thresholds = job.thresholds
    unsure = [
        m
        for m in mapping.matches.values()
        if m.cell is not None
        and m.read is not None
        and not m.read.blank
        and (m.read.score < thresholds.min_value_confidence or m.read.min_char_score < thresholds.min_char_confidence)
    ]
    prepared = {tp.prepared.number: tp.prepared for tp in job.pages}
    matches = dict(mapping.matches)
    for page in {m.page for m in unsure}:
        cells = [m.cell for m in unsure if m.page == page]
        reads = read_cells(prepared[page], cells, job.engine, alphabet=VALUE_ALPHABET, darkness=darkness[page])  # type: ignore[arg-type]
        for m in unsure:
            if m.page == page:
                matches[m.code] = replace(m, read=reads[m.cell])  # type: ignore[index]
    return replace(mapping, matches=matches)


def _digits_alone(mapping: MatrixMapping, job: ReadJob, darkness: PageDarkness) -> MatrixMapping:
    """Each value column's cells with ink but no clear number (a grey seal's lettering or
    ring over the digits: 1 read as 米, 8 as 18), read again from the digit-sized ink where
    the column's clear numbers no seal covers sit (`digits_isolated` on record). Not
    a column that may fall: a minus is no digit, its number would lose it."""
    prepared = {tp.prepared.number: tp.prepared for tp in job.pages}
    columns: dict[tuple[int, float, float], dict[str, tuple[MatrixCell, CellRead]]] = {}
    for code, m in mapping.matches.items():
        if m.cell is not None and m.read is not None and m.page is not None and not job.template.is_signed(code):
            columns.setdefault((m.page, m.cell.box[0], m.cell.box[2]), {})[code] = (m.cell, m.read)
    matches = dict(mapping.matches)
    for (number, _, _), column in columns.items():
        page = prepared[number]
        reads = {code: read for code, (_, read) in column.items()}
        unsure = {code for code, read in reads.items() if unsure_number(read)}
        if page.text_layer is not None or not unsure:
            continue
        clear = [
            code
            for code, (cell, read) in column.items()
            if code not in unsure and not read.blank and not _under_a_seal(cell, page)
        ][:_PLACEMENT_CELLS]
        dark = darkness[number]
        crops = {code: clean_cell(cell_crop(page, column[code][0]), page.dpi, dark) for code in {*clear, *unsure}}
        placement = learn_placement([crops[code] for code in clear], page.dpi, dark)
        numbers = numbers_ink({code: crops[code] for code in unsure}, placement, dark)
        again = reread_digits(crops, {code: reads[code] for code in unsure}, numbers, job.engine)
        matches |= {code: replace(matches[code], read=read) for code, read in again.items() if read is not reads[code]}
    return replace(mapping, matches=matches)


def _under_a_seal(cell: MatrixCell, page: PreparedPage) -> bool:
    return any(overlaps(cell.box, seal.box) for seal in page.seals)


def _read_signs_again(mapping: MatrixMapping, job: ReadJob) -> MatrixMapping:
    """A signed column's number read positive with a stroke before its digits that may be a
    lost minus (`mark_before_digits`), read again from the cell's print as scanned, stroke
    included (the first read's cell was cleaned: a thin or pale minus goes with the specks).
    Where that read gives the same digits after a minus, as clearly as a value is accepted,
    the number is negative; otherwise the first read stands, its sign in doubt."""
    prepared = {tp.prepared.number: tp.prepared for tp in job.pages}
    crops = {
        code: crop
        for code, match in mapping.matches.items()
        if (crop := _lost_minus(code, match, job, prepared)) is not None
    }
    if not crops:
        return mapping
    matches = dict(mapping.matches)
    reads = job.engine.recognize(list(crops.values()), VALUE_ALPHABET)
    for code, read in zip(crops, reads, strict=True):
        first = matches[code]
        again = combine_reads([read])
        if _same_number_negative(first.read, again, job):  # type: ignore[arg-type]
            matches[code] = replace(first, read=again)
    return replace(mapping, matches=matches)


def _lost_minus(code: str, match: CellMatch, job: ReadJob, pages: dict[int, PreparedPage]) -> np.ndarray | None:
    """The print of a signed column's cell read positive, from a possible minus to the end
    of its digits (None: the read is not in doubt of a lost minus)."""
    if match.cell is None or match.read is None or match.page is None or not job.template.is_signed(code):
        return None
    page = pages[match.page]
    parsed = parse_value(match.read.text, False, signed=True)
    if page.text_layer is not None or parsed.value is None or parsed.value <= 0:
        return None
    crop = cell_crop(page, match.cell)
    span = mark_before_digits(crop)
    return None if span is None else pad_crop(crop, span)


def _same_number_negative(first: CellRead, again: CellRead, job: ReadJob) -> bool:
    thresholds = job.thresholds
    clear = again.score >= thresholds.min_value_confidence and again.min_char_score >= thresholds.min_char_confidence
    before, after = parse_value(first.text, False, signed=True), parse_value(again.text, False, signed=True)
    return clear and before.value is not None and after.value == -before.value


def _report_metadata(job: ReadJob, mapping: MatrixMapping) -> tuple[Metadata, PageRegion]:
    """The title of the first page; without one (a scan of the tables only), the lines above
    the first table; and where they are (a reviewer's crop). A form with a 填报单位 line
    (`Template.unit_line`) is read from that line, the title as evidence."""
    if job.template.unit_line and mapping.pages:
        page = next(tp for tp in job.pages if tp.prepared.number == mapping.pages[0])
        top = min(table.frame[1] for table in page.tables)
        metadata = unit_line_metadata(page.prepared, top, job.narrative_title_page, job.engine)
        headers = [(cell.box, read.text, read.score) for cell, read in job.probed.get(page.prepared.number, {}).items()]
        metadata = with_seals(with_column_year(metadata, headers), page.prepared.seals, job.engine)
        return metadata, PageRegion.of(page.prepared, heading_band(page.prepared, top))
    first = job.first_page
    title = parse_title(read_title(first, job.engine))
    if title.title_found or not mapping.pages:
        title = with_body_year(with_seals(title, first.seals, job.engine), first, job.engine)
        return title, PageRegion.of(first, title_band(first))
    page = next(tp for tp in job.pages if tp.prepared.number == mapping.pages[0])
    top = min(table.frame[1] for table in page.tables)
    heading = parse_heading(read_heading(page.prepared, top, job.engine))
    region = PageRegion.of(page.prepared, heading_band(page.prepared, top))
    return with_seals(heading, page.prepared.seals, job.engine), region


def _indicators(catalogue: MatrixCatalogue, mapping: MatrixMapping) -> list[Indicator]:
    """The catalogue's codes in order, with the codes of printed variant rows after the rows they replace."""
    ordered = list(catalogue.catalogue.indicators)
    for variant in mapping.variants:
        last = max(i for i, ind in enumerate(ordered) if ind.code.split("@")[0] == variant.replaces[-1])
        ordered[last + 1 : last + 1] = variant_indicators(catalogue, variant)
    return ordered


def _field_reads(mapping: MatrixMapping, template: Template, pages: dict[int, PreparedPage]) -> list[FieldRead]:
    folded = {code: variant.code for variant in mapping.variants for code in variant.replaces} | mapping.absent
    reads = []
    for indicator in _indicators(template.matrix, mapping):
        row_code, column = indicator.code.split("@")
        match = mapping.matches.get(indicator.code)
        if match is None and row_code in folded:
            reads.append(FieldRead(indicator, None, follows=f"{folded[row_code]}@{column}"))
        elif match is None or match.cell is None or match.read is None or match.page is None:
            reads.append(FieldRead(indicator, None))
        else:
            reads.append(field_read(indicator, match, template, pages))
    return reads


def field_read(indicator: Indicator, match: CellMatch, template: Template, pages: dict[int, PreparedPage]) -> FieldRead:
    assert match.cell is not None and match.read is not None and match.page is not None
    signed = template.is_signed(indicator.code)
    parsed = parse_value(match.read.text, indicator.unit == "万元", signed)
    sealed = _under_a_seal(match.cell, pages[match.page])
    sign_unsure = signed and _sign_unsure(parsed.value, parsed.mark_before, match, pages[match.page])
    marks_only = bool(_MARKS_ONLY.match(match.read.text.strip()))
    unit = parsed.unit or match.unit  # printed with the number (12000元), or in the row's unit cell
    value = ValueRead(
        text=match.read.text,
        value=parsed.value,
        score=match.read.score,
        min_char_score=match.read.min_char_score,
        # As on a list form (`gave_no_number`), and a mark alone (a 0 read as 。): these
        # forms print 0 for none, not a dot.
        unread=marks_only or gave_no_number(parsed, match.read.text, match.read.blank, sealed),
    )
    return FieldRead(
        indicator,
        value,
        label_match=match.similarity,
        reasons=(
            *parsed.reasons,
            *([Reason.SIGN_UNSURE] if sign_unsure else []),
            *_cell_reasons(match, indicator, template, sealed, unit),
        ),
        page=match.page,
        box=pages[match.page].original_box(match.cell.box),
        cell=match.cell.box,
        label_read=match.label,
        unit_read=unit,
    )


def _sign_unsure(value: float | None, mark_before: bool, match: CellMatch, page: PreparedPage) -> bool:
    """A number of a signed column read positive is known positive only when nothing before
    its digits could be a lost minus: no mark read and left out, no faint or thin stroke
    left of the digits in the cell's print (a page's trusted text layer keeps its signs)."""
    if value is None or value <= 0:
        return False
    assert match.cell is not None
    return mark_before or (page.text_layer is None and mark_before_digits(cell_crop(page, match.cell)) is not None)


def _cell_reasons(
    match: CellMatch, indicator: Indicator, template: Template, sealed: bool, unit_read: str | None
) -> list[Reason]:
    assert match.read is not None
    reasons = []
    if sealed:
        reasons.append(Reason.SEAL_OVERLAP)
    unit = normalize_unit(unit_read or "")
    if unit and not template.same_unit(unit, normalize_unit(indicator.unit)):
        reasons.append(Reason.UNIT_MISMATCH)
    if match.read.isolated:
        reasons.append(Reason.DIGITS_ISOLATED)  # marks beside the digits were left out: one may be a digit
    if match.read.blank:
        reasons.append(Reason.BLANK_VALUE)  # the forms print 0 for none: an empty cell is checked
    return reasons
