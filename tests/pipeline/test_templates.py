"""Template detection from header and first-column texts, and the title of 2019+ reports."""

from functools import partial

from models.template import load_catalogue, registry
from worker.pipeline.metadata import parse_title
from worker.pipeline.ocr import DetectedLine, TextRead
from worker.pipeline.templates import Vocabulary, is_decided, is_form_text
from worker.pipeline.templates import detect_template as detect

VOCABULARY = Vocabulary.of(registry().values())
detect_template = partial(detect, vocabulary=VOCABULARY)

GK2021_PROBE = [
    "第二十条第（一）项",
    "信息内容",
    "本年制发件数",
    "本年废止件数",
    "现行有效件数",
    "规章",
    "行政规范性文件",
    "第二十条第（五）项",
    "本年处理决定数量",
    "行政许可",
    "申请人情况",
    "自然人",
    "法人或其他组织",
]
GK2019_PROBE = [
    "第二十条第（一）项",
    "信息内容",
    "本年新制作数量",
    "本年新公开数量",
    "对外公开总数量",
    "规章",
    "规范性文件",
    "上一年项目数量",
    "本年增/减",
    "处理决定数量",
    "第二十条第（九）项",
    "政府集中采购",
    "采购总金额",
]


def test_gk2008_labels_detect_gk2008():
    labels = [i.label for i in load_catalogue("GK2008").indicators[:12]]
    guess = detect_template(["统计指标", "单位", "统计数", *labels])
    assert guess is not None and guess.id == "GK2008"
    assert guess.votes["GK2008"] == guess.own["GK2008"] == 12
    assert guess.confidence == 1.0


def test_2021_headers_detect_gk2021_and_2019_headers_gk2019():
    gk2021 = detect_template(GK2021_PROBE)
    assert gk2021 is not None
    assert (gk2021.id, gk2021.own["GK2021"], gk2021.own["GK2019"]) == ("GK2021", 5, 0)
    assert gk2021.votes["GK2021"] == gk2021.voted == 12  # shared phrases count for both forms; 规章 for none
    assert gk2021.confidence == 1.0
    gk2019 = detect_template(GK2019_PROBE)
    assert gk2019 is not None
    assert (gk2019.id, gk2019.own["GK2019"], gk2019.own["GK2021"]) == ("GK2019", 10, 0)
    assert gk2019.confidence == 1.0


def test_ocr_noise_still_detects_and_too_little_text_detects_nothing():
    noisy = ["本年制发件效", "本年废止件", "现行有效件数", "自然入", "法人或其他组识", "商业企业"]
    guess = detect_template(noisy)
    assert guess is not None and guess.id == "GK2021"
    assert detect_template(["规章", "0", "5"]) is None
    assert detect_template([]) is None


def test_shared_tables_alone_pick_gk2021_with_half_confidence():
    guess = detect_template(["申请人情况", "自然人", "法人或其他组织", "结果维持", "结果纠正"])
    assert guess is not None
    assert (guess.id, guess.confidence) == ("GK2021", 0.5)


def _line(text: str, y: float) -> DetectedLine:
    return DetectedLine(box=(100, y, 900, y + 40), read=TextRead(text, 0.99, (0.99,)))


def test_issuing_body_and_year_from_a_wrapped_title():
    title = parse_title(
        [_line("洪泽区人民政府", 100), _line("2023 年政府信息公开工作年度报告", 160), _line("本报告由", 260)]
    )
    assert (title.unit_name, title.year, title.title_found) == ("洪泽区人民政府", 2023, True)


def test_issuing_body_and_year_from_a_one_line_title_and_none_without_title():
    title = parse_title([_line("宁波市民政局2020年度政府信息公开工作年度报告", 80)])
    assert (title.unit_name, title.year) == ("宁波市民政局", 2020)
    bare = parse_title([_line("2019年政府信息公开工作年度报告", 80)])
    assert (bare.unit_name, bare.year) == (None, 2019)
    assert parse_title([_line("一、总体情况", 80)]).title_found is False


def test_probing_stops_once_enough_votes_agree():
    labels = [i.label for i in load_catalogue("GK2008").indicators[:12]]
    assert is_decided(detect_template(labels)) is True
    assert is_decided(detect_template(labels[:11])) is False  # too few votes yet
    assert is_decided(detect_template(["申请人情况", "自然人", "法人或其他组织", "结果维持", "结果纠正"] * 3)) is False


def test_form_text_is_a_phrase_of_one_of_the_forms():
    def form_text(text: str) -> bool:
        return is_form_text(text, VOCABULARY)

    assert form_text("本年制发件数")
    assert form_text("（三）申请答复数")  # GK2008's labels, numbering aside
    assert form_text("历年累计")  # FJ2009's header
    assert not form_text("统计数")
    assert not form_text("1024")
    assert not form_text("主动")
