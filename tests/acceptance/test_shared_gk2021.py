"""Acceptance on ../shared/samples-gk2021, the real GK2021 report (scanned): template, every field,
identities, title. Collected only when ../shared is present."""

from collections import Counter

import pytest

from tests.conftest import SHARED_GK2021, read_gt

pytestmark = [pytest.mark.ocr, pytest.mark.shared]
FLAGGED_BY_TABLE_4 = {
    f"GK2021-4.{row}@{k}"
    for row in ("review", "suit_after_review")
    for k in ("upheld", "corrected", "other", "pending", "total")
}


def test_real_gk2021_report_every_field_right_and_the_broken_identities_kept_as_printed(extractor):
    gt = read_gt(SHARED_GK2021, "gk2021_real_01")
    result = extractor.extract_file(SHARED_GK2021 / "gk2021_real_01.pdf")
    assert result.template is not None
    assert (result.template.id, result.template.pages) == ("GK2021", gt["table_pages"])
    assert result.template.confidence >= 0.9
    assert (result.report.unit_name, result.report.year) == (gt["unit_name"], gt["year"])
    # contract order, with （六）其他处理 printed as one row listed after the rows it stands for
    assert [f.code for f in result.fields] == list(gt["fields"])
    assert {f.code: f.value for f in result.fields} == gt["fields"]
    # 总计 printed 0 under 10 + 1 and 5: kept and said; every cell read clearly twice alike, so
    # the print's, not a misread, and no one's time.
    assert [f.code for f in result.fields if f.status == "review"] == []
    assert all(result.field(code).reasons == ["printed_mismatch"] for code in FLAGGED_BY_TABLE_4)
    assert Counter(r for f in result.fields for r in f.reasons) == {"printed_mismatch": 10, "not_printed": 21}
    folded = [f for f in result.fields if f.code.startswith("GK2021-3.3.6.")]
    assert all((f.value, f.page, f.reasons, f.status) == (None, None, ["not_printed"], "accepted") for f in folded)
    assert result.status == "extracted"
    value = result.field("GK2021-2.8.1@amount")
    assert (value.value, value.text, value.page) == (7730.28, "7730.28", 3)
