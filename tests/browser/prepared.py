"""Review test data without OCR: a generated table scan and the result the pipeline would give.

`generated_scan` renders one synthetic table page (the fixtures generator, ground truth with
every value cell's box); `PreparedExtractor` answers `extract_file` with that ground truth as
an `ExtractionResult`, except for the misreadings a test asks for, and flags fields the way
the pipeline does (the catalogue's rules run on what was "read"). Documents then go through
the worker's own steps (prepare → extract → persist).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docextract.settings import LimitSettings
from fixtures.generate import generate_document
from models.schemas import ExtractionResult, FieldResult, Number, ReportInfo, TemplateInfo
from models.template import load_catalogue
from worker.pipeline.learnt import Learnt
from worker.pipeline.load import open_document
from worker.pipeline.validate import check_rules, reasons_by_code

# A clean, upright, single-page table: the boxes of the ground truth are the page's pixels.
CLEAN_TABLE = {
    "container": "png",
    "split_table": False,
    "capture": "scan_color",
    "orientation": 0,
    "rotation": 0.0,
    "seal_over_values": False,
    "inconsistent": False,
    "dash_cells": 0,
    "blur": 0.0,
    "noise": 0.0,
}


def generated_scan(out_dir: Path, index: int) -> tuple[Path, dict[str, Any]]:
    """A PNG table page and its ground truth; distinct bytes per index."""
    truth = generate_document(7, index, out_dir, **CLEAN_TABLE)
    return out_dir / truth["file"], truth


@dataclass(frozen=True)
class Misread:
    """What the machine "read" instead of the truth, and the reasons it gave."""

    value: Number | None
    reasons: tuple[str, ...] = ("low_ocr_confidence",)
    label_read: str | None = None  # None: the catalogue label was read exactly


@dataclass
class PreparedExtractor:
    """`extract_file` for documents whose ground truth is known, keyed by the file's sha256."""

    truths: dict[str, tuple[dict[str, Any], dict[str, Misread]]] = field(default_factory=dict)
    calls: int = 0

    def add(self, path: Path, truth: dict[str, Any], misreads: dict[str, Misread]) -> None:
        self.truths[hashlib.sha256(path.read_bytes()).hexdigest()] = (truth, misreads)

    def extract_file(self, path: Path, filename: str | None = None, learnt: Learnt | None = None) -> ExtractionResult:
        self.calls += 1
        with open_document(path, LimitSettings(), filename) as document:
            source = document.source
        truth, misreads = self.truths[source.sha256]
        return prepared_result(truth, misreads, source)


def prepared_result(truth: dict[str, Any], misreads: dict[str, Misread], source: Any) -> ExtractionResult:
    catalogue = load_catalogue(truth["template"])
    values = {code: truth["fields"].get(code) for code in catalogue.codes}
    values |= {code: m.value for code, m in misreads.items()}
    flagged = reasons_by_code(check_rules(values, catalogue.rules))
    fields = []
    for indicator in catalogue.indicators:
        misread = misreads.get(indicator.code)
        reasons = [*(misread.reasons if misread else ()), *flagged.get(indicator.code, [])]
        cell = truth["value_cells"][indicator.code]
        value = values[indicator.code]
        fields.append(
            FieldResult(
                code=indicator.code,
                label=indicator.label,
                unit=indicator.unit,
                value=value,
                text=None if value is None else str(value),
                confidence=0.42 if reasons else 0.99,
                status="review" if reasons else "accepted",
                reasons=reasons,
                page=cell["page"],
                bbox=cell["bbox"],
                label_read=misread.label_read if misread and misread.label_read else indicator.label,
                unit_read=indicator.unit,
            )
        )
    return ExtractionResult(
        source=source,
        template=TemplateInfo(id=truth["template"], pages=truth["table_pages"], confidence=0.97),
        report=ReportInfo(unit_name=truth["unit_name"], year=truth["year"]),
        status="needs_review" if any(f.status == "review" for f in fields) else "extracted",
        fields=fields,
    )
