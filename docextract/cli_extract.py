"""`docextract extract`: the whole pipeline in-process, offline, with no service."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from models.schemas import ExtractionResult
from worker.pipeline.errors import InputError

if TYPE_CHECKING:
    from worker.pipeline.extract import Extractor

_worker_extractor: Extractor | None = None  # one Extractor per worker process: models load once


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)


def extract(
    inputs: Annotated[list[Path], typer.Argument(help="scanned reports: PDF, TIFF, PNG or JPEG")],
    out: Annotated[Path | None, typer.Option("--out", help="write DIR/<name>.json per input")] = None,
    overlay: Annotated[
        Path | None, typer.Option("--overlay", help="write each table page with its fields drawn")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="documents in parallel (0: one per CPU core)")] = 0,
) -> None:
    """Extract the statistics table of each INPUT as result JSON (schema_version 1)."""
    if len(inputs) > 1 and out is None:
        raise typer.BadParameter("several inputs need --out DIR", param_hint="--out")
    for directory in (out, overlay):
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
    jobs = jobs or os.cpu_count() or 1
    jobs = min(jobs, len(inputs))
    failures = 0
    with _progress(len(inputs)) as bar:
        for path, outcome in run_batch(inputs, overlay, jobs):
            bar.update(1)
            if isinstance(outcome, str):
                failures += 1
                typer.echo(f"docextract: {path}: {outcome}", err=True)
                continue
            text = outcome.model_dump_json(indent=1)
            if out is None:
                sys.stdout.write(text + "\n")
            else:
                (out / f"{path.stem}.json").write_text(text + "\n", encoding="utf-8")
    if failures:
        raise typer.Exit(code=1)


def run_batch(inputs: list[Path], overlay: Path | None, jobs: int) -> Iterator[tuple[Path, ExtractionResult | str]]:
    """(input, result or one-line error) in input order."""
    if jobs <= 1:
        process_extractor(threads=0)
        for path in inputs:
            yield path, _extract_one(path, overlay)
        return
    # One inference thread per process: processes scale across cores better than threads.
    # Spawned, not forked: a fork after OpenCV or onnxruntime started their thread pools
    # in the parent (a caller that already processed images) can deadlock the children.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=process_extractor, initargs=(1,)) as pool:
        yield from zip(inputs, pool.map(_extract_one, inputs, [overlay] * len(inputs)), strict=True)


def process_extractor(threads: int) -> Extractor:
    """This process's one Extractor (models load once), made on the first call; `threads`
    (0: onnxruntime's choice) inference and OpenCV threads, one in a pool's worker."""
    global _worker_extractor
    if _worker_extractor is None:
        from docextract.settings import get_settings
        from worker.pipeline.extract import Extractor

        settings = get_settings()
        if threads:
            import cv2

            cv2.setNumThreads(threads)  # OpenCV too: one core per process in a pool
            settings = settings.model_copy(update={"ocr": settings.ocr.model_copy(update={"threads": threads})})
        _worker_extractor = Extractor(settings)
    return _worker_extractor


def _extract_one(path: Path, overlay: Path | None) -> ExtractionResult | str:
    assert _worker_extractor is not None
    try:
        extraction = _worker_extractor.extract_file_detailed(path)
    except InputError as exc:
        return exc.reason
    if overlay is not None:
        from worker.pipeline.overlay import write_overlays

        write_overlays(extraction, overlay / path.stem)
    return extraction.result


class _progress:
    """A tqdm bar on a terminal for batches; silent otherwise."""

    def __init__(self, total: int) -> None:
        self.bar = None
        if total > 1 and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="doc", file=sys.stderr)

    def __enter__(self) -> _progress:
        return self

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
