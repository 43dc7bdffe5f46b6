"""Service commands: serve, worker, db, keys, upload, status, requeue (issue 3).

Configuration comes from DOCEXTRACT_* environment variables (docs/service.md); the client
commands (upload, status) take --api and --key, or DOCEXTRACT_API_URL and DOCEXTRACT_API_KEY.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from models.db import Role

db_app = typer.Typer(no_args_is_help=True, help="The service database (Alembic migrations).")
keys_app = typer.Typer(no_args_is_help=True, help="API keys: create, list, revoke.")

ApiOption = Annotated[str, typer.Option("--api", envvar="DOCEXTRACT_API_URL", help="the service's base URL")]
KeyOption = Annotated[str, typer.Option("--key", envvar="DOCEXTRACT_API_KEY", help="an API key", show_default=False)]


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    embedded: Annotated[
        bool,
        typer.Option(
            "--embedded",
            help="one process: API and an in-process worker, no Redis "
            "(SQLite by default); migrates the database and prints a first admin key",
        ),
    ] = False,
    workers: Annotated[int, typer.Option(help="API processes (not with --embedded)")] = 1,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    if embedded:
        from api.main import create_embedded_app

        app = create_embedded_app()
        _print_first_admin_key()
        uvicorn.run(app, host=host, port=port)
    else:
        uvicorn.run("api.main:app_from_environment", factory=True, host=host, port=port, workers=workers)


def worker(
    concurrency: Annotated[int, typer.Option(help="worker processes; 0: cores ÷ inference threads")] = 0,
    queues: Annotated[str, typer.Option(help="queues to consume")] = "prepare,extract,persist",
    pool: Annotated[str, typer.Option(help="Celery pool: prefork or solo")] = "prefork",
    loglevel: Annotated[str, typer.Option(help="log level")] = "INFO",
    hostname: Annotated[
        str | None,
        typer.Option(help="Celery node name; default docextract-<pid>@<host>, unique per process"),
    ] = None,
) -> None:
    """Run a Celery worker: CPU-bound, one inference thread per process by default."""
    from docextract.settings import get_settings
    from worker.config import get_worker_settings
    from worker.runtime import inference_settings

    settings = inference_settings(get_settings(), get_worker_settings())
    threads = str(settings.ocr.threads)
    # Native thread pools read these when they load: set them before the worker imports them.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, threads)
    if concurrency <= 0:
        concurrency = get_worker_settings().process_count(settings.ocr.threads)

    from worker.celery_app import app

    app.worker_main(
        [
            "worker",
            f"--loglevel={loglevel}",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--pool={pool}",
            f"--hostname={hostname or f'docextract-{os.getpid()}@%h'}",
            "--prefetch-multiplier=1",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Create or migrate the database at DOCEXTRACT_DATABASE_URL."""
    from docextract.settings import get_settings
    from models.migrations import upgrade

    upgrade(get_settings().database_url, revision)


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    from docextract.settings import get_settings
    from models.migrations import current

    current(get_settings().database_url)


def _session_factory():  # type: ignore[no-untyped-def]
    from docextract.settings import get_settings
    from models.db import make_engine, make_session_factory

    return make_session_factory(make_engine(get_settings().database_url))


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="what the key may do")],
    name: Annotated[str, typer.Option(help="who or what the key is for")] = "",
) -> None:
    """Create a key and print it; it is shown only this once."""
    from api.services.keys import create_key

    with _session_factory().begin() as session:
        _, key = create_key(session, role, name)
    typer.echo(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (their prefixes, never the keys)."""
    from api.services.keys import list_keys

    with _session_factory()() as session:
        for row in list_keys(session):
            state = "revoked" if row.revoked_at else "active"
            typer.echo(f"{row.id}\t{row.role}\tdx_{row.prefix}…\t{state}\t{row.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="the id from `keys list`")]) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from api.services.keys import revoke_key

    with _session_factory().begin() as session:
        if not revoke_key(session, key_id):
            typer.echo(f"no key {key_id}", err=True)
            raise typer.Exit(1)


def upload(
    inputs: Annotated[list[Path], typer.Argument(help="files, or directories of scans")],
    api: ApiOption = "http://127.0.0.1:8000",
    key: KeyOption = "",
    concurrency: Annotated[int, typer.Option(help="uploads at a time")] = 4,
    batch: Annotated[int | None, typer.Option(help="add to this batch instead of a new one")] = None,
) -> None:
    """Upload scans; files the server already has are not sent again (safe to re-run)."""
    from tqdm import tqdm

    from api.client import ApiClient, ApiError
    from api.client import upload as upload_files

    _require_key(key)
    with ApiClient(api, key) as client, tqdm(unit="file", desc="upload") as bar:
        try:
            summary = upload_files(
                client,
                inputs,
                concurrency=concurrency,
                batch_id=batch,
                on_progress=bar.update,
                on_total=lambda n: setattr(bar, "total", n),
            )
        except ApiError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(
        f"batch {summary.batch_id}: {summary.files} files, {summary.uploaded} uploaded, "
        f"{summary.already_known + summary.duplicates} already on the server, "
        f"{len(summary.failures)} failed"
    )
    for path, reason in summary.failures:
        typer.echo(f"failed: {path}: {reason}", err=True)
    typer.echo(f"progress: docextract status {summary.batch_id}")
    if summary.failures:
        raise typer.Exit(1)


def status(
    batch: Annotated[int, typer.Argument(help="the batch id printed by upload")],
    api: ApiOption = "http://127.0.0.1:8000",
    key: KeyOption = "",
    wait: Annotated[bool, typer.Option("--wait", help="follow until the batch is done")] = False,
) -> None:
    """How far a batch has got: documents done, failed and pending of the total."""
    import time

    from api.client import ApiClient, ApiError

    _require_key(key)
    with ApiClient(api, key) as client:
        try:
            progress = client.batch(batch)
            while wait and not progress["finished"]:
                typer.echo(progress_line(progress))
                time.sleep(5)
                progress = client.batch(batch)
        except ApiError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(progress_line(progress))
    for failure in progress["failures"]:
        typer.echo(f"failed: {failure['id']} {failure['filename']}: {failure['error']}")
    if progress["failed"]:
        raise typer.Exit(1)


def requeue(
    stale_minutes: Annotated[int, typer.Option(help="also resend documents processing for longer than this")] = 60,
) -> None:
    """Send queued documents to the workers again (after a broker outage, say); safe to repeat."""
    from sqlalchemy import and_, or_, select

    from models.db import Document, DocumentStatus, utcnow
    from worker.dispatch import CeleryDispatcher

    stale = utcnow() - timedelta(minutes=stale_minutes)
    with _session_factory()() as session:
        ids = session.scalars(
            select(Document.id)
            .where(
                or_(
                    Document.status == DocumentStatus.queued.value,
                    and_(
                        Document.status == DocumentStatus.processing.value,
                        Document.updated_at < stale,
                    ),
                )
            )
            .order_by(Document.id)
        ).all()
    CeleryDispatcher().enqueue(ids)
    typer.echo(f"{len(ids)} documents sent")


def progress_line(progress: dict) -> str:
    line = (
        f"batch {progress['id']}: {progress['done']}/{progress['total']} done, "
        f"{progress['failed']} failed, {progress['pending']} pending"
    )
    if progress.get("resent"):  # the sweeper's work: a worker died, or a message was lost
        line += f", {progress['resent']} sent again after a lost worker or message"
    return line


def _require_key(key: str) -> None:
    if not key:
        typer.echo("error: give --key or set DOCEXTRACT_API_KEY", err=True)
        raise typer.Exit(2)


def _print_first_admin_key() -> None:
    """The embedded mode is for one person: give them a key the first time."""
    from sqlalchemy import func, select

    from api.services.keys import create_key
    from models.db import ApiKey

    with _session_factory().begin() as session:
        if session.scalar(select(func.count(ApiKey.id))):
            return
        _, key = create_key(session, Role.admin, "embedded")
    typer.echo(f"admin API key (shown once): {key}", err=True)


def register(app: typer.Typer) -> None:
    """Add the service commands to the root app."""
    app.command()(serve)
    app.command()(worker)
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
    app.command()(upload)
    app.command()(status)
    app.command()(requeue)


def main() -> None:
    """The service commands alone (`python -m docextract.cli_service`)."""
    app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
    register(app)
    app(prog_name="docextract")


if __name__ == "__main__":
    sys.exit(main())
