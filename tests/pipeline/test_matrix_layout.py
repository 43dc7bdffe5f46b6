"""Matrix layout on a drawn page: merged header cells, a vertical merged label, two tables."""

from itertools import pairwise

import cv2
import numpy as np

from worker.pipeline.cells import print_darkness
from worker.pipeline.load import PageImage
from worker.pipeline.matrix import MatrixCell, MatrixTable, find_tables, read_cells, table_crops
from worker.pipeline.ocr import TextRead
from worker.pipeline.preprocess import PreparedPage, prepare_page

DPI = 150
X = (100, 300, 420, 540, 660, 780)  # label | label | three value columns
Y = (200, 250, 300, 350, 400, 450)  # header (two levels) and three rows


def _line(image: np.ndarray, start: tuple[int, int], end: tuple[int, int]) -> None:
    cv2.line(image, start, end, (0, 0, 0), 2)


def _matrix_page(bottom_rule: bool = True) -> PageImage:
    """Header: [label r2][申请人 c3] / [a][b][c]; rows: [三、 r3][row 1..3][v][v][v]; a second table below."""
    image = np.full((1754, 1241, 3), 255, np.uint8)
    _line(image, (X[0], Y[0]), (X[-1], Y[0]))
    _line(image, (X[2], Y[1]), (X[-1], Y[1]))  # under the spanning header only
    _line(image, (X[0], Y[2]), (X[-1], Y[2]))
    for y in Y[3:-1]:
        _line(image, (X[1], y), (X[-1], y))  # the vertical label in X[0]..X[1] is merged
    if bottom_rule:
        _line(image, (X[0], Y[-1]), (X[-1], Y[-1]))
    _line(image, (X[0], Y[0]), (X[0], Y[-1]))
    _line(image, (X[1], Y[2]), (X[1], Y[-1]))
    _line(image, (X[2], Y[0]), (X[2], Y[-1]))
    for x in X[3:-1]:
        _line(image, (x, Y[1]), (x, Y[-1]))
    _line(image, (X[-1], Y[0]), (X[-1], Y[-1]))
    for top in (900, 980):  # a second, plain two-column table with two rows
        _line(image, (X[0], top), (X[3], top))
    _line(image, (X[0], 1060), (X[3], 1060))
    for x in (X[0], X[2], X[3]):
        _line(image, (x, 900), (x, 1060))
    return PageImage(number=3, image=image, dpi=DPI, is_color=False)


def _spans(table) -> set[tuple[int, int, int, int]]:
    return {(c.top, c.bottom, c.left, c.right) for c in table.cells}


def test_merged_header_and_row_labels_become_cells_with_spans():
    tables = find_tables(prepare_page(_matrix_page()))
    assert [t.bands for t in tables] == [5, 2]
    first = tables[0]
    assert len(first.columns) == 6
    assert _spans(first) == {
        (0, 2, 0, 2),  # the header's label cell spans both header rows and both label columns
        (0, 1, 2, 5),  # 申请人 spans the three value columns
        (1, 2, 2, 3),
        (1, 2, 3, 4),
        (1, 2, 4, 5),
        (2, 5, 0, 1),  # the vertical label spans the three rows
        *{(b, b + 1, c, c + 1) for b in (2, 3, 4) for c in (1, 2, 3, 4)},
    }
    assert [c.left for c in first.band_cells(3)] == [0, 1, 2, 3, 4]
    assert _spans(tables[1]) == {(0, 1, 0, 1), (0, 1, 1, 2), (1, 2, 0, 1), (1, 2, 1, 2)}


def test_a_table_cut_by_the_page_end_keeps_its_last_row():
    tables = find_tables(prepare_page(_matrix_page(bottom_rule=False)))
    assert tables[0].bands == 5
    last_row = tables[0].band_cells(4)
    assert [(c.left, c.right) for c in last_row] == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert abs(last_row[-1].box[3] - Y[-1]) <= 3  # where the verticals end


def test_a_dark_page_edge_beside_a_table_is_no_column_rule():
    page = _matrix_page()
    cv2.line(page.image, (1200, 60), (1200, 1700), (40, 40, 40), 4)  # the scanner's shadow down the page's edge
    tables = find_tables(prepare_page(page))
    assert [(t.bands, len(t.columns)) for t in tables] == [(5, 6), (2, 3)]


def test_a_page_without_rules_has_no_table():
    blank = PageImage(number=1, image=np.full((1754, 1241, 3), 255, np.uint8), dpi=DPI, is_color=False)
    assert find_tables(prepare_page(blank)) == []


def _short_rule_page(bar: str) -> PageImage:
    """A label column and six value columns; the header cell over columns 1-2 is one, and the
    value band under it (a third of an inch) rules them apart (`bar` == "rule"; "faint": in
    grey, a pixel wide and broken every few pixels, as a poor copy prints it) or holds, in
    that wide cell, a stroke from rule to rule that is print: the "1" of a "10" (`bar` ==
    "digit") or a stroke with print on one side only (`bar` == "lone")."""
    image = np.full((1754, 1241, 3), 255, np.uint8)
    xs, top, middle, bottom = (100, 200, 260, 320, 380, 440, 500, 560), 200, 300, 350
    for y in (top, middle, bottom):
        _line(image, (xs[0], y), (xs[-1], y))
    for x in (*xs[:2], *xs[3:]):
        _line(image, (x, top), (x, bottom))
    if bar == "rule":
        _line(image, (xs[2], middle), (xs[2], bottom))
    if bar == "faint":
        for y in range(middle, bottom, 7):
            cv2.line(image, (xs[2], y), (xs[2], min(y + 3, bottom)), (200, 200, 200), 1)
    for x0, x1 in pairwise(xs[1:]):
        if x0 != xs[2] or bar in ("rule", "faint"):
            cv2.putText(image, "0", ((x0 + x1) // 2 - 6, 334), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
    if bar in ("digit", "lone"):
        cv2.line(image, (xs[2], middle + 2), (xs[2], bottom - 2), (0, 0, 0), 2)  # as thin as the rules
    if bar == "digit":
        cv2.putText(image, "0", (xs[2] + 4, 334), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
    return PageImage(number=3, image=image, dpi=DPI, is_color=False)


def test_a_column_rule_drawn_in_one_band_only_splits_its_wide_cell():
    for bar in ("rule", "faint"):
        [table] = find_tables(prepare_page(_short_rule_page(bar)))
        assert len(table.columns) == 8, bar
        assert [(c.left, c.right) for c in table.band_cells(0)] == [(0, 1), (1, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
        assert [(c.left, c.right) for c in table.band_cells(1)] == [(i, i + 1) for i in range(7)], bar


def test_a_stroke_of_print_as_tall_as_its_row_is_no_column_rule():
    for bar in ("digit", "lone"):
        [table] = find_tables(prepare_page(_short_rule_page(bar)))
        assert len(table.columns) == 7, bar
        assert [(c.left, c.right) for c in table.band_cells(1)] == [(0, 1), (1, 2), *((i, i + 1) for i in range(2, 6))]


def _unruled_value_band_page(centred: bool) -> PageImage:
    """A label column and six value columns ruled apart in the header; the value band under
    it leaves out the rule between columns 1 and 2: a number in each, or one number centred
    across where the rule would be (`centred`: a cell printed as one)."""
    image = np.full((1754, 1241, 3), 255, np.uint8)
    xs, top, middle, bottom = (100, 200, 260, 320, 380, 440, 500, 560), 200, 300, 350
    for y in (top, middle, bottom):
        _line(image, (xs[0], y), (xs[-1], y))
    for x in xs:
        _line(image, (x, top), (x, middle if x == xs[2] else bottom))
    for x0, x1 in pairwise(xs[1:]):
        if not centred or xs[2] not in (x0, x1):
            cv2.putText(image, "0", ((x0 + x1) // 2 - 6, 334), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
    if centred:
        cv2.putText(image, "17", (xs[2] - 13, 334), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
    return PageImage(number=3, image=image, dpi=DPI, is_color=False)


def test_a_value_band_without_a_header_columns_rule_is_split_where_its_print_parts():
    [table] = find_tables(prepare_page(_unruled_value_band_page(centred=False)))
    assert [(c.left, c.right) for c in table.band_cells(1)] == [(i, i + 1) for i in range(7)]
    [table] = find_tables(prepare_page(_unruled_value_band_page(centred=True)))
    assert [(c.left, c.right) for c in table.band_cells(1)] == [(0, 1), (1, 3), *((i, i + 1) for i in range(3, 7))]


def _sealed_grid_page() -> PageImage:
    """Ten rows of label | unit | two values, a grey seal (1.6 inches across, a bar at its
    centre as a star's or a letter's stroke) over the value columns, as a grey scan prints
    it: its ring's top, bottom and sides run as flat as a rule for a while."""
    image = np.full((1754, 1241, 3), 255, np.uint8)
    xs, ys = (100, 500, 650, 850, 1050), [300 + 60 * i for i in range(11)]
    for y in ys:
        _line(image, (xs[0], y), (xs[-1], y))
    for x in xs:
        _line(image, (x, ys[0]), (x, ys[-1]))
    cv2.circle(image, (930, 590), 120, (110, 110, 110), 6)
    cv2.line(image, (935, 540), (935, 630), (110, 110, 110), 6)
    return PageImage(number=1, image=image, dpi=DPI, is_color=False)


def test_a_grey_seals_ring_over_the_value_columns_is_no_rule():
    prepared = prepare_page(_sealed_grid_page())
    assert [s.kind for s in prepared.seals] == ["grey"]
    [table] = find_tables(prepared)
    assert (table.bands, len(table.columns)) == (10, 5)
    assert all(len(table.band_cells(band)) == 4 for band in range(10))


def _worn_rules_page() -> PageImage:
    """A label column and three value columns, four rows; the ruling worn in the last row: its
    two right-hand column rules stop a third of the way down it, the left one's ink has a gap."""
    image = np.full((1754, 1241, 3), 255, np.uint8)
    for y in Y[1:]:
        _line(image, (X[1], y), (X[-1], y))
    for x in X[1:]:
        bottom = Y[-2] + (Y[-1] - Y[-2]) // 3 if x in X[-2:] else Y[-1]
        _line(image, (x, Y[1]), (x, bottom))
    cv2.line(image, (X[3], Y[-2] + 30), (X[3], Y[-2] + 40), (255, 255, 255), 4)  # a gap in the middle one
    for row, y in enumerate(Y[1:-1]):
        cv2.putText(image, str(7 * row + 3), (X[-1] - 50, y + 35), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
    return PageImage(number=1, image=image, dpi=DPI, is_color=False)


def test_a_column_rule_worn_away_in_a_band_still_parts_its_cells():
    (table,) = find_tables(prepare_page(_worn_rules_page()))
    assert table.bands == 4 and len(table.columns) == 5
    assert [len(table.band_cells(band)) for band in range(4)] == [4, 4, 4, 4]
    assert [c.box[2] for c in table.band_cells(3)] == [c.box[2] for c in table.band_cells(2)]


class _Recorder:
    """An OCR engine that reads every crop it is given as "2"."""

    def recognize(self, crops, alphabet=None):
        return [TextRead("2", 0.99, (0.99,)) for _ in crops]


def test_faint_thin_digits_are_ink_given_the_print_darkness_of_the_page_s_tables():
    """A grey copy at 150 dpi: thin digits 60 grey levels below the paper at their darkest,
    most of their strokes under 40. Measured against the tables' own print, as the list
    reader measures its cells, they are ink; against 40 levels, some cells read blank."""
    gray = np.full((60, 500), 246, np.uint8)
    cv2.putText(gray, "88", (20, 42), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 150, 2, cv2.LINE_AA)  # a header's print
    for column in range(1, 5):
        cv2.putText(gray, "2", (100 * column + 40, 42), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 185, 1, cv2.LINE_AA)
    noise = np.random.default_rng(1).normal(0, 3, gray.shape)
    gray = np.clip(cv2.GaussianBlur(gray, (0, 0), 1.2) + noise, 0, 255).astype(np.uint8)
    page = PreparedPage(1, gray, np.zeros_like(gray), np.eye(3), 150.0, (), 0, 0.0)
    cells = [MatrixCell(0, 1, i, i + 1, (100.0 * i, 0.0, 100.0 * i + 100, 60.0)) for i in range(5)]
    table = MatrixTable(1, 1, tuple(float(100 * i) for i in range(6)), tuple(cells))
    crops = table_crops(page, [table])
    darkness = print_darkness(list(crops.values()))
    assert darkness is not None and 246 - darkness < 100  # faint print
    assert [r.text for r in read_cells(page, cells, _Recorder(), darkness=darkness).values()] == ["2"] * 5
    assert [r.text for r in read_cells(page, cells, _Recorder(), darkness=darkness, crops=crops).values()] == ["2"] * 5
    assert "" in [r.text for r in read_cells(page, cells, _Recorder()).values()]
