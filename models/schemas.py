"""The result JSON of the extraction contract, `docs/contract.md` (schema_version "1").

These are the types downstream systems see; the pipeline builds them, the service stores
and serves them. Additions are allowed by the contract; removals need a schema bump.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"


class FieldStatus(StrEnum):
    """accepted/review come from the pipeline; corrected/confirmed are set by human review
    (the service). The result JSON and the database hold the same values."""

    accepted = "accepted"
    review = "review"
    corrected = "corrected"
    confirmed = "confirmed"


DECIDED_STATUSES = frozenset({FieldStatus.corrected.value, FieldStatus.confirmed.value})  # a person's


class ReportSubject(StrEnum):
    """What of the report itself, beside its fields, a person may be asked to decide."""

    unit_name = "unit_name"
    year = "year"

    @property
    def prefix(self) -> str:
        """Its keys' prefix in `ReportInfo`: unit_status, unit_reasons; year_status, year_reasons."""
        return "unit" if self is ReportSubject.unit_name else "year"


DocumentResultStatus = Literal["extracted", "needs_review"]
Number = int | float


class SourceInfo(BaseModel):
    filename: str
    sha256: str = Field(description="hex SHA-256 of the input bytes")
    pages: int


class TemplateInfo(BaseModel):
    id: str = Field(description="catalogue id, e.g. GK2008")
    pages: list[int] = Field(description="1-based pages that carry table rows")
    confidence: float


class ReportInfo(BaseModel):
    unit_name: str | None = Field(None, description="填报单位 as printed on the unit line (mended where flagged)")
    year: int | None = Field(None, description="the year the report covers")
    # Additions to the contract: how sure each is, like a field's (null in results made before).
    unit_read: str | None = Field(None, description="the unit name as read on its line, before any mending")
    unit_confidence: float | None = None
    unit_status: FieldStatus | None = Field(None, description="accepted or review, as a field's")
    unit_reasons: list[str] = Field(default_factory=list)
    year_confidence: float | None = None
    year_status: FieldStatus | None = None
    year_reasons: list[str] = Field(default_factory=list)
    heading_page: int | None = Field(None, description="1-based page where the unit name and year were read")
    heading_bbox: list[float] | None = Field(None, description="[x0, y0, x1, y1] of that heading, in page pixels")
    machine_unit_name: str | None = Field(
        None, description="once a person decided the unit name (unit_status corrected/confirmed), the pipeline's"
    )
    machine_year: int | None = Field(None, description="once a person decided the year, the pipeline's")

    def in_review(self) -> list[ReportSubject]:
        """The subjects the pipeline left for a person."""
        return [subject for subject in ReportSubject if getattr(self, f"{subject.prefix}_status") == FieldStatus.review]


class FieldResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    label: str = Field(description="the catalogue label of the code")
    unit: str
    value: Number | None = Field(description="the printed number; null for blank or dash")
    text: str | None = Field(description="what was read in the value cell, as read")
    confidence: float
    status: FieldStatus
    reasons: list[str] = Field(default_factory=list)
    page: int | None = Field(None, description="1-based page of the value cell")
    bbox: list[float] | None = Field(None, description="[x0, y0, x1, y1] in page pixels")
    # Additions to the contract, for reviewers and audits.
    label_read: str | None = Field(None, description="the row label as read")
    unit_read: str | None = Field(None, description="the unit cell as read")
    machine_value: Number | None = Field(
        None,
        description="once a person corrected or confirmed the field (status corrected/confirmed), `value` is "
        "theirs and this is what the pipeline extracted; null before",
    )


PageSource = Literal["text_layer", "ocr"]  # a page read from its PDF text layer, or by OCR


class RunInfo(BaseModel):
    """What is needed to reproduce a result: versions and thresholds in force."""

    docextract_version: str
    ocr_engine: str
    thresholds: dict[str, float]
    seconds: float
    page_seconds: float
    stage_seconds: dict[str, float] = Field(
        default_factory=dict,
        description="seconds per stage: load, prepare, find_tables, detect, read, map, metadata, decide",
    )
    page_sources: dict[int, PageSource] = Field(
        default_factory=dict,
        description="how each page was read: from its PDF text layer (checked against its image) or by OCR",
    )


class ExtractionResult(BaseModel):
    schema_version: Literal["1"] = SCHEMA_VERSION
    source: SourceInfo
    template: TemplateInfo | None
    report: ReportInfo
    status: DocumentResultStatus
    fields: list[FieldResult]
    run: RunInfo | None = None

    def field(self, code: str) -> FieldResult:
        return next(f for f in self.fields if f.code == code)
