"""The hostile corpus through the service: refused at upload (HTTP error) or `failed` with the
loader's reason, the worker never taken down and on to the next good document; hostile file
names only ever metadata; the same bytes uploaded in parallel make one document."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import make_stack
from tests.faults.stack import Stack, children, rss_mb, scan_bytes
from tests.hostile.corpus import LIMITS, corpus
from tests.service.conftest import CODES, Databases

pytestmark = pytest.mark.services


@pytest.fixture
def limited_stack(fault_databases: Databases, tmp_path: Path) -> Iterator[Stack]:
    stack = make_stack(
        fault_databases,
        tmp_path,
        DOCEXTRACT_LIMITS__MAX_BYTES=str(LIMITS.max_bytes),
        DOCEXTRACT_LIMITS__MAX_PAGES=str(LIMITS.max_pages),
        DOCEXTRACT_LIMITS__MAX_PAGE_PIXELS=str(LIMITS.max_page_pixels),
    )
    stack.start_api()
    yield stack
    stack.stop()
    stack.clear_redis_keys()


def test_hostile_uploads_fail_with_reasons_and_the_worker_goes_on(limited_stack: Stack):
    stack = limited_stack
    worker = stack.start_worker(concurrency=1)
    pool_before = children(worker.pid)
    memory_before = rss_mb(pool_before[0])
    hostile = corpus()
    with stack.client(stack.admin_key()) as client:
        empty = client.post("/v1/documents", files=[("files", ("zero-byte.pdf", b""))])
        assert (empty.status_code, empty.json()) == (422, {"detail": "zero-byte.pdf: empty"})
        accepted = [h for h in hostile if h.data]
        for item in accepted:  # one request each, as `docextract upload` sends them
            stack.upload(client, [(item.name, item.data)])
        stack.upload(client, [("good-after.png", scan_bytes(1))])
        counts = stack.wait_finished(timeout=120)
        too_big = client.post("/v1/documents", files=[("files", ("big.pdf", b"%PDF" + b"0" * LIMITS.max_bytes))])
        assert too_big.status_code == 413
        assert too_big.json() == {"detail": f"big.pdf: larger than {LIMITS.max_bytes} bytes"}

    documents = stack.documents()
    assert counts.by_status == {"failed": len(accepted), "extracted": 1}, stack.logs()
    for item in accepted:
        status, error, _attempts, fields = documents[item.name]
        assert (status, fields) == ("failed", 0)
        assert error.startswith(item.reason), (item.name, error)
    assert documents["good-after.png"] == ("extracted", None, 1, len(CODES))
    assert worker.poll() is None and children(worker.pid) == pool_before  # no process died
    assert rss_mb(pool_before[0]) - memory_before < 60


def test_hostile_file_names_are_metadata_only(limited_stack: Stack):
    stack = limited_stack
    stack.start_worker(concurrency=1)
    names = {
        "../../../../tmp/escape.png": "escape.png",
        "..\\..\\windows\\evil.png": "evil.png",
        "nul\x00byte.png": "nulbyte.png",
        "n" * 300 + ".png": "n" * 255,
        "..": "upload",
    }
    with stack.client(stack.admin_key()) as client:
        for n, raw in enumerate(names):  # a raw body: httpx would percent-encode the NUL
            body = b'--b\r\nContent-Disposition: form-data; name="files"; filename="%s"\r\n\r\n%s\r\n--b--\r\n' % (
                raw.encode(),
                scan_bytes(100 + n),
            )
            response = client.post(
                "/v1/documents", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
            )
            assert response.status_code == 202, response.text
        stack.wait_finished(timeout=60)
        listed = client.get("/v1/documents", params={"limit": 50}).json()["documents"]
    assert sorted(d["filename"] for d in listed) == sorted(names.values())
    assert {d["status"] for d in listed} == {"extracted"}
    storage = Path(stack.env["DOCEXTRACT_STORAGE_DIR"])
    stored = [p.relative_to(storage) for p in storage.rglob("*") if p.is_file()]
    assert {p.parts[0] for p in stored} == {"originals"}  # named by hash; results/tmp emptied
    assert all(len(p.name) == 64 for p in stored)
    assert not Path("/tmp/escape.png").exists()


def test_parallel_uploads_of_the_same_bytes_make_one_document(limited_stack: Stack):
    stack = limited_stack
    data = scan_bytes(7)
    key = stack.admin_key()

    def upload(n: int) -> dict:
        with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            response = client.post("/v1/documents", files=[("files", (f"copy{n}.png", data))])
            assert response.status_code == 202, response.text
            return response.json()["documents"][0]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(upload, range(8)))
    assert len({a["id"] for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 7
    assert stack.counts().documents == 1
