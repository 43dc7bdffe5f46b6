import io

import numpy as np
import pytest
from PIL import Image

from docextract.settings import LimitSettings
from worker.pipeline.errors import InputError
from worker.pipeline.load import open_document

LIMITS = LimitSettings()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def image_bytes(size=(800, 1100), fmt="PNG", mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white").save(buffer, fmt, **save)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.pdf", b"", "empty file"),
        ("notes.pdf", b"just some text, named like a PDF\n", "not a PDF, TIFF, PNG or JPEG file"),
        ("page.html", b"<html><body>hi</body></html>", "not a PDF, TIFF, PNG or JPEG file"),
        ("cut.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog", "corrupt PDF"),
    ],
)
def test_unreadable_inputs_fail_with_a_reason(tmp_path, name, data, reason):
    with pytest.raises(InputError) as error:
        open_document(write(tmp_path, name, data), LIMITS)
    assert error.value.reason.startswith(reason)


def test_tiny_image_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"image too small to read \(1×1 px\)"):
        open_document(write(tmp_path, "dot.png", image_bytes((1, 1))), LIMITS)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    limits = LimitSettings(max_page_pixels=1_000_000)
    with pytest.raises(InputError, match="too large"):
        open_document(write(tmp_path, "bomb.png", image_bytes((3000, 3000), mode="1")), limits)


def test_file_over_the_byte_limit_is_refused_unread(tmp_path):
    path = write(tmp_path, "big.png", image_bytes())
    with pytest.raises(InputError, match="file too large"):
        open_document(path, LimitSettings(max_bytes=100))


def test_hostile_file_name_is_only_reported(tmp_path):
    path = write(tmp_path, "x.png", image_bytes())
    with open_document(path, LIMITS, filename="../../etc/\x00passwd" + "a" * 300) as document:
        assert document.source.filename.startswith("../../etc/")
        assert document.page(1).size == (800, 1100)


def test_multipage_tiff_pages_and_dpi(tmp_path):
    frames = [Image.new("L", (850, 1100), v) for v in (255, 200, 100)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:], dpi=(100, 100))
    with open_document(write(tmp_path, "scan.tif", buffer.getvalue()), LIMITS) as document:
        assert document.page_count == 3
        third = document.page(3)
        assert (third.number, third.size, third.dpi, third.is_color) == (3, (850, 1100), 100.0, False)
        assert int(third.image[0, 0, 0]) == 100


def test_scanned_pdf_page_is_taken_at_native_resolution(tmp_path):
    page = Image.new("RGB", (1241, 1754), "white")
    page.paste((200, 30, 30), (100, 100, 300, 300))  # red ink: the page is in colour
    buffer = io.BytesIO()
    page.save(buffer, "PDF", resolution=150)
    with open_document(write(tmp_path, "scan.pdf", buffer.getvalue()), LIMITS) as document:
        loaded = document.page(1)
    assert loaded.size == (1241, 1754)
    assert round(loaded.dpi) == 150
    assert loaded.is_color
    blue, green, red = (int(v) for v in loaded.image[200, 200])  # BGR, through JPEG
    assert red > 180 and blue < 60 and green < 60
    assert np.all(loaded.image[1000, 1000] == 255)
