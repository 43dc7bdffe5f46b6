"""Shared test helpers: the repository's sample scans, the optional ../shared acceptance sets,
and one real Extractor.

Tests marked `shared` read ../shared (the sets beside the repository: samples, GK2021 report).
They are collected only when it is there; a lone clone runs everything else and says in one
line of the summary how many acceptance tests it left out (never skips, which read as defects).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared"
SHARED_SAMPLES = SHARED / "samples"
SHARED_GK2021 = SHARED / "samples-gk2021"
SHARED_MARK = "shared"
_uncollected = pytest.StashKey[int]()


def sample_gt(name: str) -> dict:
    """The ground truth of a scan in samples/ (by file name or stem)."""
    return read_gt(SAMPLES, name)


def read_gt(directory: Path, name: str) -> dict:
    return json.loads((directory / "gt" / f"{Path(name).stem}.json").read_text(encoding="utf-8"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{SHARED_MARK}: an acceptance test over ../shared, collected only when it is present"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED.is_dir():
        return
    left_out = [item for item in items if item.get_closest_marker(SHARED_MARK)]
    items[:] = [item for item in items if not item.get_closest_marker(SHARED_MARK)]
    config.stash[_uncollected] = len(left_out)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    count = config.stash.get(_uncollected, 0)
    if count:
        terminalreporter.write_line(f"../shared not found: {count} acceptance tests over the shared sets not collected")


@pytest.fixture(scope="session")
def extractor():
    """One real Extractor (PP-OCR models loaded once) for the tests that run OCR."""
    from worker.pipeline.extract import Extractor

    return Extractor()
