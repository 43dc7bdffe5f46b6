"""A client of the HTTP API for `docextract upload` and `docextract status`.

Upload is resumable: files are hashed locally, the server is asked which hashes it already
has (those are added to the batch without sending a byte), and only the rest are sent, each
in its own request, several at a time. Failures are collected, not fatal.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

SCAN_SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
_LOOKUP_CHUNK = 500
_RETRIES = 3


class ApiError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"HTTP {status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


@dataclass
class UploadSummary:
    batch_id: int
    files: int = 0
    uploaded: int = 0
    already_known: int = 0
    duplicates: int = 0  # sent, but the server had the same bytes (a race, or the same file)
    failures: list[tuple[Path, str]] = field(default_factory=list)


def collect_files(inputs: Iterable[Path]) -> list[Path]:
    """Files named, and scans (by extension) under directories named, in a stable order."""
    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found.extend(sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in SCAN_SUFFIXES))
        else:
            found.append(item)
    return list(dict.fromkeys(found))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class ApiClient:
    def __init__(self, base_url: str, key: str, timeout: float = 300.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(timeout, connect=10.0),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        """A request, retried on connection errors and 5xx / 429 answers with backoff."""
        for attempt in range(_RETRIES + 1):
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt == _RETRIES:
                    raise ApiError(0, f"{type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code < 400:
                    return response.json()
                if response.status_code < 500 and response.status_code != 429:
                    raise ApiError(response.status_code, _detail(response))
                if attempt == _RETRIES:
                    raise ApiError(response.status_code, _detail(response))
            for value in kwargs.get("files", []):  # rewind the file for the next try
                value[1][1].seek(0)
            time.sleep(min(2**attempt, 30))
        raise AssertionError("unreachable")

    def create_batch(self) -> dict[str, Any]:
        return self._call("POST", "/v1/batches")

    def batch(self, batch_id: int) -> dict[str, Any]:
        return self._call("GET", f"/v1/batches/{batch_id}")

    def attach_known(self, batch_id: int, hashes: Sequence[str]) -> dict[str, Any]:
        return self._call("POST", f"/v1/batches/{batch_id}/documents", json={"sha256": hashes})

    def upload_file(self, path: Path, batch_id: int) -> dict[str, Any]:
        with path.open("rb") as handle:
            files = [("files", (path.name, handle, "application/octet-stream"))]
            answer = self._call("POST", "/v1/documents", params={"batch_id": batch_id}, files=files)
        return answer["documents"][0]

    def list_documents(self, **params: Any) -> dict[str, Any]:
        return self._call("GET", "/v1/documents", params=params)

    def document(self, document_id: int) -> dict[str, Any]:
        return self._call("GET", f"/v1/documents/{document_id}")


def upload(
    client: ApiClient,
    inputs: Sequence[Path],
    *,
    concurrency: int = 4,
    batch_id: int | None = None,
    on_progress: Callable[[int], None] = lambda _n: None,
    on_total: Callable[[int], None] = lambda _n: None,
) -> UploadSummary:
    files = collect_files(inputs)
    on_total(len(files))
    batch_id = batch_id if batch_id is not None else client.create_batch()["id"]
    summary = UploadSummary(batch_id=batch_id, files=len(files))

    hashes: dict[Path, str] = {}
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(sha256_file, path): path for path in files}
        for future in as_completed(futures):
            path = futures[future]
            try:
                hashes[path] = future.result()
            except OSError as exc:
                summary.failures.append((path, f"cannot read: {exc.strerror or exc}"))
                on_progress(1)

    unique = list(dict.fromkeys(hashes.values()))
    missing: set[str] = set()
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        answer = client.attach_known(batch_id, unique[start : start + _LOOKUP_CHUNK])
        missing.update(answer["missing"])

    to_send: dict[str, Path] = {}
    for path, sha256 in hashes.items():
        if sha256 in missing and sha256 not in to_send:
            to_send[sha256] = path
        else:
            summary.already_known += 1
            on_progress(1)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(client.upload_file, path, batch_id): path for path in to_send.values()}
        for future in as_completed(futures):
            path = futures[future]
            try:
                document = future.result()
            except (ApiError, OSError) as exc:
                summary.failures.append((path, str(exc)))
            else:
                if document["sha256"] != hashes[path]:
                    summary.failures.append((path, "server received different bytes"))
                elif document["duplicate"]:
                    summary.duplicates += 1
                else:
                    summary.uploaded += 1
            on_progress(1)
    summary.failures.sort()
    return summary


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return str(detail) if detail else response.text[:200]
