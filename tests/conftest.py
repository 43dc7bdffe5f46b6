"""Shared test helpers: where the shared samples live, and synthetic page drawing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "samples"


def sample_gt(name: str) -> dict:
    return json.loads((SAMPLES / "gt" / f"{Path(name).stem}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def extractor():
    """One real Extractor (PP-OCR models loaded once) for the tests that run OCR."""
    from worker.pipeline.extract import Extractor

    return Extractor()
