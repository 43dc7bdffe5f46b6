"""API-only settings, read from DOCEXTRACT_API__* (shared ones live in docextract.settings)."""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCEXTRACT_API__", extra="ignore")

    max_file_bytes: int | None = Field(None, description="largest uploaded file; default: DOCEXTRACT_LIMITS__MAX_BYTES")
    max_files_per_request: int = Field(100, description="most `files` parts in one upload")
    max_request_bytes: int = Field(2 * 1024**3, description="largest upload request body, all parts together")
    max_list_limit: int = Field(200, description="most documents in one listing page")
    export_max_documents: int = Field(20_000, description="most documents in one export")


@cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()
