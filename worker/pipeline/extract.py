"""The whole pipeline for one document: the CLI and the Celery tasks both call `Extractor`.

Pages without a ruled table are recognised as such from their lines alone and never sent
to OCR; on table pages only the cells and the few heading lines above the table are read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from docextract import __version__
from docextract.settings import Settings, get_settings
from models.catalogue import Catalogue, Indicator, load_catalogue
from models.schemas import (
    ExtractionResult,
    FieldResult,
    ReportInfo,
    RunInfo,
    TemplateInfo,
)
from worker.pipeline.layout import TableGrid, find_grid
from worker.pipeline.load import Document, PageImage, open_document
from worker.pipeline.mapping import RowMatch, map_rows, normalize_unit
from worker.pipeline.metadata import Metadata, parse_heading, read_heading
from worker.pipeline.ocr import OcrEngine, RapidOcrEngine
from worker.pipeline.preprocess import PreparedPage, prepare_page
from worker.pipeline.route import FieldEvidence, route
from worker.pipeline.rows import TableRow, read_rows
from worker.pipeline.validate import check_rules, reasons_by_code
from worker.pipeline.values import ParsedValue, parse_value

_MIN_MATCHED_SHARE = 0.4  # below this share of codes matched, the table is not this template


@dataclass(frozen=True)
class TablePage:
    page: PageImage
    prepared: PreparedPage
    grid: TableGrid


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

    def extract_file(self, path: Path, filename: str | None = None) -> ExtractionResult:
        """Extract one file. Raises InputError when it cannot be read."""
        return self.extract_file_detailed(path, filename).result

    def extract_file_detailed(self, path: Path, filename: str | None = None) -> Extraction:
        with open_document(path, self.settings.limits, filename) as document:
            return self.extract_document(document)

    def extract_document(self, document: Document) -> Extraction:
        started = time.perf_counter()
        table_pages = self._find_table_pages(document)
        rows = [row for tp in table_pages for row in read_rows(tp.prepared, tp.grid, self.engine)]
        matches = map_rows(rows, self.catalogue)
        matched = [m for m in matches if m.row is not None]
        if len(matched) < _MIN_MATCHED_SHARE * len(matches):
            return Extraction(self._no_template(document, started), [])
        used_pages = sorted({m.row.page for m in matched if m.row is not None})
        table_pages = [tp for tp in table_pages if tp.prepared.number in used_pages]
        metadata = self._metadata(table_pages[0])
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
            if grid is not None:
                found.append(TablePage(page, prepared, grid))
        return found

    def _metadata(self, first: TablePage) -> Metadata:
        lines = read_heading(first.prepared, first.grid.frame[1], self.engine)
        return parse_heading(lines)

    def _fields(self, matches: list[RowMatch], pages: dict[int, PreparedPage]) -> list[FieldResult]:
        parsed = {m.indicator.code: _parse(m) for m in matches}
        checks = check_rules({c: p.value if p else None for c, p in parsed.items()}, self.catalogue)
        validation = reasons_by_code(checks)
        return [
            self._field(m, parsed[m.indicator.code], validation.get(m.indicator.code, []), pages)
            for m in matches
        ]

    def _field(
        self,
        match: RowMatch,
        parsed: ParsedValue | None,
        validation: list[str],
        pages: dict[int, PreparedPage],
    ) -> FieldResult:
        indicator, row = match.indicator, match.row
        if row is None or parsed is None:
            routing = route(FieldEvidence(False, 0, 0, 0, ()), self.settings.routing)
            return _field_result(indicator, None, None, routing.confidence, routing.status, routing.reasons)
        reasons = [*parsed.reasons, *_row_reasons(row, indicator, parsed), *validation]
        evidence = FieldEvidence(
            found=True,
            ocr_score=row.value.score,
            min_char_score=row.value.min_char_score,
            label_match=match.similarity,
            reasons=tuple(reasons),
        )
        routing = route(evidence, self.settings.routing)
        prepared = pages[row.page]
        return FieldResult(
            code=indicator.code,
            label=indicator.label,
            unit=indicator.unit,
            value=parsed.value,
            text=row.value.text,
            confidence=routing.confidence,
            status=routing.status,  # type: ignore[arg-type]
            reasons=routing.reasons,
            page=row.page,
            bbox=prepared.original_box(row.value_box),
            label_read=row.label.text,
            unit_read=row.unit.text,
        )

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


def _parse(match: RowMatch) -> ParsedValue | None:
    if match.row is None:
        return None
    return parse_value(match.row.value.text, decimal_allowed=match.indicator.unit == "万元")


def _row_reasons(row: TableRow, indicator: Indicator, parsed: ParsedValue) -> list[str]:
    reasons = []
    if row.seal_over_value:
        reasons.append("seal_overlap")
    if row.value.slanted and parsed.value is not None:
        reasons.append("ocr_confusion")  # a leaning stroke read as a digit may be a "/"
    unit = normalize_unit(row.unit.text)
    if unit and unit != normalize_unit(indicator.unit):
        reasons.append("unit_mismatch")
    if row.value.blank and not indicator.is_heading:
        reasons.append("blank_value")  # a count row left empty is unusual: a person checks
    return reasons


def _field_result(
    indicator: Indicator,
    value: int | float | None,
    text: str | None,
    confidence: float,
    status: str,
    reasons: list[str],
) -> FieldResult:
    return FieldResult(
        code=indicator.code,
        label=indicator.label,
        unit=indicator.unit,
        value=value,
        text=text,
        confidence=confidence,
        status=status,  # type: ignore[arg-type]
        reasons=reasons,
    )
