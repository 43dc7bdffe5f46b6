"""`docextract extract` over the hostile corpus and one good scan: one line per bad file on
standard error, exit status 1, and the batch goes on to extract the good one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.hostile.corpus import LIMITS, corpus

pytestmark = pytest.mark.ocr
ROOT = Path(__file__).resolve().parents[2]


def test_cli_reports_each_bad_input_and_extracts_the_good_one(tmp_path: Path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    hostile = corpus()
    paths = []
    for item in hostile:
        (inputs / item.name).write_bytes(item.data)
        paths.append(inputs / item.name)
    good = inputs / "good.jpg"
    shutil.copy(SAMPLES / "gk2008-photo.jpg", good)
    paths.insert(len(paths) // 2, good)  # in the middle: the files after it still run
    env = os.environ | {
        "DOCEXTRACT_LIMITS__MAX_BYTES": str(LIMITS.max_bytes),
        "DOCEXTRACT_LIMITS__MAX_PAGES": str(LIMITS.max_pages),
        "DOCEXTRACT_LIMITS__MAX_PAGE_PIXELS": str(LIMITS.max_page_pixels),
    }
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from docextract.cli import main; main()",
            "extract",
            *map(str, paths),
            "--out",
            str(tmp_path / "out"),
            "-j",
            "1",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == len(hostile), run.stderr
    for line, item in zip(lines, hostile, strict=True):
        assert line.startswith(f"docextract: {inputs / item.name}: {item.reason}"), line
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.json"]
    result = json.loads((tmp_path / "out" / "good.json").read_text(encoding="utf-8"))
    assert result["source"]["filename"] == "good.jpg"
    assert result["status"] in ("extracted", "needs_review")
