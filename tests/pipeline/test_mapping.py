import numpy as np

from models.template import load_catalogue
from worker.pipeline.cells import CellRead
from worker.pipeline.mapping import align, label_similarity, map_rows
from worker.pipeline.rows import TableRow

CATALOGUE = load_catalogue("GK2008")


def cell(text: str) -> CellRead:
    return CellRead(text=text, score=0.99, min_char_score=0.98, blank=not text, lines=1)


def table_rows(labels: list[tuple[str, str, str]]) -> list[TableRow]:
    return [
        TableRow(
            page=1,
            index=i,
            label=cell(label),
            unit=cell(unit),
            value=cell(value),
            value_box=(0, i, 1, i + 1),
            seal_over_value=False,
        )
        for i, (label, unit, value) in enumerate(labels)
    ]


def catalogue_rows() -> list[tuple[str, str, str]]:
    return [(ind.label, ind.unit, str(i)) for i, ind in enumerate(CATALOGUE.indicators)]


def values_by_code(rows):
    return {m.indicator.code: (m.row.value.text if m.row else None) for m in map_rows(rows, CATALOGUE)}


def test_clean_table_maps_row_for_row_and_skips_the_header():
    rows = table_rows([("统计指标", "单位", "统计数"), *catalogue_rows()])
    mapped = values_by_code(rows)
    assert mapped == {ind.code: str(i) for i, ind in enumerate(CATALOGUE.indicators)}


def test_missing_row_leaves_its_code_unmatched_without_shifting_the_rest():
    labels = catalogue_rows()
    missing = CATALOGUE.codes.index("GK2008-3.1.2")
    del labels[missing]
    mapped = values_by_code(table_rows(labels))
    assert mapped["GK2008-3.1.2"] is None
    assert mapped["GK2008-3.1.1"] == str(missing - 1)
    assert mapped["GK2008-3.1.3"] == str(missing + 1)
    assert mapped["GK2008-9.3"] == str(len(CATALOGUE) - 1)


def test_garbled_and_repeated_labels_land_on_the_right_codes_by_order():
    labels = catalogue_rows()
    index = CATALOGUE.codes.index("GK2008-5.2")  # （二）被依法纠错数 also exists under 四
    labels[index] = ("（二）被依汰纠镨", "件", "X")
    split = CATALOGUE.codes.index("GK2008-8")
    # A repeated header where the table continues on the next page.
    labels.insert(split, ("统计指标", "单位", "统计数"))
    mapped = values_by_code(table_rows(labels))
    assert mapped["GK2008-5.2"] == "X"
    assert mapped["GK2008-4.2"] == str(CATALOGUE.codes.index("GK2008-4.2"))
    assert mapped["GK2008-8"] == str(split)


def test_a_label_spelling_reviewers_accepted_is_taken_as_certain():
    labels = catalogue_rows()
    index = CATALOGUE.codes.index("GK2008-7")
    labels[index] = ("七、收费金额", "万元", "3.5")  # this agency's own wording
    del labels[index + 1]  # 八 not printed: 七 is not placed by sure neighbours (see below)
    rows = table_rows(labels)
    unsure = {m.indicator.code: m for m in map_rows(rows, CATALOGUE)}["GK2008-7"]
    assert unsure.row is not None and unsure.similarity < 0.62
    learnt = {m.indicator.code: m for m in map_rows(rows, CATALOGUE, aliases={"七、收费金额": "GK2008-7"})}
    assert learnt["GK2008-7"].row.value.text == "3.5"
    assert learnt["GK2008-7"].similarity == 1.0


def test_a_read_is_a_catalogue_label_when_close_to_one_or_accepted_by_reviewers():
    from worker.pipeline.mapping import is_catalogue_label

    assert is_catalogue_label("（一）收到申请数", CATALOGUE)
    assert is_catalogue_label("（二）申请办结教", CATALOGUE)  # one character misread of 9 still maps
    assert not is_catalogue_label("（二）中情办结", CATALOGUE)  # squeezed into nonsense: read again
    assert not is_catalogue_label("统计指标", CATALOGUE)
    assert is_catalogue_label("申请办理完结数", CATALOGUE, {"申请办理完结数": "GK2008-3.2"})


def test_alignment_skips_an_extra_item_and_a_missing_slot_without_shifting_the_rest():
    # items: slot 0, a stray line, slot 2 (slot 1 missing), slot 3
    gains = np.full((4, 4), -0.5)
    gains[0, 0] = gains[2, 2] = gains[3, 3] = 0.5
    gains[1, 1] = -0.8  # the stray line is unlike slot 1: both are skipped, nothing shifts
    assert align(gains, -0.35, np.full(4, -0.3)) == {0: 0, 2: 2, 3: 3}


def test_a_label_read_in_traditional_characters_matches_its_simplified_label():
    meeting = next(i for i in load_catalogue("GK2008").indicators if i.code == "GK2008-9.1")
    assert label_similarity("（一）召開政府信息公開工作會議或專題會議數", meeting) == 1.0
    assert label_similarity("（一）召开政府信息公开工作会议或专题会议数", meeting) == 1.0


def test_a_row_between_two_sure_rows_in_a_gap_of_one_code_is_placed_whatever_its_label():
    labels = catalogue_rows()
    one = CATALOGUE.codes.index("GK2008-1.1")
    labels[one] = ("（主动道政府信息相问信息计1条）", "条", "461")  # a two-line label read as a jumble
    meeting = CATALOGUE.codes.index("GK2008-9.1")
    labels[meeting] = ("", "次", "2")  # a label cell read empty
    matches = {m.indicator.code: m for m in map_rows(table_rows(labels), CATALOGUE)}
    assert (matches["GK2008-1.1"].row.value.text, matches["GK2008-1.1"].similarity) == ("461", 0.9)
    assert (matches["GK2008-9.1"].row.value.text, matches["GK2008-9.1"].similarity) == ("2", 0.9)


def test_a_row_is_not_placed_beside_another_unsure_row_or_with_another_unit():
    labels = catalogue_rows()
    first = CATALOGUE.codes.index("GK2008-3.1.1")
    labels[first] = ("1.当", "件", "5")
    labels[first + 1] = ("2.传", "件", "6")  # two unsure rows side by side: neither placed
    unit = CATALOGUE.codes.index("GK2008-9.2")
    labels[unit] = ("（二）举办", "人", "7")  # the unit reads as another unit
    matches = {m.indicator.code: m for m in map_rows(table_rows(labels), CATALOGUE)}
    for code in ("GK2008-3.1.1", "GK2008-3.1.2", "GK2008-9.2"):
        assert matches[code].similarity < 0.9, code
    assert [matches[c].row.value.text for c in ("GK2008-3.1.1", "GK2008-3.1.2", "GK2008-9.2")] == ["5", "6", "7"]
