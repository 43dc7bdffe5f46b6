"""Fixtures of the service tests: a migrated PostgreSQL database per session, rolled back per
test; the API over it with a recording dispatcher; a fake extractor for tests that are about
the service rather than OCR.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from api.config import ApiSettings
from api.main import create_app
from api.services.keys import create_key
from docextract.settings import LimitSettings, Settings
from models.db import Role, make_engine
from models.migrations import upgrade
from models.schemas import ExtractionResult, FieldResult, FieldStatus, ReportInfo, ReportSubject, TemplateInfo
from models.template import load_catalogue
from tests.conftest import SAMPLES
from worker.config import WorkerSettings
from worker.pipeline.learnt import Learnt
from worker.pipeline.load import open_document
from worker.runtime import Runtime
from worker.storage import ContentStore

PG_ADMIN_URL = os.environ.get("DOCEXTRACT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DOCEXTRACT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "acceptance: the issue's acceptance run (all of ../shared/samples); CI, or DOCEXTRACT_ACCEPTANCE=1"
    )


def services_missing(reason: str) -> None:
    """Without the machine's services: fail in CI (they must be there), skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


class Databases:
    """Creates uniquely named databases and drops them at the end of the session."""

    def __init__(self) -> None:
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self) -> str:
        name = f"docextract_test_{uuid.uuid4().hex[:12]}"
        try:
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except OperationalError as exc:
            services_missing(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
        self.names.append(name)
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        return url

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    databases = Databases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def pg_url(databases: Databases) -> str:
    return databases.create()


@pytest.fixture(scope="session")
def pg_engine(pg_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(pg_engine) -> Iterator[sessionmaker]:  # type: ignore[no-untyped-def]
    """Sessions on one connection whose outer transaction is rolled back after the test;
    their commits only release savepoints."""
    with pg_engine.connect() as connection:
        transaction = connection.begin()
        yield sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        transaction.rollback()


# -- a fake extractor ----------------------------------------------------------------------------

CODES = [i for i in load_catalogue("GK2008").indicators[:5]]


class FakeExtractor:
    """Results shaped like the pipeline's, from the file's real source info, instantly.

    `review` codes get status review, and so do the report's `report_review` subjects (the
    unit name read as 测试单位…, mended from 测试单住…); `raises` is raised instead (a crashing
    pipeline).
    """

    def __init__(
        self,
        review: tuple[str, ...] = (CODES[1].code,),
        raises: Exception | None = None,
        report_review: tuple[ReportSubject, ...] = (),
    ):
        self.review = review
        self.raises = raises
        self.report_review = report_review
        self.calls = 0
        self.learnt_seen = Learnt()

    def extract_file(self, path: Path, filename: str | None = None, learnt: Learnt | None = None) -> ExtractionResult:
        self.calls += 1
        self.learnt_seen = learnt or Learnt()
        with open_document(path, LimitSettings(), filename) as document:
            source = document.source
        if self.raises is not None:
            raise self.raises
        fields = [
            FieldResult(
                code=indicator.code,
                label=indicator.label,
                unit=indicator.unit,
                value=10 * n,
                text=str(10 * n),
                confidence=0.99,
                status="review" if indicator.code in self.review else "accepted",
                reasons=["low_ocr_confidence"] if indicator.code in self.review else [],
                page=1,
                bbox=[1.0, 2.0, 3.0, 4.0],
            )
            for n, indicator in enumerate(CODES)
        ]
        return ExtractionResult(
            source=source,
            template=TemplateInfo(id="GK2008", pages=[1], confidence=0.95),
            report=self._report(source.sha256),
            status="needs_review" if self.review or self.report_review else "extracted",
            fields=fields,
        )

    def _report(self, sha256: str) -> ReportInfo:
        unsure_unit = ReportSubject.unit_name in self.report_review
        unsure_year = ReportSubject.year in self.report_review
        return ReportInfo(
            unit_name=f"测试单位{sha256[:4]}",
            year=2017,
            unit_read=f"测试单住{sha256[:4]}" if unsure_unit else f"测试单位{sha256[:4]}",
            unit_confidence=0.4 if unsure_unit else 0.99,
            unit_status=FieldStatus.review if unsure_unit else FieldStatus.accepted,
            unit_reasons=["seal_over_heading", "unit_mended"] if unsure_unit else [],
            year_confidence=0.4 if unsure_year else 0.99,
            year_status=FieldStatus.review if unsure_year else FieldStatus.accepted,
            year_reasons=["low_ocr_confidence"] if unsure_year else [],
            heading_page=1,
            heading_bbox=[0.0, 0.0, 40.0, 20.0],
        )


# -- the API over the test database --------------------------------------------------------------


class RecordingDispatcher:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def enqueue(self, document_ids) -> None:  # type: ignore[no-untyped-def]
        self.sent.extend(document_ids)


class Service:
    """The API app, its test client, keys for each role, and a runtime to run the steps."""

    def __init__(self, tmp_path: Path, session_factory: sessionmaker, pg_url: str) -> None:
        self.settings = Settings(database_url=pg_url, storage_dir=tmp_path / "storage")
        self.api_settings = ApiSettings(max_file_bytes=5_000_000, max_files_per_request=5)
        self.dispatcher = RecordingDispatcher()
        self.session_factory = session_factory
        self.app = create_app(
            self.settings,
            self.api_settings,
            session_factory=sessionmaker(**session_factory.kw),
            dispatcher=self.dispatcher,
        )
        self.client = TestClient(self.app)
        self.store = ContentStore(self.settings.storage_dir)
        self.extractor = FakeExtractor()
        self.runtime = Runtime(
            self.settings,
            WorkerSettings(max_attempts=3),
            session_factory,
            self.store,
            lambda _settings: self.extractor,
        )
        self.keys = {role: self.new_key(role) for role in Role}

    def new_key(self, role: Role) -> str:
        with self.session_factory.begin() as session:
            return create_key(session, role, f"test {role}")[1]

    def auth(self, role: Role | str) -> dict[str, str]:
        key = self.keys[Role(role)] if role in set(Role) else role
        return {"Authorization": f"Bearer {key}"}

    def upload(self, *paths: Path, role: Role = Role.uploader, **params):  # type: ignore[no-untyped-def]
        handles = [p.open("rb") for p in paths]
        try:
            files = [("files", (p.name, h, "application/octet-stream")) for p, h in zip(paths, handles, strict=True)]
            return self.client.post("/v1/documents", files=files, params=params, headers=self.auth(role))
        finally:
            for handle in handles:
                handle.close()

    def run_pending(self) -> None:
        """Run every document the API enqueued through the three steps, as a worker would."""
        from worker.embedded import run_document

        while self.dispatcher.sent:
            run_document(self.runtime, self.dispatcher.sent.pop(0), sleep=lambda _s: None)


@pytest.fixture
def service(tmp_path: Path, session_factory: sessionmaker, pg_url: str) -> Service:
    return Service(tmp_path, session_factory, pg_url)


@pytest.fixture
def scans(tmp_path: Path) -> list[Path]:
    """Small distinct readable scans (copies of samples/, bytes appended after the PDF's end to vary
    the hash); the second is one page."""
    made = []
    for i, name in enumerate(["gk2008-seal.pdf", "gk2008-photo.jpg", "gk2008-seal.pdf"]):
        data = (SAMPLES / name).read_bytes() + (b"\0" * i if name.endswith("pdf") else b"")
        path = tmp_path / f"scan_{i}{Path(name).suffix}"
        path.write_bytes(data)
        made.append(path)
    return made
