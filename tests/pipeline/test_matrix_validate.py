"""The identities of the 2019+ tables: flagged with exact reasons, never fixed."""

from models.template import load_catalogue, load_matrix_catalogue
from worker.pipeline.validate import check_rules, implied_values, reasons_by_code

COLUMNS = ("natural", "business", "research", "public_interest", "legal_service", "other")
OUTCOMES = ("3.3.1", "3.3.2", "3.3.3.1", "3.3.4.1", "3.3.5.2", "3.3.6.3")


def _consistent(template: str = "GK2021") -> dict[str, int | None]:
    """A table that adds up: each outcome row holds 1 per column, 一 = 6, 二 = 1, 四 = 1."""
    catalogue = load_matrix_catalogue(template)
    values: dict[str, int | None] = dict.fromkeys(catalogue.catalogue.codes, 0)
    for column in COLUMNS:
        values[f"{template}-3.1@{column}"] = 6
        values[f"{template}-3.2@{column}"] = 1
        values[f"{template}-3.4@{column}"] = 1
        values[f"{template}-3.3.7@{column}"] = 6
        for row in OUTCOMES if template == "GK2021" else (*OUTCOMES[:-1], "3.3.6"):
            values[f"{template}-{row}@{column}"] = 1
    for row in {code.split("@")[0] for code in values if code.startswith(f"{template}-3.")}:
        values[f"{row}@total"] = sum(values[f"{row}@{c}"] or 0 for c in COLUMNS)
    values[f"{template}-4.review@upheld"] = 3
    values[f"{template}-4.review@total"] = 3
    return values


def _failed(values: dict, template: str = "GK2021") -> dict[str, list[str]]:
    return reasons_by_code(check_rules(values, load_matrix_catalogue(template).catalogue.rules))


def test_a_consistent_table_passes_every_identity():
    for template in ("GK2021", "GK2019"):
        checks = check_rules(_consistent(template), load_matrix_catalogue(template).catalogue.rules)
        assert len(checks) == len(load_matrix_catalogue(template).catalogue.rules) - (template == "GK2021")
        assert all(c.holds for c in checks)


def test_column_identity_one_plus_two_equals_total_plus_four():
    values = _consistent()
    values["GK2021-3.2@research"] = 4  # 6 + 4 ≠ 6 + 1; the row total 二 is now off as well
    checks = [c for c in check_rules(values, load_matrix_catalogue("GK2021").catalogue.rules) if not c.holds]
    assert [(c.rule.target, c.expected, c.actual) for c in checks] == [
        ("GK2021-3.3.7@research", 9, 6),
        ("GK2021-3.2@total", 9, 6),
    ]
    assert _failed(values) == {
        code: ["sum_mismatch"]
        for code in [
            "GK2021-3.3.7@research",
            "GK2021-3.1@research",
            "GK2021-3.2@research",
            "GK2021-3.4@research",
            "GK2021-3.2@total",
            *[f"GK2021-3.2@{c}" for c in COLUMNS if c != "research"],
        ]
    }


def test_outcome_rows_must_add_up_to_the_total_row():
    values = _consistent()
    values["GK2021-3.3.3.1@other"] = 2
    values["GK2021-3.3.3.1@total"] = 7  # its row still adds up; column (七) does not
    checks = [c for c in check_rules(values, load_matrix_catalogue("GK2021").catalogue.rules) if not c.holds]
    assert [(c.rule.target, c.expected, c.actual) for c in checks] == [
        ("GK2021-3.3.7@other", 7, 6),
        ("GK2021-3.3.7@total", 37, 36),
    ]


def test_review_and_suit_totals_flag_their_five_cells_and_keep_the_printed_numbers():
    values = _consistent()
    values["GK2021-4.review@upheld"], values["GK2021-4.review@corrected"] = 10, 1
    values["GK2021-4.review@total"] = 0  # printed so in the real GK2021 sample
    assert _failed(values) == {
        f"GK2021-4.review@{k}": ["sum_mismatch"] for k in ("total", "upheld", "corrected", "other", "pending")
    }
    assert values["GK2021-4.review@total"] == 0


def test_a_target_not_printed_is_not_checked_and_a_blank_term_counts_zero():
    values = _consistent()
    values["GK2021-4.review@upheld"] = 9
    values["GK2021-4.review@total"] = None  # 总计 blank: its rule is not checked
    values["GK2021-3.3.1@business"] = None  # blank: 0 in its row (5 = 5) and in its column (5 ≠ 6)
    values["GK2021-3.3.1@total"] = 5
    checks = [c for c in check_rules(values, load_matrix_catalogue("GK2021").catalogue.rules) if not c.holds]
    assert [(c.rule.target, c.expected, c.actual) for c in checks] == [
        ("GK2021-3.3.7@business", 5, 6),
        ("GK2021-3.3.7@total", 35, 36),
    ]


def test_catalogues_load_with_rows_columns_and_rules():
    gk2021, gk2019 = load_matrix_catalogue("GK2021"), load_matrix_catalogue("GK2019")
    assert (len(gk2021.catalogue), len(gk2021.rows), len(gk2021.catalogue.rules)) == (200, 34, 43)
    assert (len(gk2019.catalogue), len(gk2019.rows), len(gk2019.catalogue.rules)) == (198, 34, 40)
    row = next(r for r in gk2021.rows if r.code == "GK2021-3.3.3.1")
    assert row.path == ("三、本年度办理结果", "（三）不予公开", "1.属于国家秘密")
    assert [c.key for c in row.columns] == [
        "natural",
        "business",
        "research",
        "public_interest",
        "legal_service",
        "other",
        "total",
    ]
    assert (row.leaf.marker_kind, row.leaf.marker, row.leaf.text) == ("sub", "1.", "属于国家秘密")
    (variant,) = gk2021.variants
    assert (variant.code, variant.path[-1], variant.replaces) == (
        "GK2021-3.3.6",
        "（六）其他处理",
        ("GK2021-3.3.6.1", "GK2021-3.3.6.2", "GK2021-3.3.6.3"),
    )
    assert gk2019.variants == ()
    assert gk2021.catalogue.indicators[9].unit == "万元"
    labels = {i.code: i.label for i in gk2021.catalogue.indicators}
    assert (
        labels["GK2021-3.3.3.1@business"] == "三、本年度办理结果/（三）不予公开/1.属于国家秘密|法人或其他组织/商业企业"
    )
    assert labels["GK2021-4.suit_direct@total"] == "行政诉讼/未经复议直接起诉|总计"
    assert len(load_catalogue("GK2008")) == 65


def test_an_identity_implies_an_unread_cell_through_a_subtracted_term():
    rules = load_matrix_catalogue("GK2021").catalogue.rules
    values = _consistent()
    del values["GK2021-3.4@natural"]  # 四 = 一 + 二 − （七） = 6 + 1 − 6
    assert implied_values(rules, values, unread={"GK2021-3.4@natural"}) == {"GK2021-3.4@natural": 1}
    values = _consistent()
    del values["GK2021-3.1@natural"]  # 一 = （七） + 四 − 二, and 一 = the sum of its column's outcomes
    assert implied_values(rules, values, unread={"GK2021-3.1@natural"}) == {"GK2021-3.1@natural": 6}
