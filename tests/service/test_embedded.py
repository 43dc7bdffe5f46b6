"""`docextract serve --embedded`: the same API on SQLite with an in-process worker, no Redis."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_embedded_app
from api.services.keys import create_key
from docextract.settings import Settings
from models.db import Role, make_engine, make_session_factory
from tests.service.conftest import FakeExtractor


def test_embedded_mode_extracts_uploads_without_a_broker(tmp_path: Path, scans: list[Path]):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'docextract.db'}",
        broker_url="redis://127.0.0.1:1/0",  # never contacted
        storage_dir=tmp_path / "storage",
    )
    app = create_embedded_app(settings, extractor_factory=lambda _s: FakeExtractor())
    with make_session_factory(make_engine(settings.database_url)).begin() as session:
        key = create_key(session, Role.admin)[1]
    auth = {"Authorization": f"Bearer {key}"}

    with TestClient(app) as client:  # the lifespan starts and stops the worker thread
        handles = [p.open("rb") for p in scans[:2]]
        files = [("files", (p.name, h)) for p, h in zip(scans[:2], handles, strict=True)]
        upload = client.post("/v1/documents", files=files, headers=auth).json()
        for handle in handles:
            handle.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            batch = client.get(f"/v1/batches/{upload['batch_id']}", headers=auth).json()
            if batch["finished"]:
                break
            time.sleep(0.05)
        assert (batch["done"], batch["total"]) == (2, 2)
        for uploaded in upload["documents"]:
            document = client.get(f"/v1/documents/{uploaded['id']}", headers=auth).json()
            assert document["status"] == "needs_review"
            assert document["result"]["source"]["sha256"] == uploaded["sha256"]
        csv_text = client.get("/v1/exports/fields.csv", headers=auth).text
        assert len(csv_text.strip().splitlines()) == 1 + 2 * 5
