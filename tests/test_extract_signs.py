"""GK2019 end to end on a generated scan whose negatives print a pale minus (issue 15): a
change read without its minus is never accepted, and a seal over the title's unit name sends
the name to review."""

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


def test_a_change_read_without_its_minus_is_in_review_as_sign_unsure(pale_minus):
    gt, result = pale_minus
    negatives = {code for code, value in gt["fields"].items() if value is not None and value < 0}
    lost = [f for f in result.fields if f.code in negatives and f.value is not None and f.value > 0]
    assert lost, "the pale minus is lost in this scan"
    for field in lost:
        assert (field.status, "sign_unsure" in field.reasons) == ("review", True), field.code
    for field in result.fields:
        assert field.value == gt["fields"][field.code] or field.status == "review", field.code


def test_a_seal_over_the_titles_unit_name_is_reviewed(pale_minus):
    _, result = pale_minus
    assert result.report.unit_status == "review"
