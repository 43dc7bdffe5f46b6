"""The whole pipeline for one document: the CLI and the Celery tasks both call `Extractor`.

    load → prepare → find tables → detect the template → read (its layout reader: read the
    cells, map them to codes) → decide (route, rules, implied values) → result

Pages without a ruled table are recognised as such from their lines alone and never sent
to OCR; on table pages only the cells and the few heading lines above the table are read.
The template is detected from a few header and first-column cells (`templates`) among the
registered ones (`models.template`), and read by the reader its folder names: `list_reader`
for label | unit | value lists, `matrix_reader` for ruled tables with merged cells. Every
template's fields are decided by one module (`decide`).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from docextract import __version__
from docextract.settings import Settings, get_settings
from models.schemas import ExtractionResult, PageSource, ReportInfo, RunInfo, TemplateInfo
from models.template import Layout, Template, registry
from worker.pipeline.confirm import confirmer
from worker.pipeline.decide import decide, document_status
from worker.pipeline.gazetteer import BUILT_IN, Gazetteer
from worker.pipeline.layout import find_grid
from worker.pipeline.learnt import Learnt
from worker.pipeline.list_reader import read_list
from worker.pipeline.load import Document, PageImage, open_document
from worker.pipeline.matrix import CellReads, find_tables, read_cells
from worker.pipeline.matrix_reader import read_matrix
from worker.pipeline.ocr import OcrEngine, RapidOcrEngine
from worker.pipeline.preprocess import PreparedPage, prepare_page
from worker.pipeline.readers import LayoutReader, PageRegion, Reading, ReadJob, Stopwatch, TablePage
from worker.pipeline.report_trust import ReportDecision, decide_report
from worker.pipeline.templates import TemplateGuess, Vocabulary, detect_template, is_decided, is_form_text, probe_cells
from worker.pipeline.textlayer import LayerCheck

PageSources = dict[int, PageSource]

READERS: dict[Layout, LayoutReader] = {"list": read_list, "matrix": read_matrix}


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
        self.templates: dict[str, Template] = registry(tuple(self.settings.templates.dirs))
        self.vocabulary = Vocabulary.of(self.templates.values())
        self.gazetteer = Gazetteer.load([BUILT_IN, *self.settings.gazetteer.files])

    def extract_file(self, path: Path, filename: str | None = None, learnt: Learnt | None = None) -> ExtractionResult:
        """Extract one file. Raises InputError when it cannot be read."""
        return self.extract_file_detailed(path, filename, learnt).result

    def extract_file_detailed(
        self, path: Path, filename: str | None = None, learnt: Learnt | None = None
    ) -> Extraction:
        clock, started = Stopwatch(), time.perf_counter()
        with ExitStack() as stack:
            with clock.stage("load"):
                document = stack.enter_context(open_document(path, self.settings.limits, filename))
            return self.extract_document(document, learnt, clock, started)

    def extract_document(
        self,
        document: Document,
        learnt: Learnt | None = None,
        clock: Stopwatch | None = None,
        started: float | None = None,
    ) -> Extraction:
        clock = clock or Stopwatch()
        learnt = learnt or Learnt()
        started = started if started is not None else time.perf_counter()
        sources: PageSources = {}
        scanned, first = self._scan_pages(document, clock, sources)
        with clock.stage("detect"):
            guess, probed = self._detect_template(scanned)
        for template in self._candidates(guess):
            job = ReadJob(
                document=document,
                pages=scanned,
                template=template,
                probed=probed,
                engine=self.engine,
                thresholds=self.settings.routing,
                aliases=learnt.aliases.get(template.id, {}),
                clock=clock,
                first_page=first,
            )
            reading = READERS[template.layout](job)
            if reading is not None:
                return self._result(document, template, guess, reading, clock, started, sources, learnt)
        return Extraction(self._no_template(document, clock, started, sources), [])

    # -- stages ------------------------------------------------------------------------------
    def _find_table_pages(self, document: Document, clock: Stopwatch | None = None) -> list[TablePage]:
        return self._scan_pages(document, clock or Stopwatch(), {})[0]

    def _scan_pages(
        self, document: Document, clock: Stopwatch, sources: PageSources
    ) -> tuple[list[TablePage], PreparedPage]:
        """The pages with a ruled table, and page 1 prepared (its title names the report's
        issuer: kept so that no page is prepared twice); `sources` gets how each page is read."""
        layers = LayerCheck(self.engine)
        found = []
        first: PreparedPage | None = None
        pages = iter(document.pages())
        while True:
            with clock.stage("load"):
                page = next(pages, None)
            if page is None:
                assert first is not None  # a document has a page (load refuses an empty one)
                return found, first
            with clock.stage("prepare"):
                gray = cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY) if page.text_layer is not None else None
                page = _checked(page, layers, gray)
                sources[page.number] = "text_layer" if page.text_layer is not None else "ocr"
                prepared = prepare_page(page, gray)
            first = first or prepared
            with clock.stage("find_tables"):
                grid = find_grid(prepared)
                tables = tuple(find_tables(prepared))
            if grid is not None or tables:
                found.append(TablePage(page, prepared, grid, tables))

    def _detect_template(self, pages: list[TablePage]) -> tuple[TemplateGuess | None, dict[int, CellReads]]:
        """The form, from the header and first-column cells of the tables, page by page until it
        is clear (the reads are kept for the readers)."""
        probed: dict[int, CellReads] = {}
        texts: list[str] = []
        guess = None
        plausible = partial(is_form_text, vocabulary=self.vocabulary)
        for tp in pages:
            cells = [cell for table in tp.tables for cell in probe_cells(table)]
            reads = read_cells(tp.prepared, cells, self.engine, plausible=plausible) if cells else {}
            probed[tp.prepared.number] = reads
            texts.extend(read.text for read in reads.values() if read.text)
            guess = detect_template(texts, self.vocabulary)
            if is_decided(guess):
                break
        return guess, probed

    def _candidates(self, guess: TemplateGuess | None) -> list[Template]:
        """The detected template; without one, every list form in turn (a list table's first
        column is often too garbled to vote, its rows still map)."""
        if guess is not None:
            return [self.templates[guess.id]]
        lists = [t for t in self.templates.values() if t.layout == "list"]
        return sorted(lists, key=lambda t: -t.priority)

    def _result(
        self,
        document: Document,
        template: Template,
        guess: TemplateGuess | None,
        reading: Reading,
        clock: Stopwatch,
        started: float,
        sources: PageSources,
        learnt: Learnt,
    ) -> Extraction:
        with clock.stage("decide"):
            pages = {tp.prepared.number: tp.prepared for tp in reading.table_pages}
            second_reader = confirmer(pages, self.engine, self.settings.routing)
            fields = decide(reading.fields, template.catalogue.rules, self.settings.routing, second_reader)
            gazetteer = self.gazetteer.with_units(learnt.units)
            report = decide_report(reading.metadata, gazetteer, self.settings.routing)
        confidence = reading.confidence if reading.confidence is not None or guess is None else guess.confidence
        result = ExtractionResult(
            source=document.source,
            template=TemplateInfo(id=template.id, pages=reading.pages, confidence=confidence),
            report=_report_info(report, reading.heading),
            status="needs_review" if report.needs_review else document_status(fields),
            fields=fields,
            run=self._run_info(document, clock, started, sources),
        )
        return Extraction(result, reading.table_pages)

    def _no_template(
        self, document: Document, clock: Stopwatch, started: float, sources: PageSources
    ) -> ExtractionResult:
        return ExtractionResult(
            source=document.source,
            template=None,
            report=ReportInfo(),
            status="needs_review",
            fields=[],
            run=self._run_info(document, clock, started, sources),
        )

    def _run_info(self, document: Document, clock: Stopwatch, started: float, sources: PageSources) -> RunInfo:
        seconds = time.perf_counter() - started
        return RunInfo(
            docextract_version=__version__,
            ocr_engine=self.engine.name,
            thresholds=self.settings.routing.model_dump(),
            seconds=round(seconds, 3),
            page_seconds=round(seconds / max(document.page_count, 1), 3),
            stage_seconds=clock.rounded(),
            page_sources=sources,
        )


def _report_info(report: ReportDecision, heading: PageRegion | None) -> ReportInfo:
    unit, year = report.unit, report.year
    return ReportInfo(
        heading_page=heading.page if heading else None,
        heading_bbox=heading.box if heading else None,
        unit_name=unit.value,
        year=year.value,
        unit_read=unit.read,
        unit_confidence=unit.confidence,
        unit_status=unit.status,
        unit_reasons=list(unit.reasons),
        year_confidence=year.confidence,
        year_status=year.status,
        year_reasons=list(year.reasons),
    )


def _checked(page: PageImage, layers: LayerCheck, gray: np.ndarray | None) -> PageImage:
    """The page with its text layer trusted when it agrees with the image (`gray`, the page
    in grey), else without it."""
    layer = page.text_layer
    if layer is None:
        return page
    if gray is not None and layers.trusted(layer, gray):
        return replace(page, text_layer=replace(layer, trusted=True))
    return replace(page, text_layer=None)
