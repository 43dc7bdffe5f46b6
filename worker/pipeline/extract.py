"""The whole pipeline for one document: the CLI and the Celery tasks both call `Extractor`.

Pages without a ruled table are recognised as such from their lines alone and never sent
to OCR; on table pages only the cells and the few heading lines above the table are read.
The template is detected first from a few header and first-column cells (`templates`):
the 2019+ forms (GK2019, GK2021) go through the matrix path (`matrix`, `matrix_mapping`),
everything else through the GK2008 path, unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from docextract import __version__
from docextract.settings import Settings, get_settings
from models.catalogue import MATRIX_TEMPLATES, Catalogue, Indicator, load_catalogue
from models.schemas import (
    ExtractionResult,
    FieldResult,
    ReportInfo,
    RunInfo,
    TemplateInfo,
)
from worker.pipeline.layout import TableGrid, find_grid
from worker.pipeline.load import Document, PageImage, open_document
from worker.pipeline.mapping import RowMatch, is_catalogue_label, map_rows, normalize_unit
from worker.pipeline.matrix import CellReads, MatrixTable, find_tables, read_cells
from worker.pipeline.matrix_extract import extract_matrix
from worker.pipeline.metadata import (
    Metadata,
    parse_heading,
    parse_title,
    read_heading,
    read_title,
    read_year_under_title,
    with_title,
)
from worker.pipeline.ocr import OcrEngine, RapidOcrEngine
from worker.pipeline.preprocess import PreparedPage, prepare_page
from worker.pipeline.route import FieldEvidence, Routing, field_result, route
from worker.pipeline.rows import CellRead, TableRow, read_rows, too_wide
from worker.pipeline.templates import TemplateGuess, detect_template, is_decided, is_form_text, probe_cells
from worker.pipeline.validate import INFERRED, check_rules, corroborated, implied_values, reasons_by_code
from worker.pipeline.values import ParsedValue, gave_no_number, parse_value

_MIN_MATCHED_SHARE = 0.4  # below this share of codes matched, the table is not this template


@dataclass(frozen=True)
class TablePage:
    page: PageImage
    prepared: PreparedPage
    grid: TableGrid | None  # the GK2008 label | unit | value grid
    tables: tuple[MatrixTable, ...] = ()  # every ruled table, merged cells kept (2019+ forms)


@dataclass(frozen=True)
class Extraction:
    """A result with what was seen on the way, for overlays and debugging."""

    result: ExtractionResult
    table_pages: list[TablePage]


class Extractor:
    """Loads the OCR models once; extracts any number of documents with them."""

    def __init__(self, settings: Settings | None = None, engine: OcrEngine | None = None) -> None:
        self.settings = settings or get_settings()
        self.engine = engine or RapidOcrEngine(threads=self.settings.ocr.threads)
        self.catalogue: Catalogue = load_catalogue("GK2008")

    def extract_file(
        self, path: Path, filename: str | None = None, aliases: Mapping[str, str] | None = None
    ) -> ExtractionResult:
        """Extract one file. Raises InputError when it cannot be read. `aliases`: label
        spellings reviewers accepted for GK2008 codes (`models.aliases.load_aliases`)."""
        return self.extract_file_detailed(path, filename, aliases).result

    def extract_file_detailed(
        self, path: Path, filename: str | None = None, aliases: Mapping[str, str] | None = None
    ) -> Extraction:
        with open_document(path, self.settings.limits, filename) as document:
            return self.extract_document(document, aliases)

    def extract_document(self, document: Document, aliases: Mapping[str, str] | None = None) -> Extraction:
        started = time.perf_counter()
        scanned = self._find_table_pages(document)
        guess, probed = self._detect_template(scanned)
        if guess is not None and guess.id in MATRIX_TEMPLATES:
            first = next(document.pages())
            matrix = extract_matrix(document, scanned, guess, probed, first, self.engine, self.settings.routing)
            if matrix is None:
                return Extraction(self._no_template(document, started), [])
            result = matrix.result.model_copy(update={"run": self._run_info(document, started)})
            return Extraction(result, matrix.table_pages)
        table_pages = [tp for tp in scanned if tp.grid is not None]
        rows = [
            row
            for tp in table_pages
            # Label cells the template probe read are not read twice.
            for row in read_rows(
                tp.prepared,
                tp.grid,
                self.engine,
                _boxed(probed.get(tp.prepared.number, {})),
                partial(is_catalogue_label, catalogue=self.catalogue, aliases=aliases),
            )
        ]
        matches = map_rows(rows, self.catalogue, aliases)
        matched = [m for m in matches if m.row is not None]
        if len(matched) < _MIN_MATCHED_SHARE * len(matches):
            return Extraction(self._no_template(document, started), [])
        used_pages = sorted({m.row.page for m in matched if m.row is not None})
        table_pages = [tp for tp in table_pages if tp.prepared.number in used_pages]
        metadata = self._metadata(document, table_pages[0], {tp.prepared.number for tp in scanned})
        fields = self._fields(matches, {tp.prepared.number: tp.prepared for tp in table_pages})
        confidence = round(sum(m.similarity for m in matches) / len(matches), 3)
        result = ExtractionResult(
            source=document.source,
            template=TemplateInfo(id=self.catalogue.id, pages=used_pages, confidence=confidence),
            report=ReportInfo(unit_name=metadata.unit_name, year=metadata.year),
            status="needs_review" if any(f.status == "review" for f in fields) else "extracted",
            fields=fields,
            run=self._run_info(document, started),
        )
        return Extraction(result, table_pages)

    # -- stages ------------------------------------------------------------------------------
    def _find_table_pages(self, document: Document) -> list[TablePage]:
        found = []
        for page in document.pages():
            prepared = prepare_page(page)
            grid = find_grid(prepared)
            tables = tuple(find_tables(prepared))
            if grid is not None or tables:
                found.append(TablePage(page, prepared, grid, tables))
        return found

    def _detect_template(self, pages: list[TablePage]) -> tuple[TemplateGuess | None, dict[int, CellReads]]:
        """The form, from the header and first-column cells of the tables, page by page until it
        is clear (the reads are kept for the matrix path)."""
        probed: dict[int, CellReads] = {}
        texts: list[str] = []
        guess = None
        for tp in pages:
            cells = [cell for table in tp.tables for cell in probe_cells(table)]
            reads = read_cells(tp.prepared, cells, self.engine, plausible=is_form_text) if cells else {}
            probed[tp.prepared.number] = reads
            texts.extend(read.text for read in reads.values() if read.text)
            guess = detect_template(texts)
            if is_decided(guess):
                break
        return guess, probed

    def _metadata(self, document: Document, first: TablePage, table_pages: set[int]) -> Metadata:
        """From the heading above the table; where a seal lies over the heading or it lacks
        the name or year, the narrative's title on the first page is read as well."""
        top = first.grid.frame[1]
        lines = read_heading(first.prepared, top, self.engine)
        heading = parse_heading(lines)
        if heading.year is None:
            heading = replace(heading, year=read_year_under_title(first.prepared, lines, self.engine))
        sealed = any(seal.box[1] < top for seal in first.prepared.seals)
        if heading.unit_name and heading.year and not sealed:
            return heading
        if 1 in table_pages:
            return heading  # the table page comes first: no narrative title
        title = parse_title(read_title(prepare_page(document.page(1)), self.engine))
        return with_title(heading, title)

    def _fields(self, matches: list[RowMatch], pages: dict[int, PreparedPage]) -> list[FieldResult]:
        parsed = {m.indicator.code: _parse(m) for m in matches}
        values = {code: p.value if p else None for code, p in parsed.items()}
        # Fields going to a person anyway: a rule they break is put down to them first.
        first = {m.indicator.code: self._routing(m, parsed[m.indicator.code], []) for m in matches}
        doubts = {code: routing.reasons for code, routing in first.items() if routing.status == "review"}
        checks = check_rules(values, self.catalogue)
        validation = reasons_by_code(checks, values, doubts)
        settled = corroborated(checks, values, doubts)
        routed = {
            m.indicator.code: self._routing(m, parsed[m.indicator.code], validation.get(m.indicator.code, []), settled)
            for m in matches
        }
        implied = self._implied(matches, parsed, routed)
        for m in matches:
            code = m.indicator.code
            if code in implied:
                routed[code] = self._routing(m, parsed[code], [*validation.get(code, []), INFERRED], settled)
        return [self._field(m, parsed[m.indicator.code], routed[m.indicator.code], implied, pages) for m in matches]

    def _implied(
        self, matches: list[RowMatch], parsed: dict[str, ParsedValue | None], routed: dict[str, Routing]
    ) -> dict[str, int | float]:
        """Values the rules imply, from the fields accepted, for the cells that could not be read."""
        trusted = {
            code: value.value
            for code, value in parsed.items()
            if value is not None and routed[code].status == "accepted"
        }
        unread = {m.indicator.code for m in matches if _unread(m, parsed[m.indicator.code])}
        return implied_values(self.catalogue.rules, trusted, unread)

    def _routing(
        self, match: RowMatch, parsed: ParsedValue | None, validation: list[str], settled: set[str] | None = None
    ) -> Routing:
        row = match.row
        if row is None or parsed is None:
            return route(FieldEvidence(False, 0, 0, 0, ()), self.settings.routing)
        reasons = [*parsed.reasons, *_row_reasons(row, match.indicator, parsed), *validation]
        evidence = FieldEvidence(
            found=True,
            ocr_score=row.value.score,
            min_char_score=row.value.min_char_score,
            label_match=match.similarity,
            reasons=tuple(reasons),
            in_sum_that_holds=match.indicator.code in (settled or set()),
        )
        return route(evidence, self.settings.routing)

    def _field(
        self,
        match: RowMatch,
        parsed: ParsedValue | None,
        routing: Routing,
        implied: Mapping[str, int | float],
        pages: dict[int, PreparedPage],
    ) -> FieldResult:
        indicator, row = match.indicator, match.row
        if row is None or parsed is None:
            return field_result(indicator, None, None, routing)
        value = implied.get(indicator.code, parsed.value)
        where = {
            "page": row.page,
            "bbox": pages[row.page].original_box(row.value_box),
            "label_read": row.label.text,
            "unit_read": row.unit.text,
        }
        return field_result(indicator, value, row.value.text, routing).model_copy(update=where)

    def _no_template(self, document: Document, started: float) -> ExtractionResult:
        return ExtractionResult(
            source=document.source,
            template=None,
            report=ReportInfo(),
            status="needs_review",
            fields=[],
            run=self._run_info(document, started),
        )

    def _run_info(self, document: Document, started: float) -> RunInfo:
        seconds = time.perf_counter() - started
        return RunInfo(
            docextract_version=__version__,
            ocr_engine=self.engine.name,
            thresholds=self.settings.routing.model_dump(),
            seconds=round(seconds, 3),
            page_seconds=round(seconds / max(document.page_count, 1), 3),
        )


def _boxed(reads: CellReads) -> list[tuple[tuple[float, float, float, float], CellRead]]:
    return [(cell.box, read) for cell, read in reads.items()]


def _parse(match: RowMatch) -> ParsedValue | None:
    if match.row is None:
        return None
    parsed = parse_value(match.row.value.text, decimal_allowed=match.indicator.unit == "万元")
    if match.row.value.slanted and not parsed.is_dash:
        # One stroke leaning like "/", read as a digit: it is the printed slash (no value).
        return ParsedValue(None, is_dash=True, repaired=True, readable=True)
    return parsed


def _unread(match: RowMatch, parsed: ParsedValue | None) -> bool:
    """See `gave_no_number`. A heading row's cell is mostly blank: unread only where digits were read."""
    row = match.row
    if row is None or parsed is None:
        return False
    if match.indicator.is_heading:
        return not parsed.readable and any(ch.isdigit() for ch in row.value.text)
    return gave_no_number(parsed, row.value.text, row.value.blank, row.seal_over_value)


def _row_reasons(row: TableRow, indicator: Indicator, parsed: ParsedValue) -> list[str]:
    reasons = []
    if row.seal_over_value:
        reasons.append("seal_overlap")
    unit = normalize_unit(row.unit.text)
    if unit and unit != normalize_unit(indicator.unit):
        reasons.append("unit_mismatch")
    if row.value.isolated:
        reasons.append("digits_isolated")  # marks beside the digits were left out: one may be a digit
    elif too_wide(row.value):
        reasons.append("width_mismatch")  # a faint digit lost, or marks beside the number
    if row.value.blank and not indicator.is_heading:
        reasons.append("blank_value")  # a count row left empty is unusual: a person checks
    return reasons
