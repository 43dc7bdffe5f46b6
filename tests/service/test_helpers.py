"""Small pure pieces of the service: names, keys, cursors, spreadsheet cells, file walking."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import security
from api.client import collect_files
from api.services.documents import decode_cursor, encode_cursor
from api.services.errors import Invalid
from api.services.export import _text, as_number
from api.upload import clean_filename


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a.pdf", "a.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\scans\\年报.pdf", "年报.pdf"),
        ("bad\x00name\n.tif", "badname.tif"),
        ("", "upload"),
        ("dir/", "upload"),
    ],
)
def test_uploaded_names_lose_directories_and_control_characters(raw: str, clean: str):
    assert clean_filename(raw) == clean


def test_keys_are_looked_up_by_prefix_and_checked_by_hash():
    key, prefix, key_hash = security.new_key()
    assert security.key_prefix(key) == prefix
    assert security.matches(key, key_hash)
    assert not security.matches(key + "x", key_hash)
    assert security.key_prefix("Bearer nonsense") is None


def test_cursors_round_trip_and_reject_garbage():
    assert decode_cursor(encode_cursor(42)) == 42
    for bad in ["", "!!", "e30", encode_cursor(1)[:-2] + "zz"]:
        with pytest.raises(Invalid):
            decode_cursor(bad)


def test_exported_text_is_never_a_formula_and_numbers_keep_their_kind():
    assert _text("=SUM(A1)") == "'=SUM(A1)"
    assert _text("+1") == "'+1"
    assert _text("-cmd") == "'-cmd"
    assert _text("-12") == "-12"
    assert _text("——") == "——"
    assert _text(None) is None
    assert (as_number(100.0), as_number(12.5), as_number(None)) == (100, 12.5, None)


def test_upload_walks_directories_for_scans_only(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    for name in ["b.PDF", "a.tif", "sub/c.jpeg", "notes.txt"]:
        (tmp_path / name).write_bytes(b"x")
    explicit = tmp_path / "notes.txt"
    assert collect_files([tmp_path, explicit]) == [
        tmp_path / "a.tif",
        tmp_path / "b.PDF",
        tmp_path / "sub" / "c.jpeg",
        explicit,
    ]
