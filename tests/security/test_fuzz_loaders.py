"""Fuzzing the load stage: random bytes and damaged real files of every kind give a Document
or an InputError, never another exception (that would be a crash, not a reason)."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from docextract.settings import LimitSettings
from tests.hostile.corpus import scanned_pdf
from worker.pipeline.errors import InputError
from worker.pipeline.load import Document

# Small limits keep every example cheap: a mutated header may claim any size.
LIMITS = LimitSettings(max_bytes=2_000_000, max_pages=5, max_page_pixels=3_000_000, min_page_side=8)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _image(fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    page = Image.new("L", (64, 48), 255)
    page.paste(0, (10, 10, 30, 20))
    page.save(buffer, fmt, **options)
    return buffer.getvalue()


SEEDS = {
    "pdf": scanned_pdf(),
    "png": _image("PNG"),
    "jpeg": _image("JPEG"),
    "tiff": _image("TIFF", save_all=True, append_images=[Image.new("L", (64, 48), 128)], compression="tiff_lzw"),
    "tiff-deflate": _image("TIFF", compression="tiff_deflate"),
}


def load_all(data: bytes) -> None:
    """Open and decode every page; only InputError may escape."""
    try:
        with Document(data, "fuzz", LIMITS) as document:
            for _ in document.pages():
                pass
    except InputError as error:
        assert error.reason and "\n" not in error.reason


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "zero-run"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[at : at + draw(st.integers(1, 64))] = b"\xff" * draw(st.integers(1, 64))
    return bytes(data)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes):
    load_all(data)


@FUZZ
@given(
    st.sampled_from([b"%PDF-1.4\n", b"II*\x00", b"MM\x00*", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"]),
    st.binary(max_size=2048),
)
def test_random_bytes_behind_a_known_magic_number(magic: bytes, rest: bytes):
    load_all(magic + rest)


@FUZZ
@given(st.sampled_from(sorted(SEEDS)).flatmap(lambda kind: mutated(SEEDS[kind])))
def test_damaged_real_files(data: bytes):
    load_all(data)
