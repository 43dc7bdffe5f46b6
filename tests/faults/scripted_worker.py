"""`docextract worker` with a scripted extractor instead of OCR: for tests about the queue and
the database, not about reading scans. Test-only: it lives under tests/, which is not part of
the installed package, so no production configuration can reach it.

The document's bytes say what the extractor does (markers after the image data, which image
decoders ignore): `DX-SLEEP:<seconds>` takes that long, `DX-POISON-KILL` kills the worker
process running it, `DX-POISON-RAISE` raises. Every page is decoded (as the pipeline
would), then a made-up result is given at once. With DX_TEST_STARTS_LOG set to a file, each
extraction appends `start <sha256> <pid> <time>` when it starts and `end ...` when it ends,
so that a test can count how often, and in which processes at once, a document ran.

    python -m tests.faults.scripted_worker [docextract worker options]
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

from docextract.settings import LimitSettings, get_settings
from models.schemas import ExtractionResult
from tests.service.conftest import FakeExtractor
from worker.pipeline.learnt import Learnt
from worker.pipeline.load import open_document

SLEEP = re.compile(rb"DX-SLEEP:(\d+(?:\.\d+)?)")


class PoisonError(RuntimeError):
    pass


class ScriptedExtractor(FakeExtractor):
    def __init__(self, review: tuple[str, ...] = (), limits: LimitSettings | None = None) -> None:
        super().__init__(review=review)
        self.limits = limits  # None: the environment's (DOCEXTRACT_LIMITS__*)

    def extract_file(self, path: Path, filename: str | None = None, learnt: Learnt | None = None) -> ExtractionResult:
        _record("start", path)
        result = self._extract(path, filename, learnt)
        _record("end", path)
        return result

    def _extract(self, path: Path, filename: str | None = None, learnt: Learnt | None = None) -> ExtractionResult:
        data = path.read_bytes()
        if b"DX-POISON-KILL" in data:
            os.kill(os.getpid(), signal.SIGKILL)
        if b"DX-POISON-RAISE" in data:
            raise PoisonError("this document always crashes the extractor")
        if match := SLEEP.search(data):
            time.sleep(float(match.group(1)))
        with open_document(path, self.limits or get_settings().limits, filename) as document:
            for _page in document.pages():  # decode like the pipeline: bad pages fail here
                pass
        return super().extract_file(path, filename, learnt)


def _record(event: str, path: Path) -> None:
    if log := os.environ.get("DX_TEST_STARTS_LOG"):
        with open(log, "a") as out:  # one short append: whole lines even from several processes
            out.write(f"{event} {path.name} {os.getpid()} {time.time():.3f}\n")


def main(argv: list[str]) -> None:
    import typer

    from docextract.cli_service import worker
    from worker.runtime import get_runtime

    # Built in the parent and inherited by each forked pool process (which then drops the
    # parent's database connections), so every process extracts with the scripted extractor.
    get_runtime()._extractor_factory = lambda _settings: ScriptedExtractor(review=())
    app = typer.Typer()
    app.command()(worker)
    app(argv, standalone_mode=True)


if __name__ == "__main__":
    main(sys.argv[1:])
