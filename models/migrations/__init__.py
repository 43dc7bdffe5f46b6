"""Alembic migrations of the service database (`docextract db upgrade`)."""
