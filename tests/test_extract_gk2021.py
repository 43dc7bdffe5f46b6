"""End to end on the real GK2021 report (scanned): template, every field, identities, title."""

import json
from collections import Counter

import pytest

from tests.conftest import SAMPLES, SHARED
from worker.pipeline.load import open_document

pytestmark = pytest.mark.ocr

GK2021_SAMPLES = SHARED / "samples-gk2021"
FLAGGED_BY_TABLE_4 = {
    f"GK2021-4.{row}@{k}"
    for row in ("review", "suit_after_review")
    for k in ("upheld", "corrected", "other", "pending", "total")
}


def test_real_gk2021_report_every_field_right_and_the_broken_identities_flagged(extractor):
    gt = json.loads((GK2021_SAMPLES / "gt" / "gk2021_real_01.json").read_text(encoding="utf-8"))
    result = extractor.extract_file(GK2021_SAMPLES / "gk2021_real_01.pdf")
    assert result.template is not None
    assert (result.template.id, result.template.pages) == ("GK2021", gt["table_pages"])
    assert result.template.confidence >= 0.9
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])
    # contract order, with （六）其他处理 printed as one row listed after the rows it stands for
    assert [f.code for f in result.fields] == list(gt["fields"])
    assert {f.code: f.value for f in result.fields} == gt["fields"]
    reviewed = {f.code for f in result.fields if f.status == "review"}
    assert reviewed == FLAGGED_BY_TABLE_4  # 总计 printed 0 under 10 + 1 and 5: kept, flagged
    assert all(result.field(code).reasons == ["sum_mismatch"] for code in reviewed)
    assert Counter(r for f in result.fields for r in f.reasons) == {"sum_mismatch": 10, "not_printed": 21}
    folded = [f for f in result.fields if f.code.startswith("GK2021-3.3.6.")]
    assert all((f.value, f.page, f.reasons, f.status) == (None, None, ["not_printed"], "accepted") for f in folded)
    assert result.status == "needs_review"
    value = result.field("GK2021-2.8.1@amount")
    assert (value.value, value.text, value.page) == (7730.28, "7730.28", 3)


def test_template_detection_reads_gk2008_tables_as_gk2008(extractor):
    with open_document(SAMPLES / "sample_001.pdf", extractor.settings.limits) as document:
        pages = extractor._find_table_pages(document)
        guess, _ = extractor._detect_template(pages)
    assert guess is not None
    assert guess.id == "GK2008"
    assert guess.votes["GK2019"] == guess.votes["GK2021"] == 0
