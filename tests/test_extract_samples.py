"""End to end on the repository's sample scans (samples/, made by fixtures/samples.py) with the
real PP-OCR models: one extraction per sample, a few pages each."""

import hashlib
import json

import pytest
from typer.testing import CliRunner

from docextract.cli import app
from models.schemas import ExtractionResult
from models.template import load_catalogue
from tests.conftest import SAMPLES, sample_gt
from worker.pipeline.load import open_document
from worker.pipeline.reasons import Reason
from worker.pipeline.validate import check_rules, corroborated, reasons_by_code

pytestmark = pytest.mark.ocr
RULE_REASONS = {"sum_mismatch", "exceeds_parent"}
GK2021_REVIEW_ROW = {f"GK2021-4.review@{k}" for k in ("upheld", "corrected", "other", "pending", "total")}


@pytest.fixture(scope="module")
def seal_scan(extractor) -> ExtractionResult:
    return extractor.extract_file(SAMPLES / "gk2008-seal.pdf")


@pytest.fixture(scope="module")
def phone_photo(extractor) -> ExtractionResult:
    return extractor.extract_file(SAMPLES / "gk2008-photo.jpg")


@pytest.fixture(scope="module")
def gk2021_scan(extractor) -> ExtractionResult:
    return extractor.extract_file(SAMPLES / "gk2021.pdf")


def test_sealed_scan_extracts_every_field_right_in_contract_order_and_in_its_cell(seal_scan):
    gt = sample_gt("gk2008-seal")
    result = seal_scan
    assert result.schema_version == "1"
    assert result.source.pages == gt["pages"] == 3
    assert result.source.sha256 == hashlib.sha256((SAMPLES / "gk2008-seal.pdf").read_bytes()).hexdigest()
    assert result.template is not None
    assert (result.template.id, result.template.pages) == ("GK2008", gt["table_pages"])  # table on 2 and 3
    assert [f.code for f in result.fields] == list(gt["fields"])
    assert {f.code: f.value for f in result.fields} == gt["fields"]
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])  # a seal on the unit line
    # Where the unit line and year were read (a reviewer's crop): the band above the table's first row.
    first = min((f for f in result.fields if f.page == 2), key=lambda f: f.bbox[1])  # type: ignore[index]
    assert result.report.heading_page == 2
    assert result.report.heading_bbox is not None
    assert 0 < result.report.heading_bbox[3] < first.bbox[1] < result.report.heading_bbox[3] + 300  # type: ignore[index]
    for field in result.fields:
        box = gt["value_cells"][field.code]["bbox"]
        assert field.page == gt["value_cells"][field.code]["page"]
        assert field.bbox == pytest.approx(box, abs=4)


def test_fields_under_a_seal_are_flagged_and_accepted_only_where_a_sum_or_a_second_read_settles_them(seal_scan):
    gt = sample_gt("gk2008-seal")
    result = seal_scan
    flagged = {f.code for f in result.fields if "seal_overlap" in f.reasons}
    assert flagged == set(gt["seal_covered_codes"])
    values = {f.code: f.value for f in result.fields}
    # In doubt before arithmetic: any reason a sum may settle (kept on record once settled).
    doubts = {f.code: f.reasons for f in result.fields if any(Reason(r).settled_by_sum for r in f.reasons)}
    settled = corroborated(check_rules(values, load_catalogue("GK2008").rules), values, doubts)
    for code in flagged:
        field = result.field(code)
        if code in settled:
            assert field.status == "accepted", code
        if field.status == "accepted":
            assert field.value == gt["fields"][code], code
            # not settled by a sum: its doubts were ones a second read settles (the seal, its
            # digits read alone), and a second read gave the number again
            blocking = [Reason(r) for r in field.reasons if Reason(r).blocking]
            assert code in settled or all(r.settled_by_second_read for r in blocking), code
    # The heading rows' empty cells under the red seal hold no ink once its red is taken out:
    # confirmed blank, as printed. Every field under the seal is settled.
    assert {code for code in flagged if result.field(code).status == "review"} == set()
    assert [result.field(code).value for code in ("GK2008-2", "GK2008-2.2")] == [None, None]


def test_phone_photo_accepts_no_wrong_value_and_keeps_every_broken_printed_rule_on_record(phone_photo):
    gt = sample_gt("gk2008-photo")
    result = phone_photo
    assert result.template is not None
    assert (result.template.id, result.template.pages) == ("GK2008", [1])
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])
    assert [f.code for f in result.fields] == list(gt["fields"])
    wrong = {f.code for f in result.fields if f.value != gt["fields"][f.code]}
    assert wrong == set()  # every value right, the ones under the seal included
    sealed = {f.code for f in result.fields if "seal_overlap" in f.reasons}
    # 2.2's cell is grazed by the seal's rim, under the 5 % of its area the ground truth counts.
    assert sealed == set(gt["seal_covered_codes"]) | {"GK2008-2.2"}
    # The sums printed wrong (recorded in the ground truth) keep the printed numbers; every cell
    # of them read clearly and read again alike, so they are accepted as printed and say so.
    printed_breaks = reasons_by_code(check_rules(gt["fields"], load_catalogue("GK2008").rules))
    assert set(printed_breaks) == {"GK2008-3.3.4", "GK2008-3.3.4.f", *(f"GK2008-4{s}" for s in ("", ".1", ".2", ".3"))}
    for code in printed_breaks:
        field = result.field(code)
        as_printed = ("accepted", gt["fields"][code], ["printed_mismatch"])
        assert (field.status, field.value, field.reasons) == as_printed, code
    assert result.status == "needs_review"  # the fields under the seal


def test_gk2021_report_every_field_right_and_the_broken_identity_flagged(gk2021_scan):
    gt = sample_gt("gk2021")
    result = gk2021_scan
    assert result.template is not None
    assert (result.template.id, result.template.pages) == ("GK2021", gt["table_pages"])
    assert result.template.confidence >= 0.9
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])
    # contract order, with （六）其他处理 printed as one row listed after the rows it stands for
    assert [f.code for f in result.fields] == list(gt["fields"])
    assert {f.code: f.value for f in result.fields} == gt["fields"]
    reviewed = {f.code for f in result.fields if f.status == "review"}
    # 总计 printed one more than the four before it: kept and said (every cell read again alike,
    # so not a misread); an amount printed in 元 where the form asks for 万元: the printed
    # number kept, the printed unit said, reviewed.
    assert reviewed == {"GK2021-2.8.1@amount"}
    for code in GK2021_REVIEW_ROW:
        field = result.field(code)
        assert (field.status, field.value, field.reasons) == ("accepted", gt["fields"][code], ["printed_mismatch"])
    amount = result.field("GK2021-2.8.1@amount")
    assert (amount.text, amount.value, amount.unit_read, amount.reasons) == ("25201元", 25201, "元", ["unit_mismatch"])
    folded = [f for f in result.fields if f.code.startswith("GK2021-3.3.6.")]
    assert len(folded) == 21
    assert all((f.value, f.page, f.reasons, f.status) == (None, None, ["not_printed"], "accepted") for f in folded)
    assert result.status == "needs_review"


def test_template_detection_reads_gk2008_tables_as_gk2008(extractor):
    with open_document(SAMPLES / "gk2008-seal.pdf", extractor.settings.limits) as document:
        pages = extractor._find_table_pages(document)
        guess, _ = extractor._detect_template(pages)
    assert guess is not None
    assert guess.id == "GK2008"
    assert guess.votes["GK2019"] == guess.votes["GK2021"] == 0


def test_cli_writes_results_and_reports_unreadable_inputs_without_stopping(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4 truncated")
    runner = CliRunner()
    outcome = runner.invoke(
        app,
        [
            "extract",
            str(bad),
            str(SAMPLES / "gk2008-photo.jpg"),
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
    written = json.loads((tmp_path / "out" / "gk2008-photo.json").read_text(encoding="utf-8"))
    assert written["source"]["filename"] == "gk2008-photo.jpg"
    assert len(written["fields"]) == 65
    assert not (tmp_path / "out" / "broken.json").exists()
    assert (tmp_path / "overlay" / "gk2008-photo_p1.png").stat().st_size > 10_000
