"""Keys are stored only as hashes and compared in constant time; page images and crops are
reached by ids, never by paths."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from api import security
from models.db import ApiKey, Role
from tests.service.conftest import Service

pytestmark = pytest.mark.services


def test_keys_are_stored_as_sha256_only(service: Service):
    key = service.keys[Role.consumer]
    with service.session_factory() as session:
        rows = session.scalars(select(ApiKey)).all()
    row = next(r for r in rows if r.key_hash == hashlib.sha256(key.encode()).hexdigest())
    assert (row.role, row.prefix) == ("consumer", key[3:15])
    stored = " ".join(str(getattr(r, c.key)) for r in rows for c in ApiKey.__table__.columns)
    assert not any(k in stored for k in service.keys.values())  # no key in clear, in any column


def test_keys_are_compared_in_constant_time(service: Service, monkeypatch: pytest.MonkeyPatch):
    compared: list[tuple[str, str]] = []
    real = security.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    key = service.keys[Role.consumer]
    assert service.client.get("/v1/documents", headers=service.auth(Role.consumer)).status_code == 200
    forged = key[:-4] + "AAAA"  # right prefix, wrong secret
    assert service.client.get("/v1/documents", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    digest = security.hash_key
    assert compared == [(digest(key), digest(key)), (digest(forged), digest(key))]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/documents/..%2F..%2Fetc%2Fpasswd/pages/1",
        "/v1/documents/{id}/pages/..%2F..%2F..%2Fetc%2Fpasswd",
        "/v1/documents/{id}/pages/%2Fetc%2Fpasswd",
        "/v1/documents/{id}/pages/1.png",
        "/v1/documents/{id}/pages/-1",
        "/v1/documents/{id}/pages/999",
        "/v1/documents/{id}/fields/..%2F..%2Fetc%2Fpasswd/crop.png",
        "/v1/documents/{id}/fields/%2Fetc%2Fpasswd/crop.png",
        "/v1/documents/%2Fetc%2Fpasswd/fields/A01/crop.png",
    ],
)
def test_page_images_and_crops_only_by_id(service: Service, scans: list[Path], path: str):
    document_id = service.upload(scans[0]).json()["documents"][0]["id"]
    service.run_pending()
    response = service.client.get(path.format(id=document_id), headers=service.auth(Role.admin))
    assert response.status_code in (404, 422), response.text
    assert b"root:" not in response.content
