"""Worker-only settings, read from DOCEXTRACT_WORKER__* (the shared ones live in Settings)."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCEXTRACT_WORKER__", extra="ignore")

    concurrency: int = Field(0, description="worker processes per `docextract worker`; 0: cores ÷ OCR threads")
    ocr_threads: int = Field(
        1,
        description="inference threads per worker process when DOCEXTRACT_OCR__THREADS is 0 "
        "(auto); one thread per process scales best for CPU-bound work",
    )
    max_attempts: int = Field(3, description="deliveries of a document's extract step before it is failed (poison)")
    max_transient_retries: int = Field(10, description="retries of a step on database or broker connection errors")
    retry_backoff_max: int = Field(300, description="longest wait between retries, seconds")
    visibility_timeout: int = Field(
        4 * 3600,
        description="seconds before Redis redelivers an unacknowledged task; a dead worker's "
        "documents come back sooner, by their lease (below)",
    )
    lease_seconds: int = Field(
        60, description="a worker's hold on the document it runs; it ends this long after the last renewal"
    )
    lease_renew_every: int = Field(15, description="seconds between renewals of a running document's lease")
    sweep_every: int = Field(
        30,
        description="seconds between two sweeps (in every worker) that send again the documents of a "
        "dead worker (lease expired) and those never sent or lost by the broker",
    )
    task_events: bool = Field(False, description="send task events (for Flower's task views)")
    broker_key_prefix: str = Field("", description="prefix of every Redis key: isolates deployments sharing one Redis")

    def process_count(self, ocr_threads: int) -> int:
        if self.concurrency > 0:
            return self.concurrency
        return max(1, (os.cpu_count() or 1) // max(1, ocr_threads))


@cache
def get_worker_settings() -> WorkerSettings:
    return WorkerSettings()
