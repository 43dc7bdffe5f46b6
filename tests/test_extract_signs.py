"""GK2019 end to end on a generated scan whose negatives print a pale minus (issue 15): the
minus the cleaned cell lost is read back from the cell as scanned, no change is accepted
without its minus, and a seal over the title's unit name, printing that name round its top,
leaves the name accepted (the seal's lettering is a second read of it)."""

import pytest

from fixtures.matrix import generate_matrix_document

pytestmark = pytest.mark.ocr
SEED, INDEX = 20261122, 3


@pytest.fixture(scope="module")
def pale_minus(tmp_path_factory: pytest.TempPathFactory, extractor):
    out = tmp_path_factory.mktemp("gk2019-signs")
    gt = generate_matrix_document(
        SEED, INDEX, out, "GK2019", negative_changes=True, minus_style="faint", dpi=200, unit_seal="middle"
    )
    return gt, extractor.extract_file(out / gt["file"])


def test_a_change_printed_with_a_pale_minus_is_read_negative(pale_minus):
    gt, result = pale_minus
    negatives = {code: value for code, value in gt["fields"].items() if value is not None and value < 0}
    assert len(negatives) >= 3
    for field in (f for f in result.fields if f.code in negatives):
        assert (field.value, field.status) == (negatives[field.code], "accepted"), field.code
    for field in result.fields:
        assert field.value == gt["fields"][field.code] or field.status == "review", field.code


def test_a_seal_over_the_titles_unit_name_that_prints_the_same_name_settles_it(pale_minus):
    gt, result = pale_minus
    report = result.report
    assert (report.unit_name, report.unit_status, report.unit_reasons) == (
        gt["unit_name"],
        "accepted",
        ["seal_over_heading"],
    )
    assert (report.year, report.year_status) == (gt["year"], "accepted")
