#!/usr/bin/env python3
"""The HTTP side of deploy/stack-check: health, waiting for a batch, pulling its results.

Standard library only (runs with the machine's python3, outside the project's venv).
Exits non-zero, with the reason on standard error, when the stack does not answer as the
contract says.

    stack_probe.py health URL
    stack_probe.py wait URL KEY BATCH TIMEOUT_SECONDS
    stack_probe.py results URL KEY BATCH OUT_DIR
    stack_probe.py flower URL USER:PASSWORD WORKERS
"""

from __future__ import annotations

import base64
import csv
import io
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

RESULT_STATUSES = {"extracted", "needs_review"}


class ProbeError(Exception):
    pass


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> bytes:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        raise ProbeError(f"GET {url}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
    except OSError as exc:
        raise ProbeError(f"GET {url}: {exc}") from exc


def get_json(url: str, key: str) -> object:
    return json.loads(get(url, {"Authorization": f"Bearer {key}"}))


def health(api: str) -> None:
    for path in ("/healthz", "/readyz"):
        answer = json.loads(get(api + path))
        if answer.get("status") != "ok":
            raise ProbeError(f"{path} answered {answer}")
        print(f"  {path:<8} {answer}")


def wait(api: str, key: str, batch: int, timeout: float) -> None:
    """Poll the batch every second until it is finished; fail on a failed document or timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        progress = get_json(f"{api}/v1/batches/{batch}", key)
        done, failed, pending = progress["done"], progress["failed"], progress["pending"]
        line = f"{done}/{progress['total']} done, {failed} failed, {pending} pending"
        if line != last:
            print(f"  batch {batch}: {line} {progress['by_status']}", flush=True)
            last = line
        if progress["finished"]:
            break
        if time.monotonic() > deadline:
            raise ProbeError(f"batch {batch} not finished after {timeout:.0f} s")
        time.sleep(1)
    if progress["failed"]:
        raise ProbeError(f"batch {batch}: failed documents {progress['failures']}")


def results(api: str, key: str, batch: int, out: Path) -> None:
    """Each document's JSON and the batch's CSV export, saved to OUT and checked against each other."""
    out.mkdir(parents=True, exist_ok=True)
    listing = get_json(f"{api}/v1/documents?batch_id={batch}", key)
    documents = listing["documents"]
    if not documents:
        raise ProbeError(f"batch {batch} lists no documents")
    fields_by_document: dict[int, int] = {}
    for listed in documents:
        document = get_json(f"{api}/v1/documents/{listed['id']}", key)
        (out / f"document-{document['id']}.json").write_text(json.dumps(document, ensure_ascii=False, indent=1))
        fields_by_document[document["id"]] = check_document(document)
    exported = get(f"{api}/v1/exports/fields.csv?batch_id={batch}", {"Authorization": f"Bearer {key}"})
    (out / f"batch-{batch}-fields.csv").write_bytes(exported)
    check_csv(exported, fields_by_document)
    print(f"  saved to {out}/")


def check_document(document: dict) -> int:
    status, result = document["status"], document["result"]
    if status not in RESULT_STATUSES or result is None:
        raise ProbeError(f"document {document['id']}: status {status}, error {document['error']}")
    fields = result["fields"]
    if not fields:
        raise ProbeError(f"document {document['id']}: a result without fields")
    accepted = sum(f["status"] == "accepted" for f in fields)
    with_value = sum(f["value"] is not None for f in fields)
    template = (result["template"] or {}).get("id")
    run = result.get("run") or {}
    print(
        f"  document {document['id']} {document['filename']}: status {status}, template {template}, "
        f"year {result['report']['year']}, unit {result['report']['unit_name']}, "
        f"{len(fields)} fields ({accepted} accepted, {len(fields) - accepted} review, {with_value} with a value), "
        f"{result['source']['pages']} pages, extraction {run.get('seconds', '?')} s in the worker"
    )
    return len(fields)


def check_csv(exported: bytes, fields_by_document: dict[int, int]) -> None:
    text = exported.decode("utf-8")
    if not text.startswith("\ufeff"):
        raise ProbeError("fields.csv has no UTF-8 byte-order mark")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    counted: dict[int, int] = {}
    for row in rows:
        counted[int(row["document_id"])] = counted.get(int(row["document_id"]), 0) + 1
    if counted != fields_by_document:
        raise ProbeError(f"fields.csv rows per document {counted} != the JSON's fields {fields_by_document}")
    print(f"  fields.csv: {len(rows)} rows, one per document × code, as the JSON")


def flower(url: str, credentials: str, workers: int) -> None:
    """Flower answers and sees the given number of Celery nodes."""
    auth = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    deadline = time.monotonic() + 60
    while True:
        seen = json.loads(get(f"{url}/api/workers?refresh=1", auth, timeout=40))
        if len(seen) >= workers or time.monotonic() > deadline:
            break
        time.sleep(2)
    print(f"  flower: {len(seen)} workers online: {', '.join(sorted(seen))}")
    if len(seen) != workers:
        raise ProbeError(f"flower sees {len(seen)} workers, expected {workers}")


def main(argv: list[str]) -> int:
    try:
        match argv:
            case ["health", api]:
                health(api)
            case ["wait", api, key, batch, timeout]:
                wait(api, key, int(batch), float(timeout))
            case ["results", api, key, batch, out]:
                results(api, key, int(batch), Path(out))
            case ["flower", url, credentials, workers]:
                flower(url, credentials, int(workers))
            case _:
                print(__doc__, file=sys.stderr)
                return 2
    except ProbeError as exc:
        print(f"stack_probe: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
