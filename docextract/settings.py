"""One Settings object for the whole product, read from DOCEXTRACT_* environment variables.

Nested groups use a double underscore: DOCEXTRACT_LIMITS__MAX_PAGES=200.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LimitSettings(BaseModel):
    """Bounds on what one input may cost; past them the input fails with a reason."""

    max_bytes: int = Field(300 * 1024 * 1024, description="largest input file")
    max_pages: int = Field(300, description="most pages in one document")
    max_page_pixels: int = Field(80_000_000, description="most pixels in one page image")
    min_page_side: int = Field(200, description="smallest page side in pixels worth reading")


class OcrSettings(BaseModel):
    threads: int = Field(0, description="onnxruntime intra-op threads per process; 0 lets onnxruntime choose")


class RoutingSettings(BaseModel):
    """Thresholds of the routing stage; recorded with every result."""

    min_value_confidence: float = Field(0.93, description="OCR score below which a value is reviewed")
    min_char_confidence: float = Field(0.80, description="weakest digit below which it is reviewed")
    min_label_match: float = Field(0.62, description="label similarity below which it is reviewed")
    min_accept_confidence: float = Field(0.90, description="combined confidence to accept")
    min_confidence_in_sum: float = Field(
        0.5, description="OCR score from which a value in a sum that adds up is accepted despite a seal or weak read"
    )
    min_unit_confidence: float = Field(0.9, description="OCR score of the unit line below which its name is reviewed")
    min_year_confidence: float = Field(0.9, description="OCR score of the year's line below which it is reviewed")
    min_title_mend_ratio: float = Field(
        60, description="rapidfuzz ratio from which the narrative title's name replaces a damaged unit-line read"
    )
    max_unit_mend_distance: int = Field(
        2,
        description="characters lost or added (a changed one counts two) within which a unit read is mended to "
        "the known unit (gazetteer) nearest it",
    )


class ReviewSettings(BaseModel):
    """The human review queue."""

    lease_seconds: int = Field(600, ge=1, description="how long a reviewer holds a document's items")


class TemplateSettings(BaseModel):
    """Where the forms come from: the built-in folders, and a deployment's own."""

    dirs: list[Path] = Field(
        default_factory=list,
        description="folders holding more template folders (each with a template.toml); a JSON list",
    )


class GazetteerSettings(BaseModel):
    """The units a deployment knows, beside the built-in models/gazetteer/units.txt."""

    files: list[Path] = Field(
        default_factory=list, description="text files of unit names, one a line (or CSV, first column); a JSON list"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCEXTRACT_", env_nested_delimiter="__", extra="ignore")

    database_url: str = "sqlite:///var/docextract.db"
    broker_url: str = "redis://127.0.0.1:6379/0"
    storage_dir: Path = Path("var/storage")
    limits: LimitSettings = LimitSettings()
    ocr: OcrSettings = OcrSettings()
    routing: RoutingSettings = RoutingSettings()
    review: ReviewSettings = ReviewSettings()
    templates: TemplateSettings = TemplateSettings()
    gazetteer: GazetteerSettings = GazetteerSettings()


@cache
def get_settings() -> Settings:
    return Settings()
