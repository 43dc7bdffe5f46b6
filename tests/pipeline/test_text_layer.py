"""Digital pages read from their PDF text layer, and text layers that are not believed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

import worker.pipeline.extract as extract_module
from fixtures.digital import generate_digital_document
from models.template import get_template
from tests.conftest import SAMPLES
from worker.pipeline.load import open_document
from worker.pipeline.preprocess import prepare_page
from worker.pipeline.readers import Stopwatch
from worker.pipeline.textlayer import LayerChar, LayerCheck, TextLayer, agrees_with_image, sampled_runs
from worker.pipeline.validate import check_rules, reasons_by_code


def result_rules(result):  # type: ignore[no-untyped-def]
    assert result.template is not None
    return get_template(result.template.id).catalogue.rules


SEED = 3  # GK2008 document 0 of this seed is consistent (every field accepted)
NEGATIVE_SEED = 5150  # its GK2019 document 1 prints changes below zero (−19, −39, −50)


class _NoOcr:
    """An engine that fails the test when asked to read anything (cells, headings, titles)."""

    name = "no-ocr"

    def recognize(self, crops, alphabet=None):  # type: ignore[no-untyped-def]
        raise AssertionError("OCR on a page read from its text layer")

    def detect(self, image):  # type: ignore[no-untyped-def]
        raise AssertionError("text detection on a page read from its text layer")

    def read_region(self, image):  # type: ignore[no-untyped-def]
        raise AssertionError("heading OCR on a page read from its text layer")


class _Counting:
    """The real recogniser, counting its calls."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.calls = 0

    def recognize(self, crops, alphabet=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.engine.recognize(crops, alphabet)


@pytest.fixture
def no_ocr(extractor, monkeypatch):  # type: ignore[no-untyped-def]
    """The session's extractor whose only OCR is the real recogniser checking text layers;
    returns it and the counter of the checks' recogniser calls."""
    checks = _Counting(extractor.engine)
    monkeypatch.setattr(extract_module, "LayerCheck", lambda _engine: LayerCheck(checks))
    monkeypatch.setattr(extractor, "engine", _NoOcr())
    return extractor, checks


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("digital")
    generate_digital_document(SEED, 0, out, "GK2008", "digital")
    generate_digital_document(SEED, 0, out, "GK2021", "digital")
    generate_digital_document(NEGATIVE_SEED, 1, out, "GK2019", "digital")
    generate_digital_document(SEED, 0, out, "FJ2009", "digital")
    generate_digital_document(SEED, 0, out, "GK2008", "searchable_scan")
    generate_digital_document(SEED, 0, out, "GK2008", "wrong_ocr_layer")
    return out


def _gt(out: Path, stem: str) -> dict:
    import json

    return json.loads((out / "gt" / f"{stem}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "stem", ["digital_gk2008_001", "digital_gk2021_001", "digital_gk2019_002", "digital_fj2009_001"]
)
def test_a_digital_report_is_read_from_its_text_layer_without_ocr(documents, no_ocr, stem):
    extractor, checks = no_ocr
    gt = _gt(documents, stem)
    result = extractor.extract_file(documents / f"{stem}.pdf")
    assert result.run.page_sources == dict.fromkeys(range(1, gt["pages"] + 1), "text_layer")
    assert {f.code: f.value for f in result.fields} == gt["fields"]
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])
    assert checks.calls == 1  # page 1 proves the document's one font; later pages need no OCR
    assert result.template is not None and result.template.id == gt.get("template", "GK2008")
    if stem.startswith("digital_gk2008"):
        assert not gt["details"]["inconsistencies"]
        assert [f.code for f in result.fields if f.status != "accepted"] == []
    # A rule the print breaks: the layer is the print, so its fields are kept as printed, no OCR.
    breaks = reasons_by_code(check_rules(gt["fields"], result_rules(result)))
    for code in breaks:
        assert (result.field(code).status, result.field(code).reasons) == ("accepted", ["printed_mismatch"]), code
    if stem == "digital_fj2009_001":
        assert breaks  # the generator printed this one inconsistent
    if stem == "digital_gk2019_002":
        assert sorted(v for v in gt["fields"].values() if v is not None and v < 0) == [-50, -39, -19]


def test_a_trusted_page_is_prepared_as_printed(documents, extractor):
    with open_document(documents / "digital_gk2008_001.pdf", extractor.settings.limits) as document:
        page = document.page(3)
    layer = page.text_layer
    assert layer is not None and not layer.invisible
    assert LayerCheck(extractor.engine).trusted(layer, cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY))
    prepared = prepare_page(replace(page, text_layer=replace(layer, trusted=True)))
    assert prepared.text_layer is not None and prepared.text_layer.chars == layer.chars
    assert (prepared.rotation, prepared.skew) == (0, 0.0)
    np.testing.assert_array_equal(prepared.to_original, np.eye(3))
    assert prepare_page(page).text_layer is None  # an unchecked layer is never read


def test_proven_fonts_spare_ocr_but_not_the_ink_check(documents, extractor):
    checks = _Counting(extractor.engine)
    layers = LayerCheck(checks)
    with open_document(documents / "digital_gk2008_001.pdf", extractor.settings.limits) as document:
        first, table = document.page(1), document.page(3)
    assert first.text_layer is not None and table.text_layer is not None
    assert layers.trusted(first.text_layer, cv2.cvtColor(first.image, cv2.COLOR_BGR2GRAY))
    assert layers.proven == {"STSong-Light"} and checks.calls == 1
    assert layers.trusted(table.text_layer, cv2.cvtColor(table.image, cv2.COLOR_BGR2GRAY))
    blank = np.full(table.image.shape[:2], 255, np.uint8)
    assert not layers.trusted(table.text_layer, blank)  # a layer over nothing printed
    assert checks.calls == 1


def _table_page_layer(path: Path, extractor) -> tuple[TextLayer, np.ndarray]:  # type: ignore[no-untyped-def]
    with open_document(path, extractor.settings.limits) as document:
        page = document.page(3)  # the table's first page
    assert page.text_layer is not None
    return page.text_layer, cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY)


def test_a_scans_ocr_layer_is_believed_only_where_it_says_what_the_image_shows(documents, extractor):
    right, right_gray = _table_page_layer(documents / "searchable_scan_gk2008_001.pdf", extractor)
    wrong, wrong_gray = _table_page_layer(documents / "wrong_ocr_layer_gk2008_001.pdf", extractor)
    assert right.invisible and wrong.invisible
    assert agrees_with_image(right, right_gray, extractor.engine)
    assert not agrees_with_image(wrong, wrong_gray, extractor.engine)


def test_pages_under_a_wrong_ocr_layer_are_read_by_ocr(documents, extractor):
    sources: dict[int, str] = {}
    with open_document(documents / "wrong_ocr_layer_gk2008_001.pdf", extractor.settings.limits) as document:
        tables, _ = extractor._scan_pages(document, Stopwatch(), sources)
    pages = _gt(documents, "wrong_ocr_layer_gk2008_001")["pages"]
    assert tables and sources == dict.fromkeys(range(1, pages + 1), "ocr")  # the narrative's year is misread too
    assert all(tp.prepared.text_layer is None for tp in tables)


def test_a_scan_without_a_text_layer_is_read_by_ocr(extractor):
    sources: dict[int, str] = {}
    with open_document(SAMPLES / "gk2021.pdf", extractor.settings.limits) as document:
        tables, _ = extractor._scan_pages(document, Stopwatch(), sources)
    assert tables and set(sources.values()) == {"ocr"}
    assert all(tp.prepared.text_layer is None and tp.prepared.drawn_rules is None for tp in tables)


def test_a_visible_layer_is_checked_on_a_short_run_with_digits_and_one_without(documents, extractor):
    with open_document(documents / "digital_gk2008_001.pdf", extractor.settings.limits) as document:
        layer = document.page(1).text_layer
    assert layer is not None and not layer.invisible
    runs = [[c.text for c in run] for run in sampled_runs(layer)]
    assert len(runs) == 2 and all(2 <= len(run) <= 6 for run in runs)
    assert [any(ch.isdigit() for ch in run) for run in runs] == [True, False]


def test_a_layer_on_blank_paper_is_not_believed(extractor):
    chars = tuple(LayerChar("数", (10.0 + 30 * i, 10.0, 35.0 + 30 * i, 35.0)) for i in range(30))
    gray = np.full((100, 1000), 255, np.uint8)
    assert not agrees_with_image(TextLayer(chars, invisible=True), gray, extractor.engine)


def _char(text: str, x: float, y0: float, y1: float, width: float = 20.0) -> LayerChar:
    return LayerChar(text, (x, y0, x + width, y1))


def test_a_cell_reads_its_lines_top_to_bottom_with_points_in_place():
    chars = (
        _char("数", 80, 100, 120),
        _char("2", 40, 100, 120, 10),
        _char(".", 52, 116, 120, 4),  # a point: a box a few pixels tall at the baseline
        _char("传", 58, 100, 120),
        _char("真", 40, 130, 150),
        _char("外", 300, 100, 120),  # outside the cell
    )
    read = TextLayer(chars, invisible=False).read((30.0, 90.0, 200.0, 160.0))
    assert (read.text, read.lines, read.score, read.blank) == ("2.传数真", 2, 1.0, False)
    assert TextLayer(chars, invisible=False).read((400.0, 0.0, 500.0, 50.0)).blank


def test_heading_lines_are_cut_at_wide_gaps_like_detected_lines():
    chars = (_char("填", 0, 0, 20), _char("报", 20, 0, 20), _char("2", 200, 0, 20, 10), _char("0", 210, 0, 20, 10))
    lines = TextLayer(chars, invisible=False).lines_in((0.0, 0.0, 300.0, 30.0))
    assert [(line.read.text, line.box) for line in lines] == [("填报", (0, 0, 40, 20)), ("20", (200, 0, 220, 20))]
