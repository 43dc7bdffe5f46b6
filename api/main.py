"""The FastAPI application: `create_app` for the service, `create_embedded_app` for one user.

Run with `docextract serve` (uvicorn); the OpenAPI description is at /openapi.json.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import sqlalchemy.exc
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import sessionmaker

from api.config import ApiSettings, get_api_settings
from api.deps import AppState
from api.routes import batches, documents, exports, health, review
from api.schemas import ErrorMessage
from api.services.errors import Conflict, Invalid, NotFound
from docextract import __version__
from docextract.settings import Settings, get_settings
from models.db import make_engine, make_session_factory
from worker import dispatch
from worker.config import get_worker_settings
from worker.dispatch import Dispatcher
from worker.embedded import EmbeddedWorker
from worker.runtime import ExtractorLike, Runtime, default_extractor_factory
from worker.storage import ContentStore


def create_app(
    settings: Settings | None = None,
    api_settings: ApiSettings | None = None,
    session_factory: sessionmaker | None = None,
    dispatcher: Dispatcher | None = None,
    embedded_worker: EmbeddedWorker | None = None,
) -> FastAPI:
    """The service app. Documents go to Celery unless another `dispatcher` is given.

    `session_factory` must be the app's own: its commits send the app's jobs.
    """
    settings = settings or get_settings()
    api_settings = api_settings or get_api_settings()
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))
    if dispatcher is None:
        dispatcher = dispatch.CeleryDispatcher()
    dispatch.install(session_factory, dispatcher)
    store = ContentStore(settings.storage_dir)
    store.ensure()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if embedded_worker is not None:
            embedded_worker.start()
        yield
        if embedded_worker is not None:
            embedded_worker.stop(timeout=5)

    app = FastAPI(
        title="docextract",
        version=__version__,
        description="Statistics tables of scanned 政府信息公开工作年度报告 as JSON.",
        lifespan=lifespan,
        # 422 answers are the app's own reasons (a string) as well as FastAPI's field lists.
        responses={422: {"model": ErrorMessage, "description": "the input is invalid: why"}},
    )
    app.state.docextract = AppState(settings, api_settings, session_factory, store)
    for router in (health.router, documents.router, batches.router, exports.router):
        app.include_router(router)
    app.include_router(review.router)
    app.include_router(review.crops)
    app.include_router(review.page)
    app.mount("/review/static", StaticFiles(directory=review.STATIC_DIR), name="review-static")
    _add_error_handlers(app)
    return app


def create_embedded_app(
    settings: Settings | None = None,
    extractor_factory: Callable[[Settings], ExtractorLike] = default_extractor_factory,
) -> FastAPI:
    """API and an in-process worker thread on one database (SQLite by default), no broker."""
    from models.migrations import upgrade

    settings = settings or get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    store = ContentStore(settings.storage_dir)
    # One process does all the work here, so inference keeps the "auto" thread count.
    runtime = Runtime(settings, get_worker_settings(), make_session_factory(engine), store, extractor_factory)
    worker = EmbeddedWorker(runtime)
    return create_app(
        settings,
        session_factory=make_session_factory(engine),
        dispatcher=worker,
        embedded_worker=worker,
    )


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory api.main:app_from_environment`."""
    return create_app()


def _add_error_handlers(app: FastAPI) -> None:
    def handler(code: int):  # type: ignore[no-untyped-def]
        async def handle(_: Request, exc: Exception) -> JSONResponse:
            return JSONResponse({"detail": str(exc) or None}, status_code=code)

        return handle

    app.add_exception_handler(NotFound, handler(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(Conflict, handler(status.HTTP_409_CONFLICT))
    app.add_exception_handler(Invalid, handler(status.HTTP_422_UNPROCESSABLE_CONTENT))

    async def out_of_range(_: Request, exc: Exception) -> JSONResponse:  # e.g. an id past BIGINT: not a 500
        return JSONResponse({"detail": "a value is out of range"}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    # PostgreSQL refuses such a value with DataError; SQLite's driver, before sending it, with
    # OverflowError ("Python int too large to convert to SQLite INTEGER").
    app.add_exception_handler(sqlalchemy.exc.DataError, out_of_range)
    app.add_exception_handler(OverflowError, out_of_range)
