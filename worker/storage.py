"""Content-addressed storage of originals, and the files the service derives from them.

    <storage_dir>/originals/ab/cd/<sha256>       the uploaded bytes, named by their hash
    <storage_dir>/pages/<sha256>/<n>.png         page images rendered for reviewers, on demand
    <storage_dir>/results/<document id>.json     an extract step's output, read by persist
    <storage_dir>/tmp/                           uploads being received

Every write goes to a temporary file in the same file system and is renamed into place, so a
reader never sees half a file and a crashed writer leaves only litter in `tmp/`. Several
machines may share the directory (NFS, a Docker volume): names never collide by design.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path


class ContentStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"

    def ensure(self) -> None:
        for sub in ("originals", "pages", "results", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # -- originals -------------------------------------------------------------------------
    def original_path(self, sha256: str) -> Path:
        return self.root / "originals" / sha256[:2] / sha256[2:4] / sha256

    def has_original(self, sha256: str) -> bool:
        return self.original_path(sha256).is_file()

    def new_temp_path(self) -> Path:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return self.tmp_dir / f"upload-{uuid.uuid4().hex}"

    def adopt(self, temp_path: Path, sha256: str) -> Path:
        """Move a fully received temporary file into place under its hash."""
        target = self.original_path(sha256)
        if target.is_file():  # same bytes already stored: keep the first copy
            temp_path.unlink(missing_ok=True)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp_path, target)
        return target

    def put_bytes(self, data: bytes) -> tuple[str, Path]:
        """Store bytes (tests, the embedded mode's helpers); returns (sha256, path)."""
        sha256 = hashlib.sha256(data).hexdigest()
        temp = self.new_temp_path()
        temp.write_bytes(data)
        return sha256, self.adopt(temp, sha256)

    # -- derived files ---------------------------------------------------------------------
    def page_image_path(self, sha256: str, number: int) -> Path:
        return self.root / "pages" / sha256 / f"{number}.png"

    def result_path(self, document_id: int) -> Path:
        return self.root / "results" / f"{document_id}.json"

    def write_atomic(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
