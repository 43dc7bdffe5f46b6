"""The HTTP API on a real PostgreSQL database, with the steps run in-process (fake OCR)."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models.db import Role
from tests.service.conftest import CODES, Service

pytestmark = pytest.mark.services


def test_health_needs_no_key_and_openapi_lists_the_contract_routes(service: Service):
    assert service.client.get("/healthz").json() == {"status": "ok"}
    assert service.client.get("/readyz").status_code == 200
    paths = service.client.get("/openapi.json").json()["paths"]
    for path in ["/v1/documents", "/v1/documents/{document_id}", "/v1/review/items"]:
        assert path in paths


def test_keys_and_roles(service: Service, scans: list[Path]):
    client = service.client
    assert client.get("/v1/documents").status_code == 401
    assert client.get("/v1/documents", headers=service.auth("dx_not-a-key")).status_code == 401
    wrong = "dx_" + "0" * 12 + "x" * 43
    assert client.get("/v1/documents", headers=service.auth(wrong)).status_code == 401
    assert client.get("/v1/documents", headers=service.auth(Role.uploader)).status_code == 403
    assert client.get("/v1/documents", headers=service.auth(Role.consumer)).status_code == 200
    assert client.get("/v1/documents", headers=service.auth(Role.admin)).status_code == 200
    assert service.upload(scans[0], role=Role.consumer).status_code == 403
    assert client.get("/v1/review/items", headers=service.auth(Role.consumer)).status_code == 403


def test_upload_is_accepted_queued_and_enqueued_after_commit(service: Service, scans: list[Path]):
    response = service.upload(scans[0], scans[1])
    assert response.status_code == 202
    body = response.json()
    assert isinstance(body["batch_id"], int)
    documents = body["documents"]
    assert [d["filename"] for d in documents] == [scans[0].name, scans[1].name]
    assert [d["sha256"] for d in documents] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in scans[:2]]
    assert {d["status"] for d in documents} == {"queued"}
    assert not any(d["duplicate"] for d in documents)
    assert service.dispatcher.sent == [d["id"] for d in documents]
    for document in documents:  # the original is stored under its hash
        assert service.store.original_path(document["sha256"]).read_bytes() == next(
            p.read_bytes() for p in scans if p.name == document["filename"]
        )
    assert not list(service.store.tmp_dir.iterdir())


def test_same_bytes_give_the_existing_document_and_no_new_work(service: Service, scans: list[Path], tmp_path: Path):
    first = service.upload(scans[0]).json()["documents"][0]
    renamed = tmp_path / "renamed.pdf"
    renamed.write_bytes(scans[0].read_bytes())
    sent = list(service.dispatcher.sent)
    again = service.upload(renamed, scans[0]).json()["documents"]
    assert [d["id"] for d in again] == [first["id"], first["id"]]
    assert all(d["duplicate"] for d in again)
    assert service.dispatcher.sent == sent


def test_upload_limits(service: Service, scans: list[Path], tmp_path: Path):
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 5_000_001)
    response = service.upload(scans[0], big)
    assert response.status_code == 413
    assert "big.pdf" in response.json()["detail"]
    assert service.upload(*([scans[0]] * 6)).status_code == 413  # more than 5 files
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert service.upload(empty).status_code == 422
    plain = service.client.post("/v1/documents", content=b"x", headers=service.auth(Role.uploader))
    assert plain.status_code == 415
    assert service.dispatcher.sent == []
    assert not list(service.store.tmp_dir.iterdir())  # nothing half-received is left behind
    listing = service.client.get("/v1/documents", headers=service.auth(Role.admin)).json()
    assert listing["documents"] == []


def test_extraction_result_is_served_as_the_pipeline_made_it(service: Service, scans: list[Path]):
    upload = service.upload(scans[1]).json()
    document_id = upload["documents"][0]["id"]
    service.run_pending()
    document = service.client.get(f"/v1/documents/{document_id}", headers=service.auth(Role.consumer)).json()
    expected = service.extractor.extract_file(scans[1], scans[1].name)
    assert document["status"] == "needs_review"
    assert document["error"] is None
    assert document["result"] == expected.model_dump(mode="json")
    batch = service.client.get(f"/v1/batches/{upload['batch_id']}", headers=service.auth(Role.uploader)).json()
    assert (batch["total"], batch["done"], batch["failed"], batch["pending"]) == (1, 1, 0, 0)
    assert batch["finished"] is True


def test_uploaders_read_only_their_own_batches(service: Service, scans: list[Path]):
    upload = service.upload(scans[0]).json()
    document_id = upload["documents"][0]["id"]
    other = {"Authorization": f"Bearer {service.new_key(Role.uploader)}"}
    get = service.client.get
    assert get(f"/v1/documents/{document_id}", headers=service.auth(Role.uploader)).is_success
    assert get(f"/v1/documents/{document_id}", headers=other).status_code == 404
    assert get(f"/v1/batches/{upload['batch_id']}", headers=other).status_code == 404
    assert get(f"/v1/batches/{upload['batch_id']}", headers=service.auth("consumer")).is_success


def test_bad_input_fails_with_the_reason_and_is_not_retried(service: Service, tmp_path: Path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a scan")
    upload = service.upload(junk).json()
    service.run_pending()
    document = service.client.get(
        f"/v1/documents/{upload['documents'][0]['id']}", headers=service.auth(Role.consumer)
    ).json()
    assert document["status"] == "failed"
    assert document["error"] == "not a PDF, TIFF, PNG or JPEG file"
    assert document["result"] is None
    assert service.extractor.calls == 0
    batch = service.client.get(f"/v1/batches/{upload['batch_id']}", headers=service.auth(Role.uploader)).json()
    assert (batch["failed"], batch["finished"]) == (1, True)
    assert batch["failures"][0]["error"] == "not a PDF, TIFF, PNG or JPEG file"


def test_listing_filters_and_cursor_pagination(service: Service, scans: list[Path]):
    ids = [d["id"] for d in service.upload(*scans).json()["documents"]]
    service.run_pending()
    consumer = service.auth(Role.consumer)

    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = service.client.get("/v1/documents", params=params, headers=consumer).json()
        seen += [d["id"] for d in page["documents"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids)

    def listed(**params: object) -> list[int]:
        page = service.client.get("/v1/documents", params=params, headers=consumer).json()
        return [d["id"] for d in page["documents"]]

    one = service.client.get(f"/v1/documents/{ids[0]}", headers=consumer).json()
    assert listed(unit_name=one["result"]["report"]["unit_name"]) == [ids[0]]
    assert listed(year=2017, template="GK2008", status="needs_review") == sorted(ids)
    assert listed(year=2016) == []
    assert listed(status="failed") == []
    bad = service.client.get("/v1/documents", params={"cursor": "!!"}, headers=consumer)
    assert bad.status_code == 422


def test_page_images_are_rendered_on_request(service: Service, scans: list[Path]):
    document_id = service.upload(scans[1]).json()["documents"][0]["id"]
    service.run_pending()
    auth = service.auth(Role.reviewer)
    pages = service.client.get(f"/v1/documents/{document_id}/pages", headers=auth).json()
    assert [p["number"] for p in pages] == [1]
    image = service.client.get(pages[0]["image_url"], headers=auth)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    pages = service.client.get(f"/v1/documents/{document_id}/pages", headers=auth).json()
    assert pages[0]["width"] > 0 and pages[0]["height"] > 0
    missing = service.client.get(f"/v1/documents/{document_id}/pages/2", headers=auth)
    assert missing.status_code == 404


def test_csv_and_xlsx_export_one_row_per_document_and_code(service: Service, scans: list[Path]):
    upload = service.upload(scans[0], scans[1]).json()
    service.run_pending()
    auth = service.auth(Role.consumer)
    response = service.client.get("/v1/exports/fields.csv", params={"batch_id": upload["batch_id"]}, headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    ids = [d["id"] for d in upload["documents"]]
    assert [(int(r["document_id"]), r["code"]) for r in rows] == [(i, c.code) for i in sorted(ids) for c in CODES]
    assert rows[1]["value"] == "10" and rows[1]["field_status"] == "review"
    assert rows[1]["reasons"] == "low_ocr_confidence"

    response = service.client.get("/v1/exports/fields.xlsx", params={"document_id": ids[0]}, headers=auth)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:2] == ("document_id", "filename")
    assert len(table) == 1 + len(CODES)
    assert table[2][10] == 10  # value, a number


def test_review_decisions_are_audited_and_verify_the_document(service: Service, scans: list[Path]):
    service.extractor.review = (CODES[1].code, CODES[2].code)
    document_id = service.upload(scans[1]).json()["documents"][0]["id"]
    service.run_pending()
    reviewer = service.auth(Role.reviewer)
    items = service.client.get("/v1/review/items", headers=reviewer).json()
    assert [i["code"] for i in items] == [CODES[1].code, CODES[2].code]
    assert items[0]["image_url"] == f"/v1/documents/{document_id}/pages/1"
    first, second = items

    post = service.client.post
    stale = post(f"/v1/review/items/{first['id']}", json={"value": 11, "version": 0}, headers=reviewer)
    assert stale.status_code == 409
    done = post(
        f"/v1/review/items/{first['id']}",
        json={"value": 11, "version": first["version"]},
        headers=reviewer,
    ).json()
    assert (done["field_status"], done["document_status"]) == ("corrected", "needs_review")
    again = post(
        f"/v1/review/items/{first['id']}",
        json={"confirm": True, "version": first["version"]},
        headers=reviewer,
    )
    assert again.status_code == 409
    done = post(
        f"/v1/review/items/{second['id']}",
        json={"confirm": True, "version": second["version"]},
        headers=reviewer,
    ).json()
    assert (done["field_status"], done["document_status"]) == ("confirmed", "verified")

    consumer = service.auth(Role.consumer)
    document = service.client.get(f"/v1/documents/{document_id}", headers=consumer).json()
    assert document["status"] == "verified"
    corrected = document["result"]["fields"][1]
    assert (corrected["value"], corrected["machine_value"], corrected["status"]) == (11, 10, "corrected")
    csv_text = service.client.get(
        "/v1/exports/fields.csv", params={"document_id": document_id}, headers=consumer
    ).content.decode("utf-8-sig")
    row = list(csv.DictReader(io.StringIO(csv_text)))[1]
    assert (row["value"], row["machine_value"], row["field_status"]) == ("11", "10", "corrected")


def test_resuming_uploads_attach_known_hashes_without_bytes(service: Service, scans: list[Path]):
    first = service.upload(scans[0]).json()["documents"][0]
    batch = service.client.post("/v1/batches", headers=service.auth(Role.uploader)).json()
    unknown = hashlib.sha256(scans[1].read_bytes()).hexdigest()
    answer = service.client.post(
        f"/v1/batches/{batch['id']}/documents",
        json={"sha256": [first["sha256"], unknown]},
        headers=service.auth(Role.uploader),
    ).json()
    assert [d["id"] for d in answer["documents"]] == [first["id"]]
    assert answer["missing"] == [unknown]
    progress = service.client.get(f"/v1/batches/{batch['id']}", headers=service.auth(Role.uploader)).json()
    assert progress["total"] == 1


def test_admins_can_queue_a_failed_document_again(service: Service, tmp_path: Path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    document_id = service.upload(junk).json()["documents"][0]["id"]
    service.run_pending()
    url = f"/v1/documents/{document_id}/retry"
    assert service.client.post(url, headers=service.auth(Role.uploader)).status_code == 403
    retried = service.client.post(url, headers=service.auth(Role.admin))
    assert retried.status_code == 202
    assert (retried.json()["status"], retried.json()["error"]) == ("queued", None)
    assert service.dispatcher.sent == [document_id]
    again = service.client.post(url, headers=service.auth(Role.admin))
    assert again.status_code == 422  # only failed documents
