"""The matrix path of `Extractor`: read, map, validate and route a 2019+ report.

Called once the template is known to be GK2019 or GK2021. Every cell of every ruled table
on the table pages is read (the cells read for detection are not read again), mapped to
`<row>@<column>` codes, checked against the template's identities and routed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from docextract.settings import RoutingSettings
from models.catalogue import Indicator, MatrixCatalogue, load_matrix_catalogue, variant_indicators
from models.schemas import ExtractionResult, FieldResult, ReportInfo, TemplateInfo
from worker.pipeline.load import Document, PageImage
from worker.pipeline.matrix import CellReads, read_cells
from worker.pipeline.matrix_mapping import CellMatch, MatrixMapping, ReadTable, map_matrix
from worker.pipeline.matrix_validate import check_identities
from worker.pipeline.metadata import Metadata, parse_heading, parse_title, read_heading, read_title
from worker.pipeline.ocr import OcrEngine
from worker.pipeline.preprocess import PreparedPage, prepare_page
from worker.pipeline.route import FieldEvidence, Routing, field_result, route
from worker.pipeline.rows import _overlaps
from worker.pipeline.templates import TemplateGuess
from worker.pipeline.validate import INFERRED, corroborated, implied_values, reasons_by_code
from worker.pipeline.values import VALUE_ALPHABET, ParsedValue, gave_no_number, parse_value

if TYPE_CHECKING:
    from worker.pipeline.extract import TablePage

_MARKS_ONLY = re.compile(r"^[.。·、,，'`]+$")
NOT_PRINTED = "not_printed"  # a code whose row the report folds into a variant row
MIN_MATCHED_SHARE = 0.4  # as in the GK2008 path: below this share of codes read, no template


@dataclass(frozen=True)
class MatrixExtraction:
    result: ExtractionResult
    table_pages: list[TablePage]


def extract_matrix(
    document: Document,
    scanned: list[TablePage],
    guess: TemplateGuess,
    probed: dict[int, CellReads],
    first_page: PageImage,
    engine: OcrEngine,
    thresholds: RoutingSettings,
) -> MatrixExtraction | None:
    """The result, or None when too few of the template's codes were found."""
    catalogue = load_matrix_catalogue(guess.id)
    tables = []
    for tp in scanned:
        cells = [cell for table in tp.tables for cell in table.cells]
        reads = read_cells(tp.prepared, cells, engine, probed.get(tp.prepared.number)) if cells else {}
        tables.extend(ReadTable(table, {c: reads[c] for c in table.cells}) for table in tp.tables)
    mapping = map_matrix(tables, catalogue)
    if len(mapping.matches) < MIN_MATCHED_SHARE * len(catalogue.catalogue):
        return None  # the headers looked like the form, the tables are not it
    mapping = _reread_unsure_values(mapping, scanned, engine, thresholds)
    pages = {tp.prepared.number: tp.prepared for tp in scanned}
    fields = matrix_fields(mapping, catalogue, pages, thresholds)
    title = _report_metadata(first_page, scanned, mapping, engine)
    result = ExtractionResult(
        source=document.source,
        template=TemplateInfo(id=catalogue.id, pages=list(mapping.pages), confidence=guess.confidence),
        report=ReportInfo(unit_name=title.unit_name, year=title.year),
        status="needs_review" if any(f.status == "review" for f in fields) else "extracted",
        fields=fields,
    )
    return MatrixExtraction(result, [tp for tp in scanned if tp.prepared.number in mapping.pages])


def _reread_unsure_values(
    mapping: MatrixMapping, scanned: list[TablePage], engine: OcrEngine, thresholds: RoutingSettings
) -> MatrixMapping:
    """Cells read before it was known they hold numbers: the unsure ones again, as numbers."""
    unsure = [
        m
        for m in mapping.matches.values()
        if m.cell is not None
        and m.read is not None
        and not m.read.blank
        and (m.read.score < thresholds.min_value_confidence or m.read.min_char_score < thresholds.min_char_confidence)
    ]
    prepared = {tp.prepared.number: tp.prepared for tp in scanned}
    matches = dict(mapping.matches)
    for page in {m.page for m in unsure}:
        cells = [m.cell for m in unsure if m.page == page]
        reads = read_cells(prepared[page], cells, engine, alphabet=VALUE_ALPHABET)  # type: ignore[arg-type]
        for m in unsure:
            if m.page == page:
                matches[m.code] = replace(m, read=reads[m.cell])  # type: ignore[index]
    return replace(mapping, matches=matches)


def _report_metadata(
    first_page: PageImage, scanned: list[TablePage], mapping: MatrixMapping, engine: OcrEngine
) -> Metadata:
    """The title of the first page; without one (a scan of the tables only), the lines above the first table."""
    prepared = {tp.prepared.number: tp.prepared for tp in scanned}
    first = prepared.get(first_page.number) or prepare_page(first_page)
    title = parse_title(read_title(first, engine))
    if title.title_found or not mapping.pages:
        return title
    page = next(tp for tp in scanned if tp.prepared.number == mapping.pages[0])
    top = min(table.frame[1] for table in page.tables)
    return parse_heading(read_heading(page.prepared, top, engine))


def _indicators(catalogue: MatrixCatalogue, mapping: MatrixMapping) -> list[Indicator]:
    """The catalogue's codes in order, with the codes of printed variant rows after the rows they replace."""
    ordered = list(catalogue.catalogue.indicators)
    for variant in mapping.variants:
        last = max(i for i, ind in enumerate(ordered) if ind.code.split("@")[0] == variant.replaces[-1])
        ordered[last + 1 : last + 1] = variant_indicators(catalogue, variant)
    return ordered


def matrix_fields(
    mapping: MatrixMapping,
    catalogue: MatrixCatalogue,
    pages: dict[int, PreparedPage],
    thresholds: RoutingSettings,
) -> list[FieldResult]:
    indicators = _indicators(catalogue, mapping)
    units = {i.code: i.unit for i in indicators}
    parsed = {
        code: parse_value(m.read.text, decimal_allowed=units[code] == "万元")
        for code, m in mapping.matches.items()
        if m.read is not None
    }
    values = {c: p.value for c, p in parsed.items()}
    checks = check_identities(values, catalogue.catalogue.rules)
    # As on the old form: fields already in doubt take the blame for a rule they explain,
    # and an identity that holds settles doubts about its fields.
    first = {code: _routed(mapping.matches[code], p, [], False, pages, thresholds) for code, p in parsed.items()}
    doubts = {code: routing.reasons for code, routing in first.items() if routing.status == "review"}
    validation = reasons_by_code(checks, values, doubts)
    settled = corroborated(checks, values, doubts)
    routed = {
        code: _routed(mapping.matches[code], p, validation.get(code, []), code in settled, pages, thresholds)
        for code, p in parsed.items()
    }
    trusted = {code: parsed[code].value for code, routing in routed.items() if routing.status == "accepted"}
    unread = {code for code, p in parsed.items() if _unread(mapping.matches[code], p, pages)}
    implied = implied_values(catalogue.catalogue.rules, trusted, unread)
    folded = {code: variant for variant in mapping.variants for code in variant.replaces}
    by_code: dict[str, FieldResult] = {}
    for indicator in indicators:
        match = mapping.matches.get(indicator.code)
        if match is None and indicator.code.split("@")[0] in folded:
            continue  # decided below, from the variant row that holds its count
        if match is None or match.cell is None or match.read is None or match.page is None:
            routing = route(FieldEvidence(False, 0, 0, 0, ()), thresholds)
            by_code[indicator.code] = field_result(indicator, None, None, routing)
            continue
        routing, value = routed[indicator.code], parsed[indicator.code].value
        if indicator.code in implied:
            extra = [*validation.get(indicator.code, []), INFERRED]
            routing = _routed(match, parsed[indicator.code], extra, False, pages, thresholds)
            value = implied[indicator.code]
        field = field_result(indicator, value, match.read.text, routing)
        box = pages[match.page].original_box(match.cell.box)
        by_code[indicator.code] = field.model_copy(update={"page": match.page, "bbox": box})
    for indicator in indicators:
        if indicator.code not in by_code:
            row_code, column = indicator.code.split("@")
            by_code[indicator.code] = _not_printed(indicator, by_code[f"{folded[row_code].code}@{column}"])
    return [by_code[i.code] for i in indicators]


def _routed(
    match: CellMatch,
    parsed: ParsedValue,
    validation: list[str],
    settled: bool,
    pages: dict[int, PreparedPage],
    thresholds: RoutingSettings,
) -> Routing:
    """How a field read routes on its cell's evidence and `validation`'s reasons
    (none: before any identity is checked); `settled`: in an identity that holds."""
    if match.read is None or match.cell is None:
        return route(FieldEvidence(False, 0, 0, 0, ()), thresholds)
    reasons = (*_cell_reasons(match, parsed, pages), *validation)
    evidence = FieldEvidence(
        True, match.read.score, match.read.min_char_score, match.similarity, reasons, in_sum_that_holds=settled
    )
    return route(evidence, thresholds)


def _unread(match: CellMatch, parsed: ParsedValue, pages: dict[int, PreparedPage]) -> bool:
    """As on the old form (`gave_no_number`), and a mark alone (a 0 read as 。): these forms
    print 0 for none, not a dot."""
    read = match.read
    if read is None:
        return False
    marks_only = bool(_MARKS_ONLY.match(read.text.strip()))
    return marks_only or gave_no_number(parsed, read.text, read.blank, _under_seal(match, pages))


def _under_seal(match: CellMatch, pages: dict[int, PreparedPage]) -> bool:
    assert match.cell is not None and match.page is not None
    return any(_overlaps(match.cell.box, seal.box) for seal in pages[match.page].seals)


def _not_printed(indicator: Indicator, variant: FieldResult) -> FieldResult:
    """A row folded into a variant row: null, and as trusted as the variant's value."""
    return field_result(indicator, None, None, Routing(variant.status, variant.confidence, [NOT_PRINTED]))


def _cell_reasons(match: CellMatch, parsed: ParsedValue, pages: dict[int, PreparedPage]) -> list[str]:
    assert match.cell is not None and match.read is not None and match.page is not None
    reasons = list(parsed.reasons)
    if _under_seal(match, pages):
        reasons.append("seal_overlap")
    if match.read.blank:
        reasons.append("blank_value")  # the forms print 0 for none: an empty cell is checked
    return reasons
