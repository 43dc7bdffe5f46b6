"""What the accuracy benchmarks share: a set's scans, their ground truth, and when a value is right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCAN_SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}


def set_scans(directory: Path) -> list[Path]:
    """The scans of a set, in name order (its ground truth is `gt/<stem>.json` beside them)."""
    return sorted(p for p in directory.iterdir() if p.suffix.lower() in SCAN_SUFFIXES)


def ground_truth(scan: Path) -> dict[str, Any]:
    return json.loads((scan.parent / "gt" / f"{scan.stem}.json").read_text(encoding="utf-8"))


def same(value: float | None, truth: float | None) -> bool:
    """A value is right when it is the printed number (to float precision), or both are null."""
    if value is None or truth is None:
        return value is None and truth is None
    return abs(float(value) - float(truth)) < 1e-9
