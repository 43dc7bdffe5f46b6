"""Preprocess and layout on synthetic pages whose geometry is known exactly."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tests.pipeline.drawing import COLUMNS, ROW_H, ROWS, TOP, photographed, table_page
from worker.pipeline.layout import find_grid
from worker.pipeline.preprocess import prepare_page, suppress_red


@pytest.mark.parametrize("angle", [-4.0, -1.5, 0.0, 2.0, 4.5])
def test_skew_is_measured_and_removed(angle):
    prepared = prepare_page(table_page(angle=angle))
    assert prepared.skew == pytest.approx(angle, abs=0.15)
    grid = find_grid(prepared)
    assert grid is not None and grid.rows == ROWS


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_quarter_turned_pages_are_set_upright(turn):
    page = table_page(turn=turn)
    prepared = prepare_page(page)
    assert prepared.rotation == (360 - turn) % 360
    grid = find_grid(prepared)
    assert grid is not None and grid.rows == ROWS


# FJ2009's columns: 指标名称 under half the table, then 计量单位, <YYYY>年度 and 历年累计.
FJ2009_COLUMNS = (100, 560, 700, 920, 1140)


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_a_table_whose_label_column_is_under_half_its_width_is_set_upright(turn):
    prepared = prepare_page(table_page(turn=turn, columns=FJ2009_COLUMNS))
    assert prepared.rotation == (360 - turn) % 360


@pytest.mark.parametrize(("angle", "turn"), [(0.0, None), (3.0, None), (0.0, 90), (-2.0, 180)])
def test_cell_boxes_map_back_to_the_original_page(angle, turn):
    page = table_page(angle=angle, turn=turn)
    prepared = prepare_page(page)
    grid = find_grid(prepared)
    box = prepared.original_box(tuple(float(v) for v in grid.cell(0, "value").coordinates))
    # The value cell of row 0 is dark-ruled on the original page: its centre is inside
    # the table and its size is that of a cell, whatever turn or skew was undone.
    width, height = box[2] - box[0], box[3] - box[1]
    expected = sorted([COLUMNS[3] - COLUMNS[2], ROW_H])
    assert sorted([width, height])[0] == pytest.approx(expected[0], abs=25)
    assert sorted([width, height])[1] == pytest.approx(expected[1], abs=40)


def test_grid_rows_and_columns_of_an_upright_table():
    grid = find_grid(prepare_page(table_page()))
    assert grid is not None
    assert grid.rows == ROWS
    x0, y0, x1, y1 = (float(v) for v in grid.cell(2, "unit").coordinates)
    assert (x0, x1) == (pytest.approx(COLUMNS[1], abs=3), pytest.approx(COLUMNS[2], abs=3))
    assert (y0, y1) == (pytest.approx(TOP + 2 * ROW_H, abs=3), pytest.approx(TOP + 3 * ROW_H, abs=3))
    assert {b.type for b in grid.layout} == {"label", "unit", "value"}
    assert len(grid.layout) == 3 * ROWS


def test_phone_photo_of_a_thin_ruled_table_gives_every_row_where_it_was_photographed():
    # Thin rules lean a few degrees in perspective, and the sheet's own edges against the
    # desk look like long rules: neither may stop the table being found.
    photo, sheet_to_photo = photographed(table_page(rule_width=1))
    prepared = prepare_page(photo)
    grid = find_grid(prepared)
    assert grid is not None and grid.rows == ROWS
    box = prepared.original_box(tuple(float(v) for v in grid.cell(ROWS - 1, "value").coordinates))
    corners = np.float64([[[COLUMNS[2], TOP + (ROWS - 1) * ROW_H], [COLUMNS[3], TOP + ROWS * ROW_H]]])
    (x0, y0), (x1, y1) = cv2.perspectiveTransform(corners, sheet_to_photo)[0]
    assert box == pytest.approx([x0, y0, x1, y1], abs=12)


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_a_turned_phone_photo_is_set_upright_though_its_rules_lean(turn):
    photo, _ = photographed(table_page(turn=turn, rule_width=1))
    prepared = prepare_page(photo)
    assert prepared.rotation == (360 - turn) % 360
    grid = find_grid(prepared)
    assert grid is not None and grid.rows == ROWS


def test_a_row_rule_broken_in_the_value_column_still_separates_rows():
    page = table_page()
    y = TOP + 5 * ROW_H
    page.image[y - 2 : y + 3, COLUMNS[2] + 40 : COLUMNS[3] - 5] = 255  # faint print lost it there
    grid = find_grid(prepare_page(page))
    assert grid is not None and grid.rows == ROWS


def test_narrative_page_has_no_grid():
    page = table_page()
    page.image[:] = 255
    for y in range(200, 1500, 45):
        page.image[y : y + 18, 150:1100] = 0
    assert find_grid(prepare_page(page)) is None


def test_a_seal_on_grey_paper_becomes_that_paper_and_print_reddened_by_jpeg_stays():
    image = np.full((400, 600, 3), 232, np.uint8)  # grey paper
    cv2.circle(image, (300, 200), 120, (120, 120, 225), 10)  # a seal's ring: light red ink
    cv2.circle(image, (300, 200), 30, (120, 120, 225), -1)  # and its star, solid
    # Thin print crossing the ring, given the ring's colour by JPEG's half-resolution
    # chroma: as red as the seal in hue and light in the red channel, but dark.
    image[78:82, 250:350] = (60, 60, 190)
    gray, red = suppress_red(image)
    ring = (red > 0) & (np.abs(np.arange(400)[:, None] - 80) > 6)
    assert ring.sum() > 3000
    assert np.abs(gray[ring].astype(int) - 232).max() <= 3  # the paper's grey, no white outline
    assert gray[79:81, 280:320].max() < 110  # the print stays


def test_a_pale_seal_in_the_shade_of_a_photo_becomes_that_paper():
    image = np.full((400, 600, 3), 170, np.uint8)  # paper in a shadow: darker than a scan's
    cv2.circle(image, (300, 200), 120, (120, 120, 150), 12)  # the ring's pale, blurred rim
    cv2.circle(image, (300, 200), 120, (90, 90, 160), 4)  # and its clearly red core
    image[196:200, 150:450] = (40, 40, 60)  # print across the ring
    gray, red = suppress_red(image)
    rim = (np.abs(np.hypot(*np.mgrid[-200:200, -300:300]) - 120) <= 5) & (red == 0)
    rim[190:206] = False
    assert rim.sum() > 2000
    assert np.abs(gray[rim].astype(int) - 170).max() <= 3  # the rim is paper, not a grey ring
    assert gray[197:199, 170:190].max() < 60  # the print stays


def test_the_last_three_rows_of_a_table_continued_on_a_page_are_found():
    grid = find_grid(prepare_page(table_page(rows=3)))  # 0.8 inch of table, a fifteenth of the page
    assert grid is not None and grid.rows == 3


def test_red_seal_is_removed_and_located_over_the_value_cells():
    page = table_page(red_seal=True)
    y = TOP + 3 * ROW_H + 15  # mid-row, where the seal's ring passes x ≈ 881 and x ≈ 1119
    page.image[y - 2 : y + 2, 860:900] = 30  # black print over the ring
    page.image[y - 4 : y + 4, 1124] = (180, 170, 215)  # the ring's soft, less red rim
    gray, red = suppress_red(page.image)
    ring = red > 0
    assert ring.sum() > 1000
    assert gray[ring].min() > 180  # seal ink became paper
    assert gray[y - 1 : y + 1, 870:890].max() < 80  # the print over it did not
    assert not red[y - 4 : y + 4, 1124].any()
    assert gray[y - 4 : y + 4, 1124].min() == 255
    prepared = prepare_page(page)
    assert [s.kind for s in prepared.seals] == ["red"]
    x0, y0, x1, y1 = prepared.seals[0].box
    assert x0 == pytest.approx(880, abs=12) and x1 == pytest.approx(1120, abs=12)
    assert np.mean([y0, y1]) == pytest.approx(TOP + 3 * ROW_H, abs=12)


@pytest.mark.parametrize("ink", [60, 150, 200])
def test_a_grey_seal_is_located_whether_black_or_a_red_seal_scanned_in_grey(ink):
    page = table_page()
    gray = page.image.copy()
    cv2.circle(gray, (1000, TOP + 3 * ROW_H), 120, (ink, ink, ink), 8)  # 1.6 inches across at 150 dpi
    prepared = prepare_page(replace(page, image=gray))
    assert [s.kind for s in prepared.seals] == ["grey"]
    x0, y0, x1, y1 = prepared.seals[0].box
    assert abs((x0 + x1) / 2 - 1000) < 15 and abs((y0 + y1) / 2 - (TOP + 3 * ROW_H)) < 15


def test_a_table_without_a_seal_has_none():
    assert prepare_page(table_page()).seals == ()
