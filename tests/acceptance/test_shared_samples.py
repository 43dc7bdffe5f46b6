"""Acceptance on ../shared/samples (the project's public scans beside the repository), end to end
with the real PP-OCR models: collected only when ../shared is present."""

import pytest

from models.template import load_catalogue
from tests.conftest import SHARED_SAMPLES, read_gt
from worker.pipeline.reasons import Reason
from worker.pipeline.validate import check_rules, corroborated

pytestmark = [pytest.mark.ocr, pytest.mark.shared]


def sample_gt(name: str) -> dict:
    return read_gt(SHARED_SAMPLES, name)


def test_sample_scan_extracts_every_field_right_and_in_contract_order(extractor):
    gt = sample_gt("sample_001")
    result = extractor.extract_file(SHARED_SAMPLES / "sample_001.pdf")
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


def test_fields_under_a_seal_are_flagged_and_accepted_only_where_a_sum_or_a_second_read_settles_them(extractor):
    gt = sample_gt("sample_002")
    result = extractor.extract_file(SHARED_SAMPLES / "sample_002.pdf")
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
    # Every number under its seal reads clearly, by a sum or a second read alike.
    assert {code for code in flagged if result.field(code).status == "review"} == set()
    assert result.template.pages == [3, 4]  # the table continues on the next page


def test_values_a_black_seal_hides_are_suggested_by_the_sums_and_reviewed(extractor):
    gt = sample_gt("sample_005")  # a fax: the seal is as black as the print, its lettering over three 0s
    result = extractor.extract_file(SHARED_SAMPLES / "sample_005.tif")
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
    result = extractor.extract_file(SHARED_SAMPLES / "sample_003.pdf")
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])
    assert {f.code: f.value for f in result.fields} == gt["fields"]
