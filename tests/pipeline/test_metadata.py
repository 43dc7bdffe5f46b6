from dataclasses import replace

import numpy as np
import pytest

from worker.pipeline.metadata import (
    Metadata,
    parse_heading,
    parse_title,
    read_title,
    read_year_under_title,
    sealed_over,
    title_band,
    with_body_year,
    with_column_year,
    with_title,
)
from worker.pipeline.ocr import DetectedLine, TextRead
from worker.pipeline.preprocess import PreparedPage, Seal


def line(text: str, x0: float, y0: float, width: float = 300, height: float = 30) -> DetectedLine:
    return DetectedLine(box=(x0, y0, x0 + width, y0 + height), read=TextRead(text, 0.99, (0.99,)))


def test_unit_and_year_from_the_heading_lines():
    metadata = parse_heading(
        [
            line("政府信息公开情况统计表", 400, 40),
            line("（2014年度）", 520, 90),
            line("填报单位（盖章", 80, 140, 180),
            line("）：余姚市档案局", 262, 141, 200),  # detected as two pieces of one line
        ]
    )
    assert (metadata.unit_name, metadata.year, metadata.title_found) == ("余姚市档案局", 2014, True)


def test_the_years_score_is_its_own_characters_not_the_brackets_around_them():
    scores = (0.99, 0.98, 0.99, 0.99, 0.97, 0.99, 0.98, 0.52)  # （2008年度) with a faint closing bracket
    year_line = DetectedLine((520, 90, 700, 120), TextRead("（2008年度)", sum(scores) / 8, scores))
    metadata = parse_heading([line("政府信息公开情况统计表", 400, 40), year_line])
    assert metadata.year == 2008
    assert metadata.year_score == pytest.approx(sum(scores[1:7]) / 6)
    digit = (0.99, 0.99, 0.5, 0.99, 0.99, 0.99, 0.99, 0.99)  # its first 0 weak
    weak = DetectedLine((520, 90, 700, 120), TextRead("（2008年度）", 0.92, digit))
    assert parse_heading([weak]).year_score == pytest.approx((0.99 * 5 + 0.5) / 6)  # a weak digit counts


def test_unit_line_with_a_date_and_ascii_brackets():
    metadata = parse_heading([line("填报单位(盖章):宁海县安全生产监督管理局 填报日期：2017年1月5日", 80, 140, 900)])
    assert metadata.unit_name == "宁海县安全生产监督管理局"
    assert metadata.year is None


def test_missing_heading_gives_nulls():
    assert parse_heading([]).unit_name is None
    assert parse_heading([line("（2016年度）", 500, 60)]).year == 2016


def test_a_year_line_read_into_the_unit_line_of_a_photo_is_left_out():
    # In perspective the year line and the unit line overlap in height and join as one row;
    # the name itself was detected as a piece of the next row.
    metadata = parse_heading(
        [
            line("政府信息公开情况统计表", 907, 388, 646, 110),
            line("(2013年度)", 1131, 489, 198, 70),
            line("填报单位 (盖章)", 424, 519, 300, 70),
            line("象山县规划局", 777, 539, 249, 56),
        ]
    )
    assert (metadata.unit_name, metadata.year) == ("象山县规划局", 2013)


def test_marks_read_at_the_ends_of_the_unit_name_are_left_out():
    reads = (
        "填报单位（盖章）：;慈溪市机关事务管理局",
        "填报单位（盖章）：、慈溪市机关事务管理局。",
        "填报单位:“慈溪市机关事务管理局”",
    )
    for read in reads:
        assert parse_heading([line(read, 80, 140)]).unit_name == "慈溪市机关事务管理局"


def test_a_unit_line_missing_a_bracket_of_its_label_or_with_the_variant_of_its_first_character():
    for read in ("填报单位盖章）：象山县规划局", "填报单位（盖章：象山县规划局", "塡报单位（盖章）：象山县规划局"):
        assert parse_heading([line(read, 80, 140)]).unit_name == "象山县规划局"
    # 盖 read as another character, a colon after it: the label; without a colon, a name.
    assert parse_heading([line("填报单位（美章):宁海县体育局", 80, 140)]).unit_name == "宁海县体育局"
    assert parse_heading([line("填报单位：章丘市统计局", 80, 140)]).unit_name == "章丘市统计局"
    assert parse_heading([line("填报单位文章出版局", 80, 140)]).unit_name == "文章出版局"


def test_a_county_read_with_ju_is_a_county_but_furniture_stays_furniture():
    assert parse_heading([line("填报单位：象山具规划局", 80, 140)]).unit_name == "象山县规划局"
    assert parse_heading([line("填报单位：宁海具经济和信息化局", 80, 140)]).unit_name == "宁海县经济和信息化局"
    assert parse_heading([line("填报单位：宁波家具行业协会", 80, 140)]).unit_name == "宁波家具行业协会"


def scored(text: str, box: tuple[float, float, float, float], score: float) -> DetectedLine:
    return DetectedLine(box=box, read=TextRead(text, score, (score,)))


def test_seal_remnants_beside_or_around_the_unit_line_are_not_read_into_the_name():
    metadata = parse_heading(
        [
            scored("政府信息公开情况统计表", (415, 90, 840, 137), 1.0),
            scored("(2009年度)", (574, 151, 682, 179), 0.999),
            scored("填报单位（盖章）：余姚市文化广电新闻出版局", (114, 184, 542, 213), 0.997),
            scored("司", (581, 186, 618, 214), 0.49),  # seal text, read with low confidence
        ]
    )
    assert metadata.unit_name == "余姚市文化广电新闻出版局"
    metadata = parse_heading(
        [
            scored("息公开情况统计表", (1065, 272, 1644, 366), 1.0),
            scored("奉化", (1019, 280, 1256, 530), 0.9),  # a seal's ring, as tall as three lines
            scored("16年度)", (1202, 382, 1401, 465), 0.938),
            scored("填报单位（盖章）：奉化市旅游局", (236, 486, 1082, 552), 0.973),
        ]
    )
    assert metadata.unit_name == "奉化市旅游局"


def test_a_unit_label_read_without_gai_and_a_year_line_without_its_century():
    metadata = parse_heading(
        [
            line("16年度)", 520, 90, 150),  # 20 lost under a seal
            line("填报单位", 80, 140, 120),
            line("（章)：象山县海洋与渔业局", 200, 140),
        ]
    )
    assert (metadata.unit_name, metadata.year) == ("象山县海洋与渔业局", 2016)
    assert parse_heading([line("共16年度报告", 80, 140)]).year is None  # not a year line


def test_the_old_forms_narrative_titles_name_the_unit_and_year():
    titles = {
        "关于2010年度政府信息公开工作情况的报告": 2010,
        "2014年度政府信息公开工作总结": 2014,
        "2012年政府信息公开工作报告": 2012,
    }
    for second, year in titles.items():
        title = parse_title([line("余姚市人力资源和社会保障局", 300, 100, 500), line(second, 200, 160, 700)])
        assert (title.unit_name, title.year) == ("余姚市人力资源和社会保障局", year), second
    one_line = parse_title([line("奉化市财政局关于2015年度政府信息公开工作情况的报告", 100, 100, 900)])
    assert (one_line.unit_name, one_line.year) == ("奉化市财政局", 2015)
    assert parse_title([line("2014年度工作总结", 100, 100)]).title_found is False


def test_with_title_keeps_the_heading_read_and_the_title_beside_it_as_evidence():
    heading = parse_heading([line("填报单位（盖章）：余姚市环境保护局", 80, 140, 600)])
    title = parse_title([line("市环保局", 300, 100, 300), line("2015年度政府信息公开工作总结", 200, 160, 700)])
    merged = with_title(heading, title)
    assert (merged.unit_name, merged.title) == ("余姚市环境保护局", title)
    assert (title.unit_name, title.year) == ("市环保局", 2015)
    assert with_title(heading, Metadata(None, None, title_found=False)).title is None


def test_the_name_box_is_the_part_of_the_unit_line_after_its_label():
    metadata = parse_heading([line("填报单位：余姚市审计局", 100, 140, 1100, 40)])
    assert metadata.unit_box == (600.0, 140, 1200, 180)  # 5 of 11 characters are the label
    assert metadata.unit_score == 0.99


def test_a_seal_over_the_name_is_told_from_one_beside_it():
    name = (600.0, 140.0, 1200.0, 180.0)
    assert sealed_over(name, [(500.0, 60.0, 700.0, 260.0)])  # centred over the name's start
    assert not sealed_over(name, [(300.0, 60.0, 500.0, 260.0)])  # over the label only
    assert not sealed_over(name, [(1190.0, 175.0, 1390.0, 375.0)])  # its bounding square's corner, not its disc
    assert not sealed_over(None, [(500.0, 60.0, 700.0, 260.0)])


class _BandReader:
    """An OCR engine that reads any crop as `text` and keeps the crops it was given."""

    def __init__(self, text: str) -> None:
        self.text, self.crops = text, []

    def recognize(self, crops, alphabet=None):
        self.crops.extend(crops)
        return [TextRead(self.text, 0.9, (0.9,)) for _ in crops]


def test_a_year_line_the_detector_missed_under_a_seal_is_read_below_the_title():
    blank = np.full((400, 1200), 255, np.uint8)
    page = PreparedPage(1, blank, blank, np.eye(3), 200.0, (), 0, 0.0)
    title = line("政府信息公开情况统计表", 400, 100, 500, 50)
    unit = line("填报单位（盖章）：余姚市发展和改革局", 80, 210, 480)
    engine = _BandReader("展和(2009年度)")  # seal lettering read beside it
    assert read_year_under_title(page, [title, unit], engine) == 2009
    assert engine.crops[0].shape == (60, 500, 3)  # from the title's foot to the unit line, as wide as the title
    assert read_year_under_title(page, [title, unit], _BandReader("展和")) is None
    assert read_year_under_title(page, [unit], engine) is None  # no title: nothing to read below


def test_a_unit_name_read_in_traditional_characters_is_reported_simplified():
    metadata = parse_heading([line("填报单位（盖章）：余姚市檔案局", 80, 140, 500)])
    assert metadata.unit_name == "余姚市档案局"
    title = parse_title(
        [line("慈溪市殘疾人聯合會", 300, 100, 500), line("2013年度政府信息公開工作總結", 200, 160, 700)]
    )
    assert (title.unit_name, title.year) == ("慈溪市残疾人联合会", 2013)


class _TitleBand:
    """An OCR engine that finds lines at `lines` (text, x0, y0, width) and reads each crop as
    the text of the line of its width."""

    def __init__(self, lines: list[tuple[str, int, int, int]]) -> None:
        self.lines, self.read = lines, []

    def detect(self, image):
        return [np.array([[x, y], [x + w, y], [x + w, y + 30], [x, y + 30]], np.float32) for _, x, y, w in self.lines]

    def recognize(self, crops, alphabet=None):
        texts = [next(t for t, _, _, w in self.lines if w == crop.shape[1]) for crop in crops]
        self.read.extend(texts)
        return [TextRead(t, 0.9, (0.9,)) for t in texts]


def test_the_title_band_is_read_row_by_row_until_the_title_is_found():
    blank = np.full((800, 1400), 255, np.uint8)
    page = PreparedPage(1, blank, blank, np.eye(3), 200.0, (), 0, 0.0)
    engine = _TitleBand(
        [
            ("一、总体情况", 100, 400, 200),  # the body, under the title
            ("慈溪市人民政府办公室", 400, 100, 500),
            ("2013年政府信息公开", 300, 160, 380),
            ("工作年度报告", 750, 162, 220),  # the same printed line, read as a second piece
            ("（2014年1月）", 500, 220, 260),
            ("——", 600, 280, 60),
            ("本报告根据《中华人民共和国政府信息公开条例》要求编制", 100, 340, 1150),
        ]
    )
    title = parse_title(read_title(page, engine))
    assert (title.unit_name, title.year) == ("慈溪市人民政府办公室", 2013)
    # The title's two rows only: the rows below it are not read.
    assert sorted(engine.read) == sorted(["慈溪市人民政府办公室", "2013年政府信息公开", "工作年度报告"])


def test_the_title_band_starts_at_the_first_print_a_phone_photos_desk_above_it_left_out():
    gray = np.full((2400, 1400), 255, np.uint8)
    ink = np.zeros_like(gray)  # the desk's ink is masked: the sheet's print starts 3.5 inches down
    ink[700:730, 400:900] = ink[760:790, 300:1000] = 255
    page = PreparedPage(1, gray, ink, np.eye(3), 200.0, (), 0, 0.0)
    assert title_band(page) == (0.0, 660.0, 1400.0, 1260.0)  # 0.2 inch above it, 3 inches down
    engine = _TitleBand([("慈溪市人民政府办公室", 400, 40, 500), ("2013年政府信息公开工作年度报告", 300, 100, 700)])
    lines = read_title(page, engine)
    assert (parse_title(lines).unit_name, parse_title(lines).year) == ("慈溪市人民政府办公室", 2013)
    assert [line.box[1] for line in lines] == [700.0, 760.0]  # in the page's pixels


def test_a_title_below_two_rows_of_other_print_is_read_from_the_next_two():
    blank = np.full((800, 1400), 255, np.uint8)
    page = PreparedPage(1, blank, blank, np.eye(3), 200.0, (), 0, 0.0)
    engine = _TitleBand(
        [
            ("慈政办〔2014〕3号", 100, 40, 330),
            ("——", 600, 100, 60),
            ("慈溪市人民政府办公室", 400, 160, 500),
            ("2013年政府信息公开工作年度报告", 300, 220, 700),
            ("本报告根据《中华人民共和国政府信息公开条例》要求编制", 100, 340, 1150),  # a fifth row
        ]
    )
    title = parse_title(read_title(page, engine))
    assert (title.unit_name, title.year) == ("慈溪市人民政府办公室", 2013)
    assert sorted(engine.read) == sorted(
        ["慈政办〔2014〕3号", "——", "慈溪市人民政府办公室", "2013年政府信息公开工作年度报告"]
    )


def test_a_seal_remnant_between_a_wrapped_titles_lines_does_not_part_them():
    lines = [
        scored("象山县林业局", (719, 385, 931, 431), 1.0),
        scored("日", (662, 421, 681, 450), 0.257),  # a piece of the seal's lettering, its own row
        scored("2024年政府信息公开工作年度报告", (562, 448, 1089, 488), 1.0),
        scored("一、总体情况", (173, 500, 341, 540), 1.0),
    ]
    title = parse_title(lines)
    assert (title.unit_name, title.year) == ("象山县林业局", 2024)
    # A short line read for sure is print: the title names no body then.
    sure = [*lines[:1], scored("附件", (662, 421, 720, 450), 0.98), *lines[2:]]
    assert (parse_title(sure).unit_name, parse_title(sure).year) == ("附件", 2024)


def test_a_heading_without_a_year_line_takes_the_year_its_table_header_prints():
    heading = Metadata("三明市林业局", None, title_found=True)
    headers = [((0.0, 0.0, 90.0, 30.0), "指标名称", 0.99), ((300.0, 0.0, 400.0, 30.0), "2009年度", 0.97)]
    dated = with_column_year(heading, headers)
    assert (dated.year, dated.year_score, dated.year_box) == (2009, 0.97, (300.0, 0.0, 400.0, 30.0))
    assert with_column_year(heading, headers[:1]).year is None
    # A year line comes first; the header's year is a second print of it, evidence.
    lined = with_column_year(replace(heading, year=2010), headers)
    assert (lined.year, lined.second_year) == (2010, 2009)
    assert dated.second_year is None


class _Body:
    """An OCR engine that reads any band as the lines `lines` (text, x0, y0 on the page,
    width), keeping where each band began."""

    def __init__(self, lines: list[tuple[str, int, int, int]]) -> None:
        self.lines, self.bands = lines, []

    def read_region(self, image):
        top = self.bands[-1] if self.bands else 0
        return [
            DetectedLine(box=(x, y - top, x + w, y - top + 30), read=TextRead(t, 0.95, (0.95,)))
            for t, x, y, w in self.lines
            if 0 <= y - top < image.shape[0]
        ]


def _sealed_title_page(seal_box: tuple[float, float, float, float]) -> tuple[PreparedPage, Metadata]:
    blank = np.full((1200, 1400), 255, np.uint8)
    page = PreparedPage(1, blank, blank, np.eye(3), 200.0, (Seal(seal_box, "red"),), 0, 0.0)
    printed = [line("象山县林业局", 500, 200, 400, 40), line("2020年政府信息公开工作年度报告", 300, 260, 800, 40)]
    title = parse_title(printed)
    return page, replace(title, year_sealed=True)


def _read_body(page: PreparedPage, title: Metadata, lines: list[tuple[str, int, int, int]]) -> tuple[Metadata, _Body]:
    engine = _Body(lines)
    engine.bands.append(int(title.year_box[3]))  # the band starts at the title's foot
    return with_body_year(title, page, engine), engine


def test_a_sealed_titles_year_is_read_again_in_the_bodys_opening():
    page, title = _sealed_title_page((500.0, 100.0, 800.0, 400.0))
    opening = [("一、总体情况", 130, 330, 200), ("2020年，本机关认真贯彻落实《条例》。", 130, 370, 900)]
    assert _read_body(page, title, opening)[0].second_year == 2020  # its line reaches under the seal, its year not
    period = [("本报告中所列数据的统计期限自2020年1月1日起至2020年12月31日止。", 130, 420, 1100)]
    assert _read_body(page, title, period)[0].second_year == 2020
    assert _read_body(page, title, [("本机关认真贯彻落实《条例》。", 130, 330, 700)])[0].second_year is None
    # A year printed under the seal is no second read: the next one below it is.
    low_seal = (50.0, 220.0, 350.0, 520.0)
    page, title = _sealed_title_page(low_seal)
    sealed_first = [("2021年，本机关…", 130, 330, 400), ("统计期限自2020年1月1日起", 130, 560, 700)]
    assert _read_body(page, title, sealed_first)[0].second_year == 2020
    assert _read_body(page, title, sealed_first[:1])[0].second_year is None


def test_the_body_is_not_read_for_a_year_no_seal_lies_over():
    page, title = _sealed_title_page((500.0, 100.0, 800.0, 400.0))
    clear = replace(title, year_sealed=False)
    assert with_body_year(clear, page, None) is clear  # no engine is needed: nothing is read
