"""Service commands (serve, worker, db, keys, upload, status): see issue 3."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the service commands to the root app."""
