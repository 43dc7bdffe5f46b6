"""Every route checks its role: all routes of the app × every role, no key and a revoked key.

ROUTES is the one table of who may call what. A route added to the app without an entry
here fails `test_every_route_is_in_the_table`, so access is always decided on purpose.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from api.services.keys import revoke_key
from models.db import ApiKey, Role
from tests.service.conftest import Service

pytestmark = pytest.mark.services

EVERYONE = "everyone"  # no key needed
U, R, C = Role.uploader, Role.reviewer, Role.consumer

# (method, path) → roles allowed besides admin (admin may call everything), or EVERYONE.
ROUTES: dict[tuple[str, str], frozenset[Role] | str] = {
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("GET", "/redoc"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("POST", "/v1/documents"): frozenset({U}),
    ("GET", "/v1/documents"): frozenset({C}),
    ("GET", "/v1/documents/{document_id}"): frozenset({U, C}),
    ("POST", "/v1/documents/{document_id}/retry"): frozenset(),
    ("GET", "/v1/documents/{document_id}/pages"): frozenset({U, C, R}),
    ("GET", "/v1/documents/{document_id}/pages/{number}"): frozenset({U, C, R}),
    ("POST", "/v1/batches"): frozenset({U}),
    ("GET", "/v1/batches/{batch_id}"): frozenset({U, C}),
    ("POST", "/v1/batches/{batch_id}/documents"): frozenset({U}),
    ("GET", "/v1/exports/fields.csv"): frozenset({C}),
    ("GET", "/v1/exports/fields.xlsx"): frozenset({C}),
    # The review routes (api/routes/review.py):
    ("GET", "/v1/review/items"): frozenset({R}),
    ("POST", "/v1/review/items/{item_id}"): frozenset({R}),
    ("GET", "/v1/review/documents/{document_id}"): frozenset({R}),
    ("GET", "/v1/review/stats"): frozenset({R}),
    ("GET", "/v1/documents/{document_id}/fields/{code}/crop.png"): frozenset({U, C, R}),
    ("GET", "/v1/documents/{document_id}/report/crop.png"): frozenset({U, C, R}),
    ("GET", "/review"): EVERYONE,  # the review page's HTML; its data comes from the routes above
    ("GET", "/review/static/{path}"): EVERYONE,
}

PRINCIPALS = [*Role, "no key", "revoked key"]


def app_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every route, through included routers and mounts."""
    found: set[tuple[str, str]] = set()

    def walk(routes, prefix: str) -> None:  # type: ignore[no-untyped-def]
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                walk(route.original_router.routes, prefix + (route.include_context.prefix or ""))
            elif getattr(route, "methods", None):
                found.update((m, prefix + route.path) for m in route.methods if m != "HEAD")
            else:  # a mount (static files): every path under it
                found.add(("GET", prefix + route.path + "/{path}"))

    walk(app.routes, "")
    return found


def test_every_route_is_in_the_table(service: Service):
    assert app_routes(service.app) == set(ROUTES)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (600, 800), 255).save(buffer, "PNG")
    return buffer.getvalue()


def _request(service: Service, method: str, path: str, headers: dict[str, str], document_id: int, batch_id: int):  # type: ignore[no-untyped-def]
    url = path.format(document_id=document_id, batch_id=batch_id, number=1, item_id=1, code="A01", path="missing.css")
    kwargs: dict = {}
    if (method, path) == ("POST", "/v1/documents"):
        kwargs["files"] = [("files", ("new.png", _png()))]
    elif (method, path) == ("POST", "/v1/batches/{batch_id}/documents"):
        kwargs["json"] = {"sha256": ["0" * 64]}
    elif (method, path) == ("POST", "/v1/review/items/{item_id}"):
        kwargs["json"] = {"confirm": True, "version": 0}
    return service.client.request(method, url, headers=headers, **kwargs)


@pytest.mark.parametrize("principal", PRINCIPALS, ids=str)
def test_each_role_gets_exactly_the_routes_of_the_table(service: Service, scans: list[Path], principal):
    uploaded = service.upload(scans[0]).json()  # the uploader's own batch and document
    document_id, batch_id = uploaded["documents"][0]["id"], uploaded["batch_id"]
    if principal == "no key":
        headers = {}
    elif principal == "revoked key":
        key = service.new_key(Role.admin)
        with service.session_factory.begin() as session:
            revoke_key(session, session.query(ApiKey).order_by(ApiKey.id.desc()).first().id)
        headers = {"Authorization": f"Bearer {key}"}
    else:
        headers = service.auth(principal)

    outcomes = {}
    for (method, path), allowed in ROUTES.items():
        status = _request(service, method, path, headers, document_id, batch_id).status_code
        if allowed == EVERYONE or principal == Role.admin or principal in allowed:
            outcomes[(method, path)] = "allowed" if status not in (401, 403) and status < 500 else status
        else:
            expected = 401 if principal in ("no key", "revoked key") else 403
            outcomes[(method, path)] = "refused" if status == expected else status
    assert outcomes == {
        route: "allowed" if allowed == EVERYONE or principal == Role.admin or principal in allowed else "refused"
        for route, allowed in ROUTES.items()
    }
