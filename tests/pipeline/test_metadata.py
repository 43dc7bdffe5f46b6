from worker.pipeline.metadata import parse_heading
from worker.pipeline.ocr import DetectedLine, TextRead


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
