"""End to end on real scans with the real PP-OCR models (a few pages only)."""

import json

import pytest
from typer.testing import CliRunner

from docextract.cli import app
from models.template import load_catalogue
from tests.conftest import SAMPLES, sample_gt
from worker.pipeline.reasons import Reason
from worker.pipeline.validate import check_rules, corroborated

pytestmark = pytest.mark.ocr


def test_sample_scan_extracts_every_field_right_and_in_contract_order(extractor):
    gt = sample_gt("sample_001")
    result = extractor.extract_file(SAMPLES / "sample_001.pdf")
    assert result.schema_version == "1"
    assert result.source.pages == 4
    assert result.source.sha256 == "c2fcf1c48ea796175817a9090932e09ed9b418756b086e51ac511d495c3f25ee"
    assert result.template is not None
    assert (result.template.id, result.template.pages) == ("GK2008", gt["table_pages"])
    assert [f.code for f in result.fields] == list(gt["fields"])
    assert {f.code: f.value for f in result.fields} == gt["fields"]
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])  # a seal on the unit line
    for field in result.fields:
        box = gt["value_cells"][field.code]["bbox"]
        assert field.page == gt["value_cells"][field.code]["page"]
        assert field.bbox == pytest.approx(box, abs=4)


def test_fields_under_a_seal_are_flagged_and_reviewed_unless_a_sum_settles_them(extractor):
    gt = sample_gt("sample_002")
    result = extractor.extract_file(SAMPLES / "sample_002.pdf")
    flagged = {f.code for f in result.fields if "seal_overlap" in f.reasons}
    assert flagged == set(gt["seal_covered_codes"])
    values = {f.code: f.value for f in result.fields}
    # In doubt before arithmetic: any reason a sum may settle (kept on record once settled).
    doubts = {f.code: f.reasons for f in result.fields if any(Reason(r).settled_by_sum for r in f.reasons)}
    settled = corroborated(check_rules(values, load_catalogue("GK2008").rules), values, doubts)
    for code in flagged:
        field = result.field(code)
        assert field.status == ("accepted" if code in settled else "review"), code
        if field.status == "accepted":
            assert field.value == gt["fields"][code], code
    assert result.template.pages == [3, 4]  # the table continues on the next page


def test_values_a_black_seal_hides_are_suggested_by_the_sums_and_reviewed(extractor):
    gt = sample_gt("sample_005")  # a fax: the seal is as black as the print, its lettering over three 0s
    result = extractor.extract_file(SAMPLES / "sample_005.tif")
    inferred = {f.code: f for f in result.fields if "inferred_from_sum" in f.reasons}
    assert set(inferred) == {"GK2008-3.3.6", "GK2008-3.3.7", "GK2008-3.3.8"}
    for code, field in inferred.items():
        # （三） = 0 and its other terms are 0: every term it adds up is 0.
        assert (field.value, field.status) == (gt["fields"][code], "review"), code
        assert "seal_overlap" in field.reasons
    assert inferred["GK2008-3.3.7"].text == ""  # what was read stays on record
    assert result.field("GK2008-3.3").status == "accepted"


def test_a_unit_name_a_seal_damaged_is_mended_from_the_narrative_title(extractor):
    gt = sample_gt("sample_003")  # a grey seal's lettering over 人力资 of the unit line
    result = extractor.extract_file(SAMPLES / "sample_003.pdf")
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])
    assert {f.code: f.value for f in result.fields} == gt["fields"]


def test_cli_writes_results_and_reports_unreadable_inputs_without_stopping(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 truncated")
    runner = CliRunner()
    outcome = runner.invoke(
        app,
        [
            "extract",
            str(bad),
            str(SAMPLES / "sample_004.jpg"),
            "--out",
            str(tmp_path / "out"),
            "--overlay",
            str(tmp_path / "overlay"),
            "--jobs",
            "1",
        ],
    )
    assert outcome.exit_code == 1
    assert f"docextract: {bad}: corrupt PDF" in outcome.stderr
    written = json.loads((tmp_path / "out" / "sample_004.json").read_text(encoding="utf-8"))
    assert written["source"]["filename"] == "sample_004.jpg"
    assert len(written["fields"]) == 65
    assert not (tmp_path / "out" / "broken.json").exists()
    assert (tmp_path / "overlay" / "sample_004_p1.png").stat().st_size > 10_000
