"""What a worker process builds once and reuses: database sessions, storage, the extractor.

The extractor loads the OCR models, so it is built on first use (or by the Celery process-init
signal) in the process that runs tasks, never in a parent that forks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import sessionmaker

from docextract.settings import Settings, get_settings
from models.db import make_engine, make_session_factory
from models.schemas import ExtractionResult
from worker.config import WorkerSettings, get_worker_settings
from worker.pipeline.learnt import Learnt
from worker.storage import ContentStore

log = logging.getLogger(__name__)


class ExtractorLike(Protocol):
    def extract_file(
        self, path: Path, filename: str | None = None, learnt: Learnt | None = None
    ) -> ExtractionResult: ...


def inference_settings(settings: Settings, worker: WorkerSettings) -> Settings:
    """Settings for a worker process: a fixed number of inference threads, not 'auto'."""
    if settings.ocr.threads > 0:
        return settings
    ocr = settings.ocr.model_copy(update={"threads": worker.ocr_threads})
    return settings.model_copy(update={"ocr": ocr})


def default_extractor_factory(settings: Settings) -> ExtractorLike:
    from worker.pipeline.extract import Extractor  # heavy: OCR runtimes and models

    return Extractor(settings)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        worker: WorkerSettings,
        session_factory: sessionmaker,
        store: ContentStore,
        extractor_factory: Callable[[Settings], ExtractorLike] = default_extractor_factory,
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.session_factory = session_factory
        self.store = store
        self._extractor_factory = extractor_factory
        self._extractor: ExtractorLike | None = None
        self._lock = threading.Lock()

    def forget_inherited_connections(self) -> None:
        """After a fork: never reuse the parent's database sockets."""
        self.session_factory.kw["bind"].dispose(close=False)

    def extractor(self) -> ExtractorLike:
        with self._lock:
            if self._extractor is None:
                self._extractor = self._extractor_factory(self.settings)
                log.info("extractor ready (ocr threads: %s)", self.settings.ocr.threads)
            return self._extractor


@cache
def get_runtime() -> Runtime:
    """The process's runtime, from the environment."""
    settings = get_settings()
    worker = get_worker_settings()
    store = ContentStore(settings.storage_dir)
    store.ensure()
    session_factory = make_session_factory(make_engine(settings.database_url))
    return Runtime(inference_settings(settings, worker), worker, session_factory, store)
