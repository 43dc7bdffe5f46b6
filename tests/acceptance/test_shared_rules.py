"""The GK2008 rules on the ground truth of ../shared/samples: a consistent report passes them all,
an inconsistent one is flagged exactly where its printed numbers disagree. Collected only when
../shared is present."""

import pytest

from models.template import load_catalogue
from tests.conftest import SHARED_SAMPLES, read_gt
from worker.pipeline.validate import check_rules, reasons_by_code

pytestmark = pytest.mark.shared


def test_consistent_shared_report_passes_every_rule():
    values = read_gt(SHARED_SAMPLES, "sample_002")["fields"]
    checks = check_rules(values, load_catalogue("GK2008").rules)
    assert checks, "rules with printed targets were evaluated"
    assert [c.rule.target for c in checks if not c.holds] == []


def test_inconsistent_shared_report_flags_the_printed_mismatches_and_keeps_values():
    gt = read_gt(SHARED_SAMPLES, "sample_004")
    values = dict(gt["fields"])
    reasons = reasons_by_code(check_rules(values, load_catalogue("GK2008").rules))
    assert reasons["GK2008-8.3"] == ["sum_mismatch"]
    assert reasons["GK2008-8.3.1"] == ["sum_mismatch"]
    assert reasons["GK2008-5"] == ["sum_mismatch"]
    assert reasons["GK2008-5.3"] == ["sum_mismatch"]
    assert "GK2008-1.2" not in reasons
    assert values == gt["fields"]  # flag, never fix
