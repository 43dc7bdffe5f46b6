"""Alembic migrations of the service database; `upgrade` is what `docextract db upgrade` runs."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from models.db import normalize_url


def alembic_config(database_url: str) -> Config:
    """A config that needs no alembic.ini, so that an installed package can migrate."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    # The URL passes through ConfigParser: a % (in an escaped password) must be doubled.
    config.set_main_option("sqlalchemy.url", normalize_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    command.current(alembic_config(database_url), verbose=False)
