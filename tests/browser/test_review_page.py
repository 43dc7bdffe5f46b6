"""The review page in real headless Chromium (Debian's, driven by Playwright; no browser download).

The embedded service (API + in-process worker on SQLite) runs in a thread on a free port; a
generated table scan is uploaded and "extracted" by the prepared extractor (its ground truth
with one misread value, flagged the way the pipeline flags it), so the worker's own steps store
it. A reviewer logs in with the keyboard, corrects the misread value, confirms the others, and
the document's JSON then shows corrected/confirmed fields and the document verified.
Screenshots go to tests/artifacts/review/ (git-ignored).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.main import create_embedded_app
from api.services.keys import create_key
from docextract.settings import Settings
from models.db import Role, make_engine, make_session_factory
from tests.browser.prepared import Misread, PreparedExtractor, generated_scan

CHROMIUM = Path(os.environ.get("DOCEXTRACT_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "review"
# The current item's own crops are on screen (not the previous item's, not a blank).
CROP_SHOWN = """code => ["crop", "row-crop"].every(id => {
    const img = document.getElementById(id);
    return img.dataset.code === code && img.complete && img.naturalWidth > 0;
})"""
CHANNELS = ["GK2008-1.2.1", "GK2008-1.2.2", "GK2008-1.2.3", "GK2008-1.2.4", "GK2008-1.2.5"]


@dataclass
class LiveService:
    url: str
    keys: dict[Role, str]
    extractor: PreparedExtractor

    def client(self, role: Role) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[role]}"}, timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_service(tmp_path: Path) -> Iterator[LiveService]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'docextract.db'}", storage_dir=tmp_path / "storage")
    extractor = PreparedExtractor()
    app = create_embedded_app(settings, extractor_factory=lambda _settings: extractor)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine).begin() as session:
        keys = {role: create_key(session, role, f"browser {role}")[1] for role in Role}
    engine.dispose()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="review-page-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield LiveService(f"http://127.0.0.1:{port}", keys, extractor)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _wait_for_status(client: httpx.Client, document_id: int, wanted: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        document = client.get(f"/v1/documents/{document_id}").json()
        if document["status"] == wanted:
            return document
        assert document["status"] in {"queued", "processing"}, document
        assert time.monotonic() < deadline, f"document {document_id} still {document['status']}"
        time.sleep(0.1)


def test_a_reviewer_corrects_and_confirms_with_the_keyboard(live_service: LiveService, tmp_path: Path):
    if not CHROMIUM.is_file():
        message = f"no Chromium at {CHROMIUM} (Debian package `chromium`, see .ci/apt-packages.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    scan, truth = generated_scan(tmp_path / "scans", 3)
    misread = truth["fields"]["GK2008-1.2.2"] + 10  # e.g. a 5 read as a 6 in the tens
    live_service.extractor.add(scan, truth, {"GK2008-1.2.2": Misread(misread)})
    with live_service.client(Role.uploader) as uploader:
        upload = uploader.post("/v1/documents", files=[("files", (scan.name, scan.read_bytes(), "image/png"))])
    assert upload.status_code == 202, upload.text
    document_id = upload.json()["documents"][0]["id"]
    consumer = live_service.client(Role.consumer)
    _wait_for_status(consumer, document_id, "needs_review")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"review page screenshots: {ARTIFACTS}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(f"{r.method} {r.url.removeprefix(live_service.url)}"))
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{live_service.url}/review")
            expect(page.locator("#key")).to_be_focused()
            page.screenshot(path=ARTIFACTS / "1-login.png")

            page.keyboard.type(live_service.keys[Role.consumer])
            page.keyboard.press("Enter")
            expect(page.locator("#login-error")).to_have_text("role 'consumer' may not do this")
            page.keyboard.press("Control+A")
            page.keyboard.type(live_service.keys[Role.reviewer])
            page.keyboard.press("Enter")
            code = page.locator("#item-code")
            expect(code).to_have_text("GK2008-1.2")  # oldest document, table order
            expect(page.locator("#value")).to_be_focused()
            page.wait_for_function(CROP_SHOWN, arg="GK2008-1.2")
            page.wait_for_function("document.querySelectorAll('#boxes rect').length === 65")
            expect(page.locator("#boxes rect.review")).to_have_count(6)
            page.screenshot(path=ARTIFACTS / "2-first-item.png")

            page.keyboard.press("Tab")
            expect(code).to_have_text("GK2008-1.2.1")
            page.keyboard.press("Tab")
            expect(code).to_have_text("GK2008-1.2.2")
            expect(page.locator("#item-value")).to_have_text(str(misread))
            expect(page.locator("#item-reasons")).to_have_text("low_ocr_confidencesum_mismatch")
            expect(page.locator("#item-checks li.fails")).to_have_count(1)
            page.wait_for_function(CROP_SHOWN, arg="GK2008-1.2.2")
            page.keyboard.type(str(truth["fields"]["GK2008-1.2.2"]))
            page.screenshot(path=ARTIFACTS / "3-typing-a-correction.png")
            page.keyboard.press("Enter")
            expect(code).to_have_text("GK2008-1.2.3")
            expect(page.locator("#status-line")).to_have_text("1.2.2 corrected · document needs_review")

            page.keyboard.press("Shift+Tab")
            expect(code).to_have_text("GK2008-1.2.1")
            expect(page.locator("#item-checks li.holds")).to_have_count(1)  # the sum holds again
            page.keyboard.press("Enter")  # untouched input: confirm
            for expected in ("GK2008-1.2.3", "GK2008-1.2.4", "GK2008-1.2.5", "GK2008-1.2"):
                expect(code).to_have_text(expected)
                page.keyboard.press("Enter")
            expect(page.locator("#empty")).to_be_visible()
            expect(page.locator("#document-info")).to_contain_text("verified")
            expect(page.locator("#boxes rect.confirmed")).to_have_count(5)
            expect(page.locator("#boxes rect.corrected")).to_have_count(1)
            page.screenshot(path=ARTIFACTS / "4-all-done.png", full_page=True)
            assert errors == []
        finally:
            browser.close()

    # The next item's crop was fetched before the decision on the current one was sent.
    crop = f"GET /v1/documents/{document_id}/fields/GK2008-1.2.3/crop.png"
    posts = [i for i, r in enumerate(requests) if r.startswith("POST /v1/review/items/")]
    assert requests.index(crop) < posts[0]
    assert len(posts) == 6

    document = consumer.get(f"/v1/documents/{document_id}").json()
    assert document["status"] == "verified"
    fields = {f["code"]: f for f in document["result"]["fields"]}
    corrected = fields["GK2008-1.2.2"]
    assert (corrected["status"], corrected["value"], corrected["machine_value"]) == (
        "corrected",
        truth["fields"]["GK2008-1.2.2"],
        misread,
    )
    for code in ["GK2008-1.2", "GK2008-1.2.1", *CHANNELS[2:]]:
        truth_value = truth["fields"][code]
        assert (fields[code]["status"], fields[code]["value"], fields[code]["machine_value"]) == (
            "confirmed",
            truth_value,
            truth_value,
        )
        assert "sum_mismatch" not in fields[code]["reasons"]
    assert sum(f["status"] == "accepted" for f in fields.values()) == 65 - 6
    consumer.close()
