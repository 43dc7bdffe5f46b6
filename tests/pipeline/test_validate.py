from models.catalogue import load_catalogue
from tests.conftest import sample_gt
from worker.pipeline.validate import check_rules, reasons_by_code


def test_consistent_report_passes_every_rule():
    values = sample_gt("sample_002")["fields"]
    checks = check_rules(values, load_catalogue("GK2008"))
    assert checks, "rules with printed targets were evaluated"
    assert [c.rule.target for c in checks if not c.holds] == []


def test_inconsistent_report_flags_the_printed_mismatches_and_keeps_values():
    gt = sample_gt("sample_004")
    values = dict(gt["fields"])
    reasons = reasons_by_code(check_rules(values, load_catalogue("GK2008")))
    assert reasons["GK2008-8.3"] == ["sum_mismatch"]
    assert reasons["GK2008-8.3.1"] == ["sum_mismatch"]
    assert reasons["GK2008-5"] == ["sum_mismatch"]
    assert reasons["GK2008-5.3"] == ["sum_mismatch"]
    assert "GK2008-1.2" not in reasons
    assert values == gt["fields"]  # flag, never fix


def test_of_which_row_above_parent_is_flagged():
    values = {"GK2008-1.1": 5, "GK2008-1.1.a": 9}
    reasons = reasons_by_code(check_rules(values, load_catalogue("GK2008")))
    assert reasons == {"GK2008-1.1": ["exceeds_parent"], "GK2008-1.1.a": ["exceeds_parent"]}


def test_blank_target_is_not_checked_and_blank_terms_count_as_zero():
    catalogue = load_catalogue("GK2008")
    assert [c for c in check_rules({"GK2008-4": None, "GK2008-4.1": 3}, catalogue)] == []
    checks = check_rules({"GK2008-4": 3, "GK2008-4.1": 3, "GK2008-4.2": None}, catalogue)
    assert [(c.rule.target, c.holds) for c in checks] == [("GK2008-4", True)]
