"""API keys: create (shown once), authenticate, list, revoke."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import security
from models.db import ApiKey, Role, utcnow


def create_key(session: Session, role: Role, name: str = "") -> tuple[ApiKey, str]:
    key, prefix, key_hash = security.new_key()
    row = ApiKey(role=role.value, name=name, prefix=prefix, key_hash=key_hash)
    session.add(row)
    session.flush()
    return row, key


def authenticate(session: Session, key: str) -> ApiKey | None:
    prefix = security.key_prefix(key)
    if prefix is None:
        return None
    row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
    if row is None or row.revoked_at is not None or not security.matches(key, row.key_hash):
        return None
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, key_id: int) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return True
