"""The hostile corpus and hostile ids through `docextract serve --embedded` (SQLite, worker
thread): the same reasons as the service, never a 500, the thread goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.scripted_worker import ScriptedExtractor
from tests.faults.stack import scan_bytes
from tests.hostile.corpus import LIMITS, corpus
from tests.service.embedded import EmbeddedServer


def test_hostile_uploads_fail_with_reasons_and_the_embedded_worker_goes_on(tmp_path: Path):
    server = EmbeddedServer(tmp_path, LIMITS, lambda _s: ScriptedExtractor(limits=LIMITS))  # decodes every page
    accepted = [h for h in corpus() if h.data]
    with server.client() as client:
        empty = client.post("/v1/documents", files=[("files", ("zero-byte.pdf", b""))])
        assert (empty.status_code, empty.json()) == (422, {"detail": "zero-byte.pdf: empty"})
        batch = client.post("/v1/batches").json()["id"]
        for item in [*accepted, None]:  # one request each, as `docextract upload` sends them
            name, data = (item.name, item.data) if item else ("good-after.png", scan_bytes(1))
            response = client.post("/v1/documents", files=[("files", (name, data))], params={"batch_id": batch})
            assert response.status_code == 202, response.text
        progress = server.wait_finished(client, batch, timeout=120)
        listed = client.get("/v1/documents", params={"limit": 100, "batch_id": batch}).json()["documents"]

    assert (progress["failed"], progress["done"]) == (len(accepted), 1)
    errors = {f["filename"]: f["error"] for f in progress["failures"]}
    for item in accepted:
        assert errors[item.name].startswith(item.reason), (item.name, errors[item.name])
    assert {d["filename"]: d["status"] for d in listed}["good-after.png"] == "extracted"


OUT_OF_RANGE = (422, {"detail": "a value is out of range"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/v1/documents/99999999999999999999", OUT_OF_RANGE),
        (f"/v1/documents/{2**63}", OUT_OF_RANGE),
        (f"/v1/documents/{2**63 - 1}", (404, {"detail": str(2**63 - 1)})),
        ("/v1/documents/-1", (404, {"detail": "-1"})),
        (f"/v1/batches/{2**64}", OUT_OF_RANGE),
        (f"/v1/documents?batch_id={2**63}", OUT_OF_RANGE),
        (f"/v1/exports/fields.csv?document_id={10**30}", OUT_OF_RANGE),
        (f"/v1/documents/{2**63}/pages", OUT_OF_RANGE),
        (f"/v1/review/documents/{2**70}", OUT_OF_RANGE),
    ],
)
def test_ids_out_of_range_are_refused_not_crashed_on_sqlite(tmp_path: Path, url: str, expected: tuple):
    # Was a 500: "OverflowError: Python int too large to convert to SQLite INTEGER".
    with EmbeddedServer(tmp_path).client() as client:
        response = client.get(url)
    assert (response.status_code, response.json()) == expected
