from models.template import load_catalogue
from tests.conftest import sample_gt
from worker.pipeline.validate import check_rules, corroborated, implied_values, reasons_by_code


def test_consistent_report_passes_every_rule():
    values = sample_gt("gk2008-seal")["fields"]
    checks = check_rules(values, load_catalogue("GK2008").rules)
    assert len(checks) == 15, "every rule whose target is printed was evaluated"
    assert [c.rule.target for c in checks if not c.holds] == []


def test_inconsistent_report_flags_the_printed_mismatches_and_keeps_values():
    gt = sample_gt("gk2008-photo")  # 3.3.4.f printed above its parent 3.3.4; 四 not the sum of its rows
    values = dict(gt["fields"])
    reasons = reasons_by_code(check_rules(values, load_catalogue("GK2008").rules))
    assert reasons == {
        "GK2008-3.3.4": ["exceeds_parent"],
        "GK2008-3.3.4.f": ["exceeds_parent"],
        "GK2008-4": ["sum_mismatch"],
        "GK2008-4.1": ["sum_mismatch"],
        "GK2008-4.2": ["sum_mismatch"],
        "GK2008-4.3": ["sum_mismatch"],
    }
    assert values == gt["fields"]  # flag, never fix


def test_of_which_row_above_parent_is_flagged():
    values = {"GK2008-1.1": 5, "GK2008-1.1.a": 9}
    reasons = reasons_by_code(check_rules(values, load_catalogue("GK2008").rules))
    assert reasons == {"GK2008-1.1": ["exceeds_parent"], "GK2008-1.1.a": ["exceeds_parent"]}


def test_blank_target_is_not_checked_and_blank_terms_count_as_zero():
    catalogue = load_catalogue("GK2008")
    assert [c for c in check_rules({"GK2008-4": None, "GK2008-4.1": 3}, catalogue.rules)] == []
    checks = check_rules({"GK2008-4": 3, "GK2008-4.1": 3, "GK2008-4.2": None}, catalogue.rules)
    assert [(c.rule.target, c.holds) for c in checks] == [("GK2008-4", True)]


def test_a_mismatch_explained_by_a_doubtful_term_flags_only_that_term():
    catalogue = load_catalogue("GK2008")
    values = {"GK2008-4": 5, "GK2008-4.1": 3, "GK2008-4.2": 7, "GK2008-4.3": 0}  # 4.2 misread (2 → 7)
    checks = check_rules(values, catalogue.rules)
    assert reasons_by_code(checks, values, doubtful={"GK2008-4.2"}) == {"GK2008-4.2": ["sum_mismatch"]}
    # Without doubt, or with a doubtful term that cannot explain it, every field is flagged.
    everything = {code: ["sum_mismatch"] for code in ("GK2008-4", "GK2008-4.1", "GK2008-4.2", "GK2008-4.3")}
    assert reasons_by_code(checks, values) == everything
    values = {"GK2008-4": 5, "GK2008-4.1": 9, "GK2008-4.2": 1, "GK2008-4.3": 0}  # 4.2 ≥ 0 cannot fix 9 > 5
    checks = check_rules(values, catalogue.rules)
    assert reasons_by_code(checks, values, doubtful={"GK2008-4.2"}) == everything


def test_a_doubtful_parent_or_of_which_row_explains_an_exceeded_parent():
    catalogue = load_catalogue("GK2008")
    values = {"GK2008-1.1": 5, "GK2008-1.1.a": 9, "GK2008-1.1.b": 1}
    checks = [c for c in check_rules(values, catalogue.rules) if not c.holds]
    assert [c.rule.kind for c in checks] == ["le"]
    assert reasons_by_code(checks, values, doubtful={"GK2008-1.1"}) == {"GK2008-1.1": ["exceeds_parent"]}
    assert reasons_by_code(checks, values, doubtful={"GK2008-1.1.a"}) == {"GK2008-1.1.a": ["exceeds_parent"]}
    # A doubtful field outside the rule explains nothing.
    assert reasons_by_code(checks, values, doubtful={"GK2008-1.1.b"}) == {
        "GK2008-1.1": ["exceeds_parent"],
        "GK2008-1.1.a": ["exceeds_parent"],
    }


def test_sums_that_add_up_to_a_printed_total_corroborate_their_fields():
    catalogue = load_catalogue("GK2008")
    values = {"GK2008-4": 3, "GK2008-4.1": 1, "GK2008-4.2": 2, "GK2008-4.3": None}  # 4.3 left blank: 0
    values |= {"GK2008-5": 2, "GK2008-5.1": 3}  # does not add up
    values |= {"GK2008-9": None, "GK2008-9.1": 4}  # no total printed: nothing to check
    assert corroborated(check_rules(values, catalogue.rules), values) == {
        "GK2008-4",
        "GK2008-4.1",
        "GK2008-4.2",
        "GK2008-4.3",
    }


def test_a_sum_vouches_for_doubtful_fields_under_a_sure_total_or_beside_no_other_weak_read():
    catalogue = load_catalogue("GK2008")
    values = {"GK2008-1": 4, "GK2008-1.1": 4}  # 47 printed on both sides, its 7 lost on both
    checks = check_rules(values, catalogue.rules)
    faint = ["digits_isolated"]
    assert corroborated(checks, values, {"GK2008-1": faint, "GK2008-1.1": faint}) == set()
    assert corroborated(checks, values, {"GK2008-1.1": faint}) == {"GK2008-1", "GK2008-1.1"}
    assert corroborated(checks, values, {"GK2008-1": faint}) == {"GK2008-1", "GK2008-1.1"}
    # Two seals do not misread two cells alike: each is the other's witness.
    sealed = ["seal_overlap"]
    assert corroborated(checks, values, {"GK2008-1": sealed, "GK2008-1.1": sealed}) == {"GK2008-1", "GK2008-1.1"}
    assert corroborated(checks, values, {"GK2008-1": sealed, "GK2008-1.1": faint}) == {"GK2008-1", "GK2008-1.1"}


def test_a_field_vouched_for_is_a_sure_total_for_the_next_sum():
    catalogue = load_catalogue("GK2008")
    # 八 = 8.1 + 8.2 + 8.3 vouches for 8.3, which is then a sure total for 8.3.1 + 8.3.2.
    values = {"GK2008-8": 9, "GK2008-8.1": 1, "GK2008-8.2": 1, "GK2008-8.3": 7, "GK2008-8.3.1": 4, "GK2008-8.3.2": 3}
    checks = check_rules(values, catalogue.rules)
    faint = {code: ["low_ocr_confidence"] for code in ("GK2008-8.3", "GK2008-8.3.1", "GK2008-8.3.2")}
    assert corroborated(checks, values, faint) == set(values)
    faint["GK2008-8"] = ["low_ocr_confidence"]
    assert corroborated(checks, values, faint) == {"GK2008-8.1", "GK2008-8.2"}  # the sure fields only


def test_a_sum_never_vouches_for_a_doubtful_blank():
    catalogue = load_catalogue("GK2008")
    values = {"GK2008-4": 3, "GK2008-4.1": 1, "GK2008-4.2": 2, "GK2008-4.3": None}  # a faint 0 lost adds up too
    checks = check_rules(values, catalogue.rules)
    assert corroborated(checks, values, {"GK2008-4.3": ["blank_value"]}) == {"GK2008-4", "GK2008-4.1", "GK2008-4.2"}


def test_a_sum_implies_its_one_unread_term_or_total():
    rules = load_catalogue("GK2008").rules
    values = {"GK2008-4": 5, "GK2008-4.1": 3, "GK2008-4.3": None}  # 4.3 a dash: counts as 0
    assert implied_values(rules, values, unread={"GK2008-4.2"}) == {"GK2008-4.2": 2}
    values = {"GK2008-4.1": 3, "GK2008-4.2": 2, "GK2008-4.3": 0}
    assert implied_values(rules, values, unread={"GK2008-4"}) == {"GK2008-4": 5}
    # A total below its other terms implies no negative count.
    values = {"GK2008-4": 1, "GK2008-4.1": 3, "GK2008-4.3": 0}
    assert implied_values(rules, values, unread={"GK2008-4.2"}) == {}


def test_terms_that_already_make_up_the_total_imply_zero_for_every_unread_term():
    rules = load_catalogue("GK2008").rules
    values = {"GK2008-3.3": 4, "GK2008-3.3.1": 4} | dict.fromkeys(
        ("GK2008-3.3.2", "GK2008-3.3.3", "GK2008-3.3.4", "GK2008-3.3.5"), 0
    )
    unread = {"GK2008-3.3.6", "GK2008-3.3.7", "GK2008-3.3.8"}
    assert implied_values(rules, values, unread) == dict.fromkeys(unread, 0)
    # With a remainder to share out, two unread terms are not fixed.
    assert implied_values(rules, values | {"GK2008-3.3": 6}, unread) == {}


def test_a_parent_printed_zero_implies_zero_for_its_of_which_rows():
    rules = load_catalogue("GK2008").rules
    implied = implied_values(rules, {"GK2008-1.1": 0}, unread={"GK2008-1.1.a"})
    assert implied == {"GK2008-1.1.a": 0}
    assert implied_values(rules, {"GK2008-1.1": 3}, unread={"GK2008-1.1.a"}) == {}


def test_implied_values_need_every_other_field_known_and_feed_other_rules():
    rules = load_catalogue("GK2008").rules
    # 8.3.2 is not known (not found or not trusted): nothing is implied for 8.3.1.
    assert implied_values(rules, {"GK2008-8.3": 5}, unread={"GK2008-8.3.1"}) == {}
    # 8.3 implied from its terms, then 八 = 8.1 + 8.2 + 8.3 implies nothing more (8 is known).
    values = {"GK2008-8": 7, "GK2008-8.1": 1, "GK2008-8.2": 1, "GK2008-8.3.1": 2, "GK2008-8.3.2": 3}
    assert implied_values(rules, values, unread={"GK2008-8.3"}) == {"GK2008-8.3": 5}
    # Chained: 8.3 from 八, then 8.3.2 from 8.3.
    values = {"GK2008-8": 7, "GK2008-8.1": 1, "GK2008-8.2": 1, "GK2008-8.3.1": 2}
    implied = implied_values(rules, values, unread={"GK2008-8.3", "GK2008-8.3.2"})
    assert implied == {"GK2008-8.3": 5, "GK2008-8.3.2": 3}


def test_rules_that_disagree_imply_nothing():
    rules = load_catalogue("GK2008").rules
    # 8.3 = 8.3.1 + 8.3.2 says 5; 八 = 8.1 + 8.2 + 8.3 says 4.
    values = {"GK2008-8": 6, "GK2008-8.1": 1, "GK2008-8.2": 1, "GK2008-8.3.1": 2, "GK2008-8.3.2": 3}
    assert implied_values(rules, values, unread={"GK2008-8.3"}) == {}
