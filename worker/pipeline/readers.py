"""What a layout reader is given and gives back: the contract between `extract` and the two
readers (`list_reader` for label | unit | value lists, `matrix_reader` for ruled tables with
merged cells). A template names its reader in `template.toml` (`layout`)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from docextract.settings import RoutingSettings
from models.template import Template
from worker.pipeline.decide import FieldRead
from worker.pipeline.layout import TableGrid
from worker.pipeline.load import Document, PageImage
from worker.pipeline.matrix import CellReads, MatrixTable
from worker.pipeline.metadata import Box, Metadata
from worker.pipeline.ocr import OcrEngine
from worker.pipeline.preprocess import PreparedPage


@dataclass(frozen=True)
class TablePage:
    page: PageImage
    prepared: PreparedPage
    grid: TableGrid | None  # the label | unit | value grid of a list form
    tables: tuple[MatrixTable, ...] = ()  # every ruled table, merged cells kept (matrix forms)


@dataclass
class Stopwatch:
    """Seconds spent per stage of one document, summed over its pages."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def rounded(self) -> dict[str, float]:
        return {name: round(seconds, 3) for name, seconds in self.seconds.items()}


@dataclass(frozen=True)
class ReadJob:
    document: Document
    pages: list[TablePage]  # every page with a ruled table
    template: Template
    probed: dict[int, CellReads]  # cells read for detection, per page: not read again
    engine: OcrEngine
    thresholds: RoutingSettings
    aliases: Mapping[str, str]  # label spellings reviewers accepted: normalized label → code
    clock: Stopwatch
    first_page: PreparedPage  # page 1, whose title names the report's issuer

    @property
    def narrative_title_page(self) -> PreparedPage | None:
        """Page 1 when a narrative comes before the tables (page 1 holds no ruled table): its
        title is evidence of the unit line's name and year. None when the tables start it."""
        return None if any(tp.prepared.number == 1 for tp in self.pages) else self.first_page


@dataclass(frozen=True)
class PageRegion:
    """A box of a page, in the original page image's pixels (as fields' boxes are)."""

    page: int
    box: list[float]

    @classmethod
    def of(cls, page: PreparedPage, box: Box) -> PageRegion:
        return cls(page.number, page.original_box(box))


@dataclass(frozen=True)
class Reading:
    """One FieldRead per code (in result order), and where they were found."""

    fields: list[FieldRead]
    pages: list[int]  # the pages whose tables gave rows
    table_pages: list[TablePage]
    confidence: float | None  # how sure the reader is that the tables are this template (None: detection's)
    metadata: Metadata
    heading: PageRegion | None = None  # where the unit name and year were read: a reviewer's crop


class LayoutReader(Protocol):
    def __call__(self, job: ReadJob) -> Reading | None:
        """The template's fields from the table pages, or None when the tables are not it."""
        ...
