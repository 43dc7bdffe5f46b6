"""Every hostile input gets an InputError with a clear reason from the load stage, and the
expensive ones are refused before they are decoded: bounded time and memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.corpus import LIMITS, Hostile, bomb_png, corpus, huge_tiff
from worker.pipeline.errors import InputError
from worker.pipeline.load import open_document

ROOT = Path(__file__).resolve().parents[2]
CORPUS = corpus()


@pytest.mark.parametrize("hostile", CORPUS, ids=[h.name for h in CORPUS])
def test_hostile_input_is_refused_with_its_reason(tmp_path: Path, hostile: Hostile):
    path = tmp_path / "input"
    path.write_bytes(hostile.data)
    with pytest.raises(InputError) as error, open_document(path, LIMITS, hostile.name) as document:
        for _ in document.pages():
            pass
    assert error.value.reason.startswith(hostile.reason), error.value.reason
    assert "\n" not in error.value.reason


# Runs in a fresh interpreter so that its peak RSS is the loader's alone.
_MEASURE = """
import json, resource, sys, time
from pathlib import Path
from tests.hostile.corpus import LIMITS
from worker.pipeline.errors import InputError
from worker.pipeline.load import open_document
import worker.pipeline.load, PIL.TiffImagePlugin, PIL.PngImagePlugin, pypdfium2  # imports are not the input's cost
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    with open_document(Path(sys.argv[1]), LIMITS) as document:
        document.page(1)
    reason = None
except InputError as exc:
    reason = exc.reason
print(json.dumps({"reason": reason, "seconds": time.perf_counter() - started,
                  "grew_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}))
"""


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("bomb.png", bomb_png, "image too large"),  # 2.7 GB decoded
        ("huge.tif", huge_tiff, "image too large"),  # 30 GB decoded
        ("thousands-of-pages.pdf", None, "too many pages (5000 > 50)"),
        ("huge-page.pdf", None, "page too large"),  # 4.8 GB rendered
    ],
)
def test_expensive_inputs_are_refused_in_bounded_memory_and_time(tmp_path: Path, name, make, reason):
    data = make() if make else next(h.data for h in CORPUS if h.name == name)
    path = tmp_path / name
    path.write_bytes(data)
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    measured = json.loads(run.stdout)
    assert measured["reason"].startswith(reason)
    assert measured["grew_mb"] < 60, measured
    assert measured["seconds"] < 2, measured
