"""`docextract serve --embedded` in-process: the app on a SQLite file with its worker thread,
an admin key, and a way to wait for the documents; for tests that must hold on every backend."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_embedded_app
from api.services.keys import create_key
from docextract.settings import LimitSettings, Settings
from models.db import Role, make_engine, make_session_factory
from tests.service.conftest import FakeExtractor
from worker.runtime import ExtractorLike


class EmbeddedServer:
    def __init__(
        self,
        tmp_path: Path,
        limits: LimitSettings | None = None,
        extractor_factory: Callable[[Settings], ExtractorLike] = lambda _s: FakeExtractor(review=()),
    ) -> None:
        self.settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'docextract.db'}",
            broker_url="redis://127.0.0.1:1/0",  # never contacted
            storage_dir=tmp_path / "storage",
            **({"limits": limits} if limits is not None else {}),
        )
        self.app = create_embedded_app(self.settings, extractor_factory=extractor_factory)
        self.session_factory = make_session_factory(make_engine(self.settings.database_url))
        with self.session_factory.begin() as session:
            self.headers = {"Authorization": f"Bearer {create_key(session, Role.admin)[1]}"}

    def client(self) -> TestClient:
        """Within `with`, the lifespan runs: the worker thread starts and stops."""
        return TestClient(self.app, headers=self.headers)

    @staticmethod
    def wait_finished(client: TestClient, batch_id: int, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = client.get(f"/v1/batches/{batch_id}").json()
            if batch["finished"]:
                return batch
            time.sleep(0.05)
        raise AssertionError(f"batch {batch_id} not finished after {timeout} s: {batch}")
