"""Schemathesis against the app's own /openapi.json, in-process (ASGI), with an admin key:
whatever it sends, no 5xx, and every answer matches the schema it publishes."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from models.db import Role
from tests.service.conftest import Service
from tests.service.embedded import EmbeddedServer

pytestmark = pytest.mark.services

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES_PER_OPERATION = 60


def _fuzz(app: FastAPI, headers: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()


def test_api_answers_within_its_schema(service: Service, scans: list[Path]):
    service.upload(scans[0])  # a batch and a document to find, besides ids that do not exist
    service.run_pending()
    _fuzz(service.app, service.auth(Role.admin))


def test_embedded_api_answers_within_its_schema(tmp_path: Path, scans: list[Path]):
    """The same on `serve --embedded` (SQLite): ids past SQLite's INTEGER were a 500 there."""
    server = EmbeddedServer(tmp_path)
    with server.client() as client:
        with scans[0].open("rb") as scan:
            batch = client.post("/v1/documents", files=[("files", (scans[0].name, scan))]).json()["batch_id"]
        server.wait_finished(client, batch)
        _fuzz(server.app, server.headers)


def test_ids_past_bigint_are_refused_not_crashed(service: Service):
    # Found by the fuzzer: PostgreSQL's "out of range for type bigint" surfaced as a 500.
    admin = service.auth(Role.admin)
    huge = 2**63
    for url in (f"/v1/exports/fields.csv?batch_id={huge}", f"/v1/documents/{huge}"):
        response = service.client.get(url, headers=admin)
        assert (response.status_code, response.json()) == (422, {"detail": "a value is out of range"})


def test_the_apps_own_422_reasons_are_in_the_schema(service: Service):
    # Found by the fuzzer: `{"detail": "bad cursor"}` contradicted the published 422 schema.
    response = service.client.get("/v1/documents?cursor=action", headers=service.auth(Role.admin))
    assert (response.status_code, response.json()) == (422, {"detail": "bad cursor"})
    spec = service.client.get("/openapi.json").json()
    declared = spec["paths"]["/v1/documents"]["get"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert declared == {"$ref": "#/components/schemas/ErrorMessage"}
