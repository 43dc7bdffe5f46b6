"""Matrix mapping on read tables built by hand: deviations real reports print."""

from fixtures.matrix import generate_matrix_document
from models.template import load_matrix_catalogue
from worker.pipeline.cells import CellRead
from worker.pipeline.extract import Extractor
from worker.pipeline.load import open_document
from worker.pipeline.matrix import MatrixCell, MatrixTable
from worker.pipeline.matrix_mapping import ReadTable, map_matrix, split_bands
from worker.pipeline.ocr import TextRead
from worker.pipeline.readers import Stopwatch

COLUMNS = ("natural", "business", "research", "public_interest", "legal_service", "other", "total")


def _read(text: str) -> CellRead:
    return CellRead(text=text, score=0.99, min_char_score=0.98, blank=not text, lines=1 if text else 0)


def _table(rows: list[list], page: int = 3) -> ReadTable:
    """One single-band cell per text, left to right; (text, n) spans n columns."""
    reads = {}
    width = 0
    for band, texts in enumerate(rows):
        column = 0
        for item in texts:
            text, span = item if isinstance(item, tuple) else (item, 1)
            box = (column * 100.0, band * 40.0, (column + span) * 100.0, band * 40.0 + 40)
            reads[MatrixCell(band, band + 1, column, column + span, box)] = _read(text)
            column += span
        width = max(width, column)
    table = MatrixTable(page, len(rows), tuple(float(c * 100) for c in range(width + 1)), tuple(reads))
    return ReadTable(table, reads)


def _values(base: int) -> list[str]:
    """Six applicant counts and their total, distinct per row so a shift shows."""
    counts = [base, 0, 1, 0, 0, 2]
    return [str(c) for c in counts] + [str(sum(counts))]


TABLE_3 = [
    ["申请人情况"],
    ["", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"],
    ["一、本年新收政府信息公开申请数量", *_values(31)],
    ["二、上年结转政府信息公开申请数量", *_values(32)],
    ["三、本年度办理结果", "（一）予以公开", *_values(33)],
    ["（二）部分公开（区分处理的，只计这一", *_values(34)],  # wrapped label, second line lost
    ["（三）不予公开", "1、属于国家秘密", *_values(35)],  # 1、 for 1.
    ["2.其他法律行政止公开", *_values(36)],  # a typo as printed in a real report
    ["3.危及“三安全一稳定”", *_values(37)],
    ["4.保护第三方合法权益", *_values(38)],
    ["5.属于三类内部事务信息", *_values(39)],
    ["6.属于四类过程性信息", *_values(40)],
    ["7.属于行政执法案卷", *_values(41)],
    # 8.属于行政查询事项 is missing: nothing below may shift
    ["（四）无法提供", "1.本机关不掌握相关政府信息", *_values(43)],
    ["2.没有现成信息需要另行制作", *_values(44)],
    ["3.补正后申请内容仍不明确", *_values(45)],
    ["（五）不予处理", "1.信访举报投诉类申请", *_values(46)],
    ["2.重复申请", *_values(47)],
    ["3.要求提供公开出版物", *_values(48)],
    ["4.无正当理由大量反复申请", *_values(49)],
    ["5.要求行政机关确认或重新出具已获取信息", *_values(50)],
    ["（六）其他处理", *_values(51)],  # one row, as in the 2019 form
    ["（七）总计", *_values(52)],
    ["四、结转下年度继续办理", *_values(53)],
]
TABLE_4 = [
    [("行政复议", 5), ("未经复议直接起诉", 5), ("复议后起诉", 5)],
    [str(v) for v in (10, 1, 0, 0, 11, 2, 0, 0, 0, 2, 5, 0, 1, 0, 6)],
]


def _value(mapping, code: str) -> str | None:
    match = mapping.matches.get(code)
    return None if match is None else match.read.text


def test_table_3_rows_land_on_their_codes_despite_deviations():
    mapping = map_matrix([_table(TABLE_3)], load_matrix_catalogue("GK2021"))
    expected_rows = {
        "3.1": 31,
        "3.2": 32,
        "3.3.1": 33,
        "3.3.2": 34,
        "3.3.3.1": 35,
        "3.3.3.2": 36,
        "3.3.3.7": 41,
        "3.3.4.1": 43,
        "3.3.5.5": 50,
        "3.3.6": 51,
        "3.3.7": 52,
        "3.4": 53,
    }
    for row, base in expected_rows.items():
        got = [_value(mapping, f"GK2021-{row}@{c}") for c in COLUMNS]
        assert got == _values(base), row
    assert all(f"GK2021-3.3.3.8@{c}" not in mapping.matches for c in COLUMNS)
    assert [v.code for v in mapping.variants] == ["GK2021-3.3.6"]
    assert all(f"GK2021-3.3.6.{i}@{c}" not in mapping.matches for i in (1, 2, 3) for c in COLUMNS)
    assert mapping.pages == (3,)


def test_table_4_values_split_into_three_groups_under_their_headers():
    mapping = map_matrix([_table(TABLE_4, page=4)], load_matrix_catalogue("GK2021"))
    assert [_value(mapping, f"GK2021-4.review@{k}") for k in ("upheld", "corrected", "other", "pending", "total")] == [
        "10",
        "1",
        "0",
        "0",
        "11",
    ]
    assert _value(mapping, "GK2021-4.suit_after_review@total") == "6"
    # the header cell spanning each group of five names it: that is its label match
    assert mapping.matches["GK2021-4.suit_direct@upheld"].similarity == 1.0
    assert mapping.matches["GK2021-4.review@total"].similarity == 1.0


LEAVES = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]


def test_table_4_values_under_their_column_headers_are_sure_and_an_empty_ruled_column_is_no_column():
    headed = [
        ["", ("行政复议", 5), ("未经复议直接起诉", 5), ("复议后起诉", 5)],
        ["", *LEAVES * 3],
        ["", *TABLE_4[1]],  # an empty column printed before the values
    ]
    mapping = map_matrix([_table(headed, page=4)], load_matrix_catalogue("GK2021"))
    assert _value(mapping, "GK2021-4.review@upheld") == "10"
    assert _value(mapping, "GK2021-4.suit_after_review@total") == "6"
    assert {m.similarity for m in mapping.matches.values()} == {1.0}


def test_table_4_values_shifted_from_their_column_headers_are_unsure():
    """A rule lost between two values (one cell under 结果维持 and 结果纠正, one number read)
    and a column before the values: 15 cells again, each one column off its header."""
    shifted = [
        ["", ("行政复议", 5), ("未经复议直接起诉", 5), ("复议后起诉", 5)],
        ["", *LEAVES * 3],
        ["7", ("10", 2), "0", "0", "11", "2", "0", "0", "0", "2", "5", "0", "1", "0", "6"],
    ]
    mapping = map_matrix([_table(shifted, page=4)], load_matrix_catalogue("GK2021"))
    unsure = {code for code, m in mapping.matches.items() if m.similarity < 0.62}
    # the value under the empty header, the one under two headers, and every one of the
    # group the shift ran through
    assert {"GK2021-4.review@upheld", "GK2021-4.review@corrected"} <= unsure
    for code in ("GK2021-4.review@other", "GK2021-4.review@pending", "GK2021-4.review@total"):
        assert code in unsure, code


def test_table_4_printed_as_two_tables_is_read_in_print_order():
    review = _table([[("行政复议", 5)], ["10", "1", "0", "0", "11"]], page=4)
    suits = _table(
        [[("未经复议直接起诉", 5), ("复议后起诉", 5)], ["2", "0", "0", "0", "2", "5", "0", "1", "0", "6"]], page=4
    )
    mapping = map_matrix([review, suits], load_matrix_catalogue("GK2021"))
    assert _value(mapping, "GK2021-4.review@total") == "11"
    assert _value(mapping, "GK2021-4.suit_direct@upheld") == "2"
    assert _value(mapping, "GK2021-4.suit_after_review@other") == "1"
    assert {
        mapping.matches[f"GK2021-4.{r}@total"].similarity for r in ("review", "suit_direct", "suit_after_review")
    } == {1.0}


def test_table_4_without_its_headers_is_read_but_not_label_matched():
    mapping = map_matrix([_table(TABLE_4[1:], page=4)], load_matrix_catalogue("GK2021"))
    assert _value(mapping, "GK2021-4.suit_direct@total") == "2"
    assert mapping.matches["GK2021-4.suit_direct@total"].similarity == 0.0


def test_table_2_columns_follow_the_header_when_a_column_is_missing():
    rows = [
        ["第二十条第（一）项"],
        ["信息内容", "本年制发件数", "现行有效件数"],  # 本年废止件数 not printed
        ["规章", "3", "7"],
        ["行政规范性文件", "2", "9"],
        ["信息内容", "本年处理决定数量"],
        ["行政许可", "550"],
    ]
    mapping = map_matrix([_table(rows, page=2)], load_matrix_catalogue("GK2021"))
    assert _value(mapping, "GK2021-2.1.1@issued") == "3"
    assert _value(mapping, "GK2021-2.1.1@in_force") == "7"
    assert "GK2021-2.1.1@repealed" not in mapping.matches
    assert _value(mapping, "GK2021-2.1.2@in_force") == "9"
    assert _value(mapping, "GK2021-2.5.1@decisions") == "550"


class _EveryCellSays:
    """An OCR engine stub that reads the same text in every cell."""

    name = "stub"

    def __init__(self, text: str) -> None:
        self.text = text

    def recognize(self, crops, alphabet=None):
        return [TextRead(self.text, 0.99, (0.99,) * len(self.text)) for _ in crops]

    def detect(self, image):
        return []

    def read_region(self, image):
        return []


def test_headers_of_the_form_without_its_rows_give_no_template(tmp_path):
    generate_matrix_document(1, 0, tmp_path)
    extractor = Extractor(engine=_EveryCellSays("自然人"))
    with open_document(tmp_path / "synth_gk2021_001.pdf", extractor.settings.limits) as document:
        guess, _ = extractor._detect_template(extractor._find_table_pages(document, Stopwatch()))
    assert guess is not None and guess.id == "GK2021"  # the matrix path runs, and maps nothing
    result = extractor.extract_file(tmp_path / "synth_gk2021_001.pdf")
    assert (result.template, result.fields, result.status) == (None, [], "needs_review")


def test_a_row_split_in_two_bands_by_a_stray_rule_is_one_row():
    read = _table(TABLE_3)
    table = read.table
    split = 5  # （二）部分公开: its cells span bands 5 and 6, every band below moves down one
    cells, reads = [], {}
    for cell in table.cells:
        top = cell.top + (cell.top > split)
        bottom = cell.bottom + (cell.bottom > split)
        moved = MatrixCell(top, bottom, cell.left, cell.right, cell.box)
        cells.append(moved)
        reads[moved] = read.reads[cell]
    stretched = ReadTable(MatrixTable(table.page, table.bands + 1, table.columns, tuple(cells)), reads)
    mapping = map_matrix([stretched], load_matrix_catalogue("GK2021"))
    for row, base in {"3.3.1": 33, "3.3.2": 34, "3.3.3.1": 35, "3.4": 53}.items():
        assert [_value(mapping, f"GK2021-{row}@{c}") for c in COLUMNS] == _values(base), row


def test_a_row_whose_only_number_reads_with_a_speck_after_it_is_a_row():
    rows = [list(row) for row in TABLE_3]
    rows[3] = ["二、上年结转政府信息公开申请数量", "22.", *[""] * 6]  # one count and a speck; blank cells
    mapping = map_matrix([_table(rows)], load_matrix_catalogue("GK2021"))
    assert _value(mapping, "GK2021-3.2@natural") == "22."
    assert _value(mapping, "GK2021-3.3.1@natural") == "33"


def test_a_value_of_table_4_read_as_a_mark_is_still_one_of_its_fifteen():
    values = [str(v) for v in (10, 1, 0, 0, 11, 2, 0, 0, 0, 2, 5, 0, 1, 0, 6)]
    values[7] = "。"  # a 0 in a small font
    mapping = map_matrix([_table([TABLE_4[0], values])], load_matrix_catalogue("GK2021"))
    assert _value(mapping, "GK2021-4.suit_direct@other") == "。"
    assert _value(mapping, "GK2021-4.suit_after_review@total") == "6"
    assert _value(mapping, "GK2021-4.review@upheld") == "10"


def test_values_of_table_4_read_without_words_are_no_label_of_its_row():
    values = [str(v) for v in (10, 1, 0, 0, 11, 2, 0, 0, 0, 2, 5, 0, 1, 0, 6)]
    values[0] = "0,"  # a poor copy's speck beside its first value
    values[3] = "af"  # a 0 under a fax's black seal
    mapping = map_matrix([_table([TABLE_4[0], values])], load_matrix_catalogue("GK2021"))
    assert _value(mapping, "GK2021-4.review@upheld") == "0,"
    assert _value(mapping, "GK2021-4.suit_after_review@total") == "6"


def _sealed(read: ReadTable, texts: dict[tuple[int, int], str]) -> ReadTable:
    """The table with a seal over the cells at (band, column), each read as `texts` gives."""
    cells = {(c.top, c.left): c for c in read.table.cells}
    reads = dict(read.reads) | {cells[at]: _read(text) for at, text in texts.items()}
    return ReadTable(read.table, reads, frozenset(cells[at] for at in texts))


def test_a_seals_lettering_over_value_cells_keeps_them_the_rows_values():
    # （一）予以公开 (band 4): its 其他 and 总计 cells read as the seal's characters.
    lettering = {(4, 7): "鼓", (4, 8): "十城"}
    mapping = map_matrix([_sealed(_table(TABLE_3), lettering)], load_matrix_catalogue("GK2021"))
    got = [_value(mapping, f"GK2021-3.3.1@{c}") for c in COLUMNS]
    assert got == [*_values(33)[:5], "鼓", "十城"]
    assert _value(mapping, "GK2021-3.3.2@total") == _values(34)[-1]


def test_lettering_is_a_value_only_under_a_seal_and_below_the_first_data_row():
    lettering = {(4, 7): "鼓", (4, 8): "十城"}
    unsealed = _table(TABLE_3)
    unsealed = ReadTable(unsealed.table, _sealed(unsealed, lettering).reads)
    mapping = map_matrix([unsealed], load_matrix_catalogue("GK2021"))
    assert _value(mapping, "GK2021-3.3.1@total") != "十城"
    # A header row under a seal stays a header: the rows below are named from it.
    labelled, bare = split_bands(_sealed(_table(TABLE_3), {(1, 6): "其", (1, 7): "鼓"}))
    assert labelled[0].labels == ("一、本年新收政府信息公开申请数量",) and not bare
    assert [text for _, text in labelled[0].header][-2:] == ["其", "鼓"]


FJ2009_ROWS = [
    ["指标名称", "计量单位", "2009年度", "历年累计"],
    ["主动公开信息数", "条", "61", "119"],
    ["其中：1.网站公开", "条", "61", "115"],
    ["2.政府公报公开", "条", "0", "4"],
    ["受理依申请公开信息总数", "条", "5", "14"],
    ["其中：1.当面申请数", "条", "3", "5"],
    ["2.传真申请数", "条", "1", "2"],
    ["3.电子邮件申请数", "条", "1", "2"],
    ["4.网上申请数", "条", "0", "5"],
    ["5.信函申请数", "条", "0", "0"],
    ["6.其它形式申请数", "条", "0", "0"],
    ["对申请的答复数", "条", "5", "11"],
    ["其中：1.同意公开答复数", "条", "4", "8"],
    ["2.同意部分公开答复数", "条", "1", "2"],
    ["3.否决公开答复数", "条", "0", "1"],
    ["行政复议数", "件", "0", "3"],
    ["行政诉讼数", "件", "0", "1"],
    ["行政申诉数", "件", "2", "3"],
]


def test_a_row_whose_values_read_as_no_number_is_not_taken_for_the_version_without_it():
    """FJ2009's 16-row version does not print 6.其它形式申请数. A 17-row table whose row 6
    reads as words where its numbers are (taken for a header and set aside) still prints it:
    the row is not found (a person looks), never "not printed" (accepted as null)."""
    catalogue = load_matrix_catalogue("FJ2009")
    sixteen = [row for row in FJ2009_ROWS if not row[0].startswith("6.")]
    assert map_matrix([_table(sixteen)], catalogue, (), ("FJ2009-2.6",)).absent == {"FJ2009-2.6": "FJ2009-3"}
    garbled = [row if not row[0].startswith("6.") else [row[0], "条", "米", "鼓"] for row in FJ2009_ROWS]
    mapping = map_matrix([_table(garbled)], catalogue, (), ("FJ2009-2.6",))
    assert mapping.absent == {}
    assert "FJ2009-2.6@year" not in mapping.matches and _value(mapping, "FJ2009-3@year") == "5"
