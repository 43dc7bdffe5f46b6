"""Reporting units' names learnt from review: a name a reviewer confirmed or typed for a
report's unit line is known from then on, so extraction corroborates (or mends) unit lines
with it as it does with the gazetteer files (`worker.pipeline.gazetteer`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db import KnownUnit, insert_ignoring_conflicts


def record_unit(session: Session, name: str, api_key_id: int | None) -> bool:
    """Keep the name; True when it is new. Repeats are no-ops (unique key)."""
    name = name.strip()
    if not name:
        return False
    return insert_ignoring_conflicts(session, KnownUnit, [{"name": name, "api_key_id": api_key_id}], ["name"]) == 1


def load_units(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(KnownUnit.name)))
