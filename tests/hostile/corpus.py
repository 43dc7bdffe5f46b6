"""The hostile-input corpus, generated at test time: every kind of bad file the issue names.

Each entry has the reason the loader must give (its start: details such as sizes follow).
The limits used with it are small so that the expensive cases stay cheap to build.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image

from docextract.settings import LimitSettings

# Limits the corpus is built against: bombs are far past them, honest scans far below.
LIMITS = LimitSettings(max_bytes=20_000_000, max_pages=50, max_page_pixels=20_000_000)


@dataclass(frozen=True)
class Hostile:
    name: str  # file name as uploaded
    data: bytes
    reason: str  # how the loader's InputError must start


def _pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


_ONE_PAGE = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]


def _pages_pdf(count: int) -> bytes:
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(count))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
    return _pdf(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count)]
        + [page] * count
    )


def scanned_pdf() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (1240, 1754), 255).save(buffer, "PDF", resolution=150)
    return buffer.getvalue()


def encrypted_pdf() -> bytes:
    """Standard security handler with a user password (the empty one does not open it)."""
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >>" % (b"11" * 32, b"22" * 32)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        encrypt,
    ]
    return _pdf(objects, b"/Encrypt 4 0 R /ID [<%s> <%s>] " % (b"33" * 16, b"33" * 16))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG of side² pixels (900 Mpx: 2.7 GB as RGB) in about 100 kB."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", compressed) + _png_chunk(b"IEND", b"")
    )


def huge_tiff(width: int = 100_000, height: int = 100_000) -> bytes:
    """A TIFF whose one uncompressed strip claims 10 Gpx (10 GB) and holds a few bytes."""
    entries = [
        (256, 4, 1, width),  # ImageWidth, LONG
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: black is zero
        (273, 4, 1, 8 + 2 + 12 * 9 + 4),  # StripOffsets: right after the IFD
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, width * height % 2**32),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + b"\x00" * 64


def many_frames_tiff(frames: int = 1000) -> bytes:
    buffer = io.BytesIO()
    first = Image.new("1", (300, 300), 1)
    first.save(buffer, "TIFF", save_all=True, append_images=[first] * (frames - 1), compression="group4")
    return buffer.getvalue()


def page_tiff() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (800, 1000), 255).save(buffer, "TIFF", save_all=True, append_images=[Image.new("L", (800, 1000))])
    return buffer.getvalue()


def page_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 1000), "white").save(buffer, "PNG")
    return buffer.getvalue()


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(buffer, "PNG")
    return buffer.getvalue()


def corpus() -> list[Hostile]:
    pdf = scanned_pdf()
    return [
        Hostile("zero-byte.pdf", b"", "empty file"),
        Hostile("truncated.pdf", pdf[: len(pdf) // 3], "corrupt PDF"),
        # Pillow raised TypeError here, not a reason: the loader now turns every decoder error into one.
        Hostile("truncated.tif", page_tiff()[:200], "corrupt TIFF image (TypeError: Missing dimensions)"),
        Hostile("truncated.png", page_png()[:1000], "page 1 cannot be decoded (OSError: image file is truncated"),
        Hostile("header-only.pdf", b"%PDF-1.7\n", "corrupt PDF"),
        Hostile("encrypted.pdf", encrypted_pdf(), "encrypted PDF (password required)"),
        Hostile("thousands-of-pages.pdf", _pages_pdf(5000), "too many pages (5000 > 50)"),
        Hostile("bomb.png", bomb_png(), "image too large (900000000 px > 20000000 pixels), refused before decoding"),
        Hostile(
            "just-over-the-limit.png", bomb_png(5000), "image too large (25000000 px > 20000000 pixels)"
        ),  # 25 Mpx: Pillow only warns
        Hostile(
            "huge-page.pdf",
            _pdf([*_ONE_PAGE[:2], b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>"]),
            "page too large (40000×40000 px > 20000000 pixels)",
        ),
        Hostile("one-pixel.png", tiny_png(), "image too small to read (1×1 px)"),
        Hostile("huge.tif", huge_tiff(), "image too large (10000000000 px > 20000000 pixels)"),
        Hostile("thousand-frames.tif", many_frames_tiff(), "too many pages (1000 > 50)"),
        Hostile("notes.pdf", "年度报告 just text, named like a PDF\n".encode(), "not a PDF, TIFF, PNG or JPEG file"),
        Hostile(
            "report.html", b"<!doctype html><html><body><p>%PDF</p></body></html>", "not a PDF, TIFF, PNG or JPEG file"
        ),
    ]
