"""Human review on PostgreSQL: leases, optimistic versions, roles, the audit trail,
re-validation after a decision, learnt label aliases and the queue statistics.

Documents are generated table scans whose "extraction" is their ground truth with chosen
misreadings (no OCR), stored by the worker's own steps.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from api.services import review
from models.aliases import load_aliases
from models.db import ApiKey, Correction, ReviewItem, Role, utcnow
from models.template import load_catalogue
from tests.browser.prepared import Misread, PreparedExtractor, generated_scan
from tests.service.conftest import Service
from worker.pipeline.mapping import normalize_label

pytestmark = pytest.mark.services

# Codes that take part in no rule of the catalogue: deciding them re-validates nothing.
FREE = ("GK2008-1.1.b", "GK2008-6", "GK2008-7", "GK2008-8.4")
CHANNELS = ("GK2008-1.2.1", "GK2008-1.2.2", "GK2008-1.2.3", "GK2008-1.2.4", "GK2008-1.2.5")
APPLICANTS = ("natural", "business", "research", "public_interest", "legal_service", "other")


def consistent_gk2021() -> dict[str, int | None]:
    """GK2021 numbers that keep every identity: 一 = 6 per applicant column, 二 = 1, 四 = 1,
    one of each of six outcomes, （七） = 6, and every 总计 the sum of its row."""
    values: dict[str, int | None] = dict.fromkeys(load_catalogue("GK2021").codes, 0)
    for column in APPLICANTS:
        values |= {f"GK2021-3.1@{column}": 6, f"GK2021-3.2@{column}": 1, f"GK2021-3.4@{column}": 1}
        values[f"GK2021-3.3.7@{column}"] = 6
        for row in ("3.3.1", "3.3.2", "3.3.3.1", "3.3.4.1", "3.3.5.2", "3.3.6.3"):
            values[f"GK2021-{row}@{column}"] = 1
    for row in {code.split("@")[0] for code in values if code.startswith("GK2021-3.")}:
        values[f"{row}@total"] = sum(values[f"{row}@{c}"] or 0 for c in APPLICANTS)
    return values


class Review:
    """The service with prepared documents, and reviewers to act through the API."""

    def __init__(self, service: Service, tmp_path: Path) -> None:
        self.service = service
        self.tmp_path = tmp_path
        self.extractor = PreparedExtractor()
        service.extractor = self.extractor
        self.truths: dict[int, dict] = {}
        self.scans = 0

    def document(self, misreads: dict[str, Misread]) -> int:
        path, truth = generated_scan(self.tmp_path / "scans", self.scans)
        self.scans += 1
        self.extractor.add(path, truth, misreads)
        document_id = self.service.upload(path).json()["documents"][0]["id"]
        self.service.run_pending()
        self.truths[document_id] = truth
        return document_id

    def gk2021_document(self, fields: dict[str, int | None], misreads: dict[str, Misread]) -> int:
        """A GK2021 document whose printed numbers are `fields` (the scan's bytes only key it)."""
        path, scan = generated_scan(self.tmp_path / "scans", self.scans)
        self.scans += 1
        cells = {code: {"page": 1, "bbox": [10.0, 10.0, 60.0, 30.0]} for code in fields}
        truth = scan | {"template": "GK2021", "fields": fields, "value_cells": cells, "table_pages": [1]}
        self.extractor.add(path, truth, misreads)
        document_id = self.service.upload(path).json()["documents"][0]["id"]
        self.service.run_pending()
        self.truths[document_id] = truth
        return document_id

    def reviewer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.service.new_key(Role.reviewer)}"}

    def items(self, auth: dict[str, str], limit: int = 20) -> list[dict]:
        response = self.service.client.get("/v1/review/items", params={"limit": limit}, headers=auth)
        assert response.status_code == 200, response.text
        return response.json()

    def decide(self, auth: dict[str, str], item: dict, **decision: object):  # type: ignore[no-untyped-def]
        body = {"version": item["version"]} | decision
        return self.service.client.post(f"/v1/review/items/{item['id']}", json=body, headers=auth)

    def document_json(self, document_id: int) -> dict:
        auth = self.service.auth(Role.consumer)
        return self.service.client.get(f"/v1/documents/{document_id}", headers=auth).json()

    def expire_leases(self) -> None:
        with self.service.session_factory.begin() as session:
            session.execute(update(ReviewItem).values(lease_expires_at=utcnow() - timedelta(seconds=1)))

    def key_id(self, auth: dict[str, str]) -> int:
        from api.services.keys import authenticate

        with self.service.session_factory() as session:
            return authenticate(session, auth["Authorization"].removeprefix("Bearer ")).id


@pytest.fixture
def rv(service: Service, tmp_path: Path) -> Review:
    return Review(service, tmp_path)


def test_items_are_leased_a_whole_document_at_a_time_in_table_order(rv: Review):
    first = rv.document({"GK2008-7": Misread(3), "GK2008-1.1.b": Misread(5)})
    second = rv.document({"GK2008-6": Misread(9)})
    alice, bob = rv.reviewer(), rv.reviewer()

    before = utcnow()
    one = rv.items(alice, limit=1)
    assert [(i["document_id"], i["code"]) for i in one] == [(first, "GK2008-1.1.b")]
    lease_end = one[0]["lease_expires_at"]
    assert before + timedelta(seconds=600) <= datetime.fromisoformat(lease_end) <= utcnow() + timedelta(seconds=600)

    theirs = rv.items(bob)  # the whole first document is alice's, though she asked for one item
    assert [(i["document_id"], i["code"]) for i in theirs] == [(second, "GK2008-6")]
    again = rv.items(alice)
    assert [(i["document_id"], i["code"]) for i in again] == [(first, "GK2008-1.1.b"), (first, "GK2008-7")]
    assert [i["crop_url"] for i in again] == [
        f"/v1/documents/{first}/fields/GK2008-1.1.b/crop.png",
        f"/v1/documents/{first}/fields/GK2008-7/crop.png",
    ]
    assert rv.items(rv.reviewer()) == []  # nothing free for a third reviewer


def test_an_expired_lease_is_kept_until_someone_takes_the_document(rv: Review):
    rv.document({"GK2008-7": Misread(3), "GK2008-6": Misread(4), "GK2008-8.4": Misread(1)})
    alice, bob, carol = rv.reviewer(), rv.reviewer(), rv.reviewer()
    first, second, third = rv.items(alice)

    refused = rv.decide(bob, first, confirm=True)
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(f"review item {first['id']} is leased to another reviewer until ")

    rv.expire_leases()
    assert rv.decide(alice, first, confirm=True).status_code == 200  # expired, nobody took it

    rv.expire_leases()
    assert [i["id"] for i in rv.items(bob)] == [second["id"], third["id"]]  # bob takes it over
    lost = rv.decide(alice, second, confirm=True)
    assert lost.status_code == 409
    assert "is leased to another reviewer" in lost.json()["detail"]
    never = rv.decide(carol, third, confirm=True)
    assert never.status_code == 409
    assert "leased to another reviewer" in never.json()["detail"]
    assert rv.decide(bob, second, confirm=True).status_code == 200

    rv.expire_leases()
    unleased = rv.decide(carol, third, confirm=True)  # bob's lease ran out, carol never asked
    assert unleased.status_code == 409
    assert unleased.json()["detail"] == f"review item {third['id']} is not leased to you: GET /v1/review/items first"
    with rv.service.session_factory() as session:
        item = session.get_one(ReviewItem, third["id"])
        assert (item.state, item.version, item.leased_by) == ("open", 1, rv.key_id(bob))


def test_a_stale_version_is_409_and_overwrites_nothing(rv: Review):
    document_id = rv.document({"GK2008-7": Misread(3)})
    alice = rv.reviewer()
    (item,) = rv.items(alice)
    assert rv.decide(alice, item | {"version": item["version"] + 1}, value=4).status_code == 409
    not_finite = rv.service.client.post(
        f"/v1/review/items/{item['id']}",
        content=b'{"value": NaN, "version": 1}',
        headers=alice | {"Content-Type": "application/json"},
    )
    assert not_finite.status_code == 422
    both = rv.decide(alice, item, value=4, confirm=True)
    assert (both.status_code, both.json()["detail"]) == (422, "send one of `value`, `text` or `confirm: true`")
    done = rv.decide(alice, item, value=5)
    assert done.status_code == 200
    assert done.json() == {
        "id": item["id"],
        "version": item["version"] + 1,
        "field_status": "corrected",
        "document_status": "verified",
        "open_items": 0,
        "opened": [],
    }
    stale = rv.decide(alice, item, value=6)
    assert stale.status_code == 409
    assert stale.json()["detail"] == f"review item {item['id']} is at version 2 (closed), not 1; reload it"
    with rv.service.session_factory() as session:
        rows = session.execute(select(Correction.old_value, Correction.new_value)).all()
    assert rows == [(3.0, 5.0)]
    fields = {f["code"]: f for f in rv.document_json(document_id)["result"]["fields"]}
    assert (fields["GK2008-7"]["value"], fields["GK2008-7"]["machine_value"]) == (5, 3)


def test_review_routes_need_the_reviewer_role(rv: Review):
    document_id = rv.document({"GK2008-7": Misread(3)})
    (item,) = rv.items(rv.reviewer())
    client, service = rv.service.client, rv.service
    routes = [
        ("get", "/v1/review/items"),
        ("post", f"/v1/review/items/{item['id']}"),
        ("get", f"/v1/review/documents/{document_id}"),
        ("get", "/v1/review/stats"),
    ]
    for method, url in routes:
        kwargs = {"json": {"confirm": True, "version": 1}} if method == "post" else {}
        assert getattr(client, method)(url, **kwargs).status_code == 401
        for role in (Role.uploader, Role.consumer):
            assert getattr(client, method)(url, headers=service.auth(role), **kwargs).status_code == 403, (url, role)
    assert client.get("/v1/review/stats", headers=service.auth(Role.admin)).status_code == 200
    assert client.get(f"/v1/review/documents/{document_id}", headers=service.auth(Role.reviewer)).status_code == 200
    page = client.get("/review")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<input id="key" type="password"' in page.text
    assert client.get("/review/static/review.js").status_code == 200


def test_decisions_leave_an_audit_trail_and_the_result_shows_them(rv: Review):
    document_id = rv.document({"GK2008-7": Misread(3), "GK2008-6": Misread(4, ("seal_overlap",))})
    alice = rv.reviewer()
    seven, six = sorted(rv.items(alice), key=lambda i: i["code"], reverse=True)
    before = utcnow()
    assert rv.decide(alice, seven, value=None).json()["field_status"] == "corrected"
    assert rv.decide(alice, six, confirm=True).json()["document_status"] == "verified"
    after = utcnow()

    with rv.service.session_factory() as session:
        rows = session.scalars(select(Correction).order_by(Correction.id)).all()
        trail = [(c.review_item_id, c.api_key_id, c.action, c.old_value, c.new_value, c.reasons) for c in rows]
        moments = [c.created_at for c in rows]
        items = {i.id: (i.state, i.version) for i in session.scalars(select(ReviewItem))}
    key_id = rv.key_id(alice)
    assert trail == [
        (seven["id"], key_id, "correct", 3.0, None, ["low_ocr_confidence"]),
        (six["id"], key_id, "confirm", 4.0, 4.0, ["seal_overlap"]),
    ]
    assert all(before <= m <= after for m in moments)
    assert items == {seven["id"]: ("closed", 2), six["id"]: ("closed", 2)}

    document = rv.document_json(document_id)
    assert document["status"] == "verified"
    fields = {f["code"]: f for f in document["result"]["fields"]}
    assert {k: fields["GK2008-7"][k] for k in ("status", "value", "machine_value", "text")} == {
        "status": "corrected",
        "value": None,  # corrected to blank
        "machine_value": 3,
        "text": "3",
    }
    assert {k: fields["GK2008-6"][k] for k in ("status", "value", "machine_value")} == {
        "status": "confirmed",
        "value": 4,
        "machine_value": 4,
    }
    assert fields["GK2008-8.4"]["status"] == "accepted"


def test_correcting_a_misread_term_clears_the_sum_mismatch(rv: Review):
    document_id = rv.document({"GK2008-1.2.2": Misread(None)})
    truth = rv.truths[document_id]["fields"]
    alice = rv.reviewer()
    items = rv.items(alice)
    assert [i["code"] for i in items] == ["GK2008-1.2", *CHANNELS]
    assert all("sum_mismatch" in i["reasons"] for i in items)

    misread = next(i for i in items if i["code"] == "GK2008-1.2.2")
    assert rv.decide(alice, misread, value=truth["GK2008-1.2.2"]).json()["opened"] == []
    view = rv.service.client.get(f"/v1/review/documents/{document_id}", headers=alice).json()
    reasons = {f["code"]: f["reasons"] for f in view["fields"]}
    assert reasons["GK2008-1.2.2"] == ["low_ocr_confidence"]
    assert [reasons[c] for c in ("GK2008-1.2", "GK2008-1.2.1", "GK2008-1.2.5")] == [[], [], []]
    check = next(c for c in view["checks"] if c["target"] == "GK2008-1.2")
    assert (check["holds"], check["expected"], check["actual"]) == (True, truth["GK2008-1.2"], truth["GK2008-1.2"])
    result = {f["code"]: f for f in rv.document_json(document_id)["result"]["fields"]}
    assert result["GK2008-1.2.1"]["reasons"] == []


def test_a_corrected_total_that_breaks_a_sum_opens_items_for_its_undecided_terms(rv: Review):
    document_id = rv.document({"GK2008-1.2": Misread(None, ("low_ocr_confidence",))})
    truth = rv.truths[document_id]["fields"]
    alice = rv.reviewer()
    (total,) = rv.items(alice)
    assert total["reasons"] == ["low_ocr_confidence"]  # a blank total checks nothing

    wrong = truth["GK2008-1.2"] + 5
    outcome = rv.decide(alice, total, value=wrong).json()
    assert (outcome["field_status"], outcome["document_status"], outcome["open_items"]) == (
        "corrected",
        "needs_review",
        5,
    )
    opened = rv.items(alice)
    assert [i["code"] for i in opened] == list(CHANNELS)
    assert sorted(outcome["opened"]) == sorted(i["id"] for i in opened)
    assert all(i["reasons"] == ["sum_mismatch"] for i in opened)
    assert rv.items(rv.reviewer()) == []  # the new items are leased to the one who made them
    fields = {f["code"]: f for f in rv.document_json(document_id)["result"]["fields"]}
    assert [fields[c]["status"] for c in ("GK2008-1.2", *CHANNELS)] == ["corrected"] + ["review"] * 5
    assert fields["GK2008-1.2"]["reasons"] == ["low_ocr_confidence", "sum_mismatch"]

    for item in opened:
        last = rv.decide(alice, item, confirm=True).json()
    assert (last["document_status"], last["open_items"]) == ("verified", 0)


def test_a_correction_on_a_gk2021_document_that_breaks_an_identity_reopens_its_fields(rv: Review):
    fields = consistent_gk2021()
    natural = "GK2021-3.1@natural"
    document_id = rv.gk2021_document(fields, {natural: Misread(fields[natural])})
    alice = rv.reviewer()
    (item,) = rv.items(alice)
    assert item["code"] == natural

    outcome = rv.decide(alice, item, value=fields[natural] + 5).json()
    assert outcome["field_status"] == "corrected"
    opened = {i["code"]: i for i in rv.items(alice)}
    # 总计 = the six applicant columns, and 一 + 二 = （七）总计 + 四 in the natural column.
    identities = {"GK2021-3.1@total", *(f"GK2021-3.1@{c}" for c in APPLICANTS[1:])}
    identities |= {"GK2021-3.2@natural", "GK2021-3.4@natural", "GK2021-3.3.7@natural"}
    assert set(opened) == identities
    assert all(i["reasons"] == ["sum_mismatch"] for i in opened.values())
    result = {f["code"]: f for f in rv.document_json(document_id)["result"]["fields"]}
    assert result["GK2021-3.1@total"]["status"] == "review"
    assert result["GK2021-2.1.1@issued"]["status"] == "accepted"  # in no broken identity


def test_a_label_matched_weakly_and_then_decided_becomes_an_alias(rv: Review):
    weak = Misread(3, ("low_label_match",), label_read=" 七、 因政府信息公开 申请行政复议")
    rv.document({"GK2008-7": weak, "GK2008-6": Misread(2)})  # 6: read right, no alias to learn
    alice = rv.reviewer()
    for item in rv.items(alice):
        assert rv.decide(alice, item, confirm=True).status_code == 200
    with rv.service.session_factory() as session:
        assert load_aliases(session) == {"GK2008": {normalize_label(" 七、 因政府信息公开 申请行政复议"): "GK2008-7"}}

    # The same reading accepted for another code makes the alias ambiguous: it is dropped.
    rv.document({"GK2008-8.4": Misread(1, ("low_label_match",), label_read="七、因政府信息公开申请行政复议")})
    for item in rv.items(alice):
        rv.decide(alice, item, confirm=True)
    with rv.service.session_factory() as session:
        assert load_aliases(session) == {}


def test_queue_statistics_on_a_constructed_history(rv: Review):
    rv.document(
        {
            "GK2008-1.1.b": Misread(5),
            "GK2008-6": Misread(4, ("low_ocr_confidence", "ocr_confusion")),
            "GK2008-7": Misread(3, ("seal_overlap",)),
        }
    )
    rv.document({"GK2008-8.4": Misread(1)})  # stays open
    start = utcnow() - timedelta(minutes=30)
    with rv.service.session_factory.begin() as session:
        key = session.get_one(ApiKey, rv.key_id(rv.reviewer()))
        leased = review.lease_items(session, key, 3, 600, now=start)
        assert [o.field.code for o in leased] == ["GK2008-1.1.b", "GK2008-6", "GK2008-7"]
        moments = [start + timedelta(seconds=s) for s in (30, 70, 160)]
        decisions = [
            {"confirm": True, "value": None},
            {"confirm": False, "value": 40.0},
            {"confirm": False, "value": 3.0},
        ]
        for opened, moment, decision in zip(leased, moments, decisions, strict=True):
            review.decide(session, key, opened.item.id, 1, lease_seconds=600, now=moment, **decision)  # type: ignore[arg-type]

        stats = review.queue_stats(session, now=start + timedelta(minutes=70))
    assert (stats.open_items, stats.decided, stats.items_per_hour, stats.median_seconds_per_item) == (1, 3, 0, 40.0)
    rows = [
        (r.reason, r.items, r.confirmed, r.corrected, r.machine_right, r.machine_right_share) for r in stats.reasons
    ]
    assert rows == [
        ("low_ocr_confidence", 2, 1, 1, 1, 0.5),
        ("ocr_confusion", 1, 0, 1, 0, 0.0),
        ("seal_overlap", 1, 0, 1, 1, 1.0),
    ]
    answer = rv.service.client.get("/v1/review/stats", headers=rv.reviewer()).json()
    assert answer == {
        "open_items": 1,
        "decided": 3,
        "items_per_hour": 3,
        "median_seconds_per_item": 40.0,
        "reasons": [
            {"reason": r, "items": i, "confirmed": c, "corrected": k, "machine_right": m, "machine_right_share": s}
            for r, i, c, k, m, s in rows
        ],
    }


def test_crops_cut_the_value_cell_and_the_row_from_the_page(rv: Review):
    import cv2
    import numpy as np

    document_id = rv.document({"GK2008-7": Misread(3)})
    auth = rv.reviewer()
    (item,) = rv.items(auth)
    x0, y0, x1, y1 = item["bbox"]
    cell = rv.service.client.get(item["crop_url"], headers=auth)
    assert (cell.status_code, cell.headers["content-type"]) == (200, "image/png")
    crop = cv2.imdecode(np.frombuffer(cell.content, np.uint8), cv2.IMREAD_COLOR)
    margin = max(8.0, 0.25 * (y1 - y0))
    assert crop.shape[:2] == (int(y1 + margin + 0.5) - int(y0 - margin), int(x1 + margin + 0.5) - int(x0 - margin))
    page = rv.service.client.get(item["image_url"], headers=auth)
    full = cv2.imdecode(np.frombuffer(page.content, np.uint8), cv2.IMREAD_COLOR)
    top, left = int(y0 - margin), int(x0 - margin)
    assert np.array_equal(crop, full[top : top + crop.shape[0], left : left + crop.shape[1]])
    row = rv.service.client.get(item["crop_url"], params={"row": "true"}, headers=auth)
    strip = cv2.imdecode(np.frombuffer(row.content, np.uint8), cv2.IMREAD_COLOR)
    assert strip.shape[:2] == (crop.shape[0], left + crop.shape[1])  # from the page's left edge
    assert np.array_equal(strip, full[top : top + crop.shape[0], : strip.shape[1]])
    missing = rv.service.client.get(f"/v1/documents/{document_id}/fields/GK2008-99/crop.png", headers=auth)
    assert missing.status_code == 404


def test_review_stats_command_on_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The embedded mode's database: leases and decisions work on SQLite, and the command
    prints the statistics."""
    from typer.testing import CliRunner

    from api.services.keys import create_key
    from docextract.cli import app
    from docextract.settings import Settings, get_settings
    from models.db import Document, make_engine, make_session_factory
    from models.migrations import upgrade
    from models.schemas import SourceInfo
    from tests.browser.prepared import prepared_result
    from worker import jobs
    from worker.config import WorkerSettings
    from worker.runtime import Runtime
    from worker.storage import ContentStore

    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    store = ContentStore(tmp_path / "storage")
    runtime = Runtime(Settings(database_url=url), WorkerSettings(), factory, store, lambda _s: None)
    _, truth = generated_scan(tmp_path / "scans", 0)
    result = prepared_result(
        truth, {"GK2008-7": Misread(3), "GK2008-6": Misread(4)}, SourceInfo(filename="a.png", sha256="a" * 64, pages=1)
    )
    with factory.begin() as session:
        document = Document(sha256="a" * 64, filename="a.png", size_bytes=1, status="processing")
        session.add(document)
        session.flush()
        document_id = document.id
        key, _ = create_key(session, Role.reviewer, "cli")
    store.write_atomic(store.result_path(document_id), result.model_dump_json().encode())
    jobs.persist(runtime, document_id)

    start = utcnow() - timedelta(minutes=5)
    with factory.begin() as session:
        key = session.get_one(ApiKey, key.id)
        leased = review.lease_items(session, key, 10, 600, now=start)
        assert [o.field.code for o in leased] == ["GK2008-6", "GK2008-7"]
        six = leased[0]
        review.decide(
            session, key, six.item.id, 1, confirm=True, value=None, lease_seconds=600, now=start + timedelta(seconds=12)
        )
    engine.dispose()

    monkeypatch.setenv("DOCEXTRACT_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        table = CliRunner().invoke(app, ["review-stats"])
        raw = CliRunner().invoke(app, ["review-stats", "--json"])
    finally:
        get_settings.cache_clear()
    assert table.exit_code == 0, table.output
    assert table.output.splitlines() == [
        "open items: 1",
        "decided: 1",
        "items per hour (last hour): 1",
        "median seconds per item: 12",
        "",
        "reason                    items  confirmed  corrected  machine right",
        "low_ocr_confidence            1          1          0           100%",
    ]
    assert raw.exit_code == 0, raw.output
    assert json.loads(raw.output)["reasons"] == [
        {
            "reason": "low_ocr_confidence",
            "items": 1,
            "confirmed": 1,
            "corrected": 0,
            "machine_right": 1,
            "machine_right_share": 1.0,
        }
    ]
