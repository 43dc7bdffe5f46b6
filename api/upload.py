"""Receiving uploads: the multipart body is streamed straight into storage.

Each `files` part goes to a temporary file in the storage directory as it arrives, hashed on
the way, so a 300 MB scan is neither held in memory nor copied twice, and a request over a
limit is refused (413) as soon as it crosses it rather than after it has been read whole.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from fastapi import HTTPException, Request, status
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from worker.storage import ContentStore

FIELD_NAME = "files"


@dataclass
class ReceivedFile:
    filename: str
    sha256: str
    size: int
    temp_path: Path


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    handle: BinaryIO | None = None
    path: Path | None = None
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    size: int = 0


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_files: int
    max_request_bytes: int


def _too_large(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail)


def clean_filename(raw: str) -> str:
    """The name without any directory part or control characters, at most 255 characters.

    Only ever shown and exported: storage names files by their hash, never by this."""
    name = re.split(r"[\\/]", raw)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:255]
    return "upload" if name in ("", ".", "..") else name


class _Receiver:
    """python-multipart callbacks; file writes are queued here and done off the event loop."""

    def __init__(self, store: ContentStore, limits: UploadLimits) -> None:
        self.store = store
        self.limits = limits
        self.files: list[ReceivedFile] = []
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._pending: list[tuple[BinaryIO, bytes]] = []
        self._finished: list[BinaryIO] = []
        self._open: list[_Part] = []

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def on_part_begin(self) -> None:
        self._part = _Part()
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._part.name = _decode(options.get(b"name", b""))
        if self._part.name != FIELD_NAME or b"filename" not in options:
            return  # other fields are ignored (their data is dropped as it comes)
        if len(self.files) + len(self._open) >= self.limits.max_files:
            raise _too_large(f"more than {self.limits.max_files} files in one request")
        self._part.filename = clean_filename(_decode(options[b"filename"]))
        self._part.path = self.store.new_temp_path()
        self._part.handle = self._part.path.open("wb")
        self._open.append(self._part)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.handle is None:
            return
        chunk = data[start:end]
        part.size += len(chunk)
        if part.size > self.limits.max_file_bytes:
            raise _too_large(f"{part.filename}: larger than {self.limits.max_file_bytes} bytes")
        part.digest.update(chunk)
        self._pending.append((part.handle, chunk))

    def on_part_end(self) -> None:
        part = self._part
        if part.handle is None or part.path is None or part.filename is None:
            return
        if part.size == 0:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{part.filename}: empty")
        self._finished.append(part.handle)
        self._open.remove(part)
        self.files.append(ReceivedFile(part.filename, part.digest.hexdigest(), part.size, part.path))

    async def flush(self) -> None:
        pending, finished = self._pending, self._finished
        self._pending, self._finished = [], []
        if pending or finished:
            await run_in_threadpool(_write_and_close, pending, finished)

    @property
    def incomplete(self) -> bool:
        return bool(self._open)

    def discard(self) -> None:
        for handle in [*self._finished, *(p.handle for p in self._open if p.handle)]:
            handle.close()
        for item in [*self._open, *self.files]:
            path = item.path if isinstance(item, _Part) else item.temp_path
            if path is not None:
                path.unlink(missing_ok=True)


def _write_and_close(pending: list[tuple[BinaryIO, bytes]], finished: list[BinaryIO]) -> None:
    for handle, chunk in pending:
        handle.write(chunk)
    for handle in finished:
        handle.close()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


async def receive_files(request: Request, store: ContentStore, limits: UploadLimits) -> list[ReceivedFile]:
    """Stream the request's `files` parts into temporary files; the caller adopts them."""
    content_type, params = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send multipart/form-data with `files` parts")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_request_bytes:
        raise _too_large(f"request larger than {limits.max_request_bytes} bytes")

    receiver = _Receiver(store, limits)
    parser = MultipartParser(params[b"boundary"], receiver.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limits.max_request_bytes:
                raise _too_large(f"request larger than {limits.max_request_bytes} bytes")
            parser.write(chunk)
            await receiver.flush()
        parser.finalize()
        await receiver.flush()
    except MultipartParseError as exc:
        await run_in_threadpool(receiver.discard)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad multipart body: {exc}") from exc
    except BaseException:
        await run_in_threadpool(receiver.discard)
        raise
    if receiver.incomplete:
        await run_in_threadpool(receiver.discard)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "multipart body ended mid-file")
    if not receiver.files:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"no `{FIELD_NAME}` parts with a filename")
    return receiver.files
