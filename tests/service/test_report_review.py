"""The report's unit name and year under review (issue 15): an unsure one is an item of its
own, with the heading's crop; a person's name or year becomes the document's, the pipeline's is
kept, and a unit name a person gave is known to the next extractions."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select, text

from models.db import KnownUnit, ReportCorrection, Role
from models.schemas import ReportSubject
from tests.service.conftest import FakeExtractor, Service

pytestmark = pytest.mark.services


def _items(service: Service, auth: dict[str, str]) -> list[dict]:
    response = service.client.get("/v1/review/items", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def _decide(service: Service, auth: dict[str, str], item: dict, **decision: object):  # type: ignore[no-untyped-def]
    body = {"version": item["version"]} | decision
    return service.client.post(f"/v1/review/items/{item['id']}", json=body, headers=auth)


def _document(service: Service, document_id: int) -> dict:
    return service.client.get(f"/v1/documents/{document_id}", headers=service.auth(Role.consumer)).json()


def test_an_unsure_unit_name_is_reviewed_as_text_and_then_known(service: Service, scans: list[Path]):
    service.extractor = FakeExtractor(review=(), report_review=(ReportSubject.unit_name,))
    document_id = service.upload(scans[0]).json()["documents"][0]["id"]
    service.run_pending()
    machine = _document(service, document_id)["result"]["report"]["unit_name"]
    alice = service.auth(service.new_key(Role.reviewer))

    (item,) = _items(service, alice)  # every field was sure: the unit name is the only item
    assert item["kind"] == "report"
    assert (item["code"], item["label"], item["value"], item["value_text"]) == (
        "report.unit_name",
        "填报单位",
        None,
        machine,
    )
    assert item["text"] == machine.replace("位", "住")  # as read, before it was mended
    assert item["reasons"] == ["seal_over_heading", "unit_mended"]
    assert item["crop_url"] == f"/v1/documents/{document_id}/report/crop.png"
    crop = service.client.get(item["crop_url"], headers=alice)
    assert crop.status_code == 200
    image = cv2.imdecode(np.frombuffer(crop.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (20, 40)  # the heading's box

    assert _decide(service, alice, item, value=5).status_code == 422  # a name is text
    assert _decide(service, alice, item, text="  ").status_code == 422
    done = _decide(service, alice, item, text="余姚市财政局")
    assert done.status_code == 200, done.text
    assert done.json() | {"id": 0} == {
        "id": 0,
        "version": item["version"] + 1,
        "field_status": "corrected",
        "document_status": "verified",
        "open_items": 0,
        "opened": [],
    }
    report = _document(service, document_id)["result"]["report"]
    assert (report["unit_name"], report["machine_unit_name"], report["unit_status"]) == (
        "余姚市财政局",
        machine,
        "corrected",
    )
    listed = service.client.get("/v1/documents", params={"unit_name": "余姚市财政局"}, headers=service.auth("consumer"))
    assert [d["id"] for d in listed.json()["documents"]] == [document_id]
    with service.session_factory() as session:
        (trail,) = session.scalars(select(ReportCorrection)).all()
        assert (trail.subject, trail.action, trail.old_text, trail.new_text) == (
            "unit_name",
            "correct",
            machine,
            "余姚市财政局",
        )
        assert trail.reasons == ["seal_over_heading", "unit_mended"]
        assert session.scalars(select(KnownUnit.name)).all() == ["余姚市财政局"]

    # The next document's extraction is given the name a person typed.
    service.upload(scans[1])
    service.run_pending()
    assert service.extractor.learnt_seen.units == frozenset({"余姚市财政局"})


def test_an_unsure_year_comes_first_and_takes_a_whole_year(service: Service, scans: list[Path]):
    service.extractor = FakeExtractor(review=("GK2008-1.1.b",), report_review=(ReportSubject.year,))
    document_id = service.upload(scans[0]).json()["documents"][0]["id"]
    service.run_pending()
    alice = service.auth(service.new_key(Role.reviewer))

    year, field = _items(service, alice)
    assert (year["code"], year["kind"], year["value"], year["text"]) == ("report.year", "report", 2017, "2017")
    assert (field["code"], field["kind"]) == ("GK2008-1.1.b", "field")
    for wrong in ({"value": 2016.5}, {"value": 1800}, {"text": "2016"}):
        answer = _decide(service, alice, year, **wrong)
        assert answer.status_code == 422, wrong
    assert _decide(service, alice, field, text="12").status_code == 422  # a field takes a number
    both = _decide(service, alice, year, value=2016, text="x")
    assert both.status_code == 422

    done = _decide(service, alice, year, value=2016).json()
    assert (done["field_status"], done["document_status"], done["open_items"]) == ("corrected", "needs_review", 1)
    report = _document(service, document_id)["result"]["report"]
    assert (report["year"], report["machine_year"]) == (2016, 2017)
    view = service.client.get(f"/v1/review/documents/{document_id}", headers=alice).json()
    assert view["year"] == 2016
    assert [(r["code"], r["value"], r["status"], r["item_state"]) for r in view["report"]] == [
        ("report.unit_name", report["unit_name"], "accepted", None),
        ("report.year", 2016, "corrected", "closed"),
    ]
    assert _decide(service, alice, field, confirm=True).json()["document_status"] == "verified"

    stats = service.client.get("/v1/review/stats", headers=alice).json()
    assert stats["decided"] == 2
    reasons = {r["reason"]: (r["items"], r["corrected"], r["confirmed"]) for r in stats["reasons"]}
    assert reasons == {"low_ocr_confidence": (2, 1, 1)}  # the year's and the field's


def test_confirming_a_unit_name_keeps_it_and_teaches_it(service: Service, scans: list[Path]):
    service.extractor = FakeExtractor(review=(), report_review=(ReportSubject.unit_name,))
    document_id = service.upload(scans[0]).json()["documents"][0]["id"]
    service.run_pending()
    alice = service.auth(service.new_key(Role.reviewer))
    (item,) = _items(service, alice)
    assert _decide(service, alice, item, confirm=True).json()["field_status"] == "confirmed"
    report = _document(service, document_id)["result"]["report"]
    assert report["unit_name"] == report["machine_unit_name"] == item["value_text"]
    with service.session_factory() as session:
        assert session.scalars(select(KnownUnit.name)).all() == [item["value_text"]]


def test_the_migration_opens_items_for_documents_waiting_only_on_their_report(tmp_path: Path):
    """Before revision 0004 a document in review for its unit name alone had no item."""
    from models.db import make_engine
    from models.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003")
    engine = make_engine(url)
    waiting = {"report": {"unit_name": "某局", "unit_status": "review", "year": 2014, "year_status": "accepted"}}
    done = {"report": {"unit_name": "某局", "unit_status": "review"}}
    with engine.begin() as connection:
        for number, (status, result) in enumerate([("needs_review", waiting), ("verified", done)], start=1):
            connection.execute(
                text(
                    "INSERT INTO documents (id, sha256, filename, size_bytes, status, attempts, resent, result,"
                    " created_at, updated_at) VALUES (:id, :sha, 'a.pdf', 1, :status, 0, 0, :result,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"id": number, "sha": str(number) * 64, "status": status, "result": json.dumps(result)},
            )
    upgrade(url)
    with engine.connect() as connection:
        items = connection.execute(text("SELECT document_id, subject, state FROM review_items")).all()
    assert items == [(1, "unit_name", "open")]
