from dataclasses import replace

import numpy as np

from docextract.settings import RoutingSettings
from models.schemas import FieldStatus
from worker.pipeline.gazetteer import Gazetteer
from worker.pipeline.metadata import Metadata, parse_heading, parse_title, with_column_year, with_seals, with_title
from worker.pipeline.ocr import DetectedLine, TextRead
from worker.pipeline.preprocess import Seal
from worker.pipeline.reasons import Reason
from worker.pipeline.report_trust import abbreviates, decide_report, decide_unit, decide_year

THRESHOLDS = RoutingSettings()
NONE_KNOWN = Gazetteer.of([])


class Lettering:
    """An OCR engine reading every seal's lettering as `text`, counting the reads."""

    def __init__(self, text: str = "") -> None:
        self.text, self.reads = text, 0

    def recognize(self, crops, alphabet=None):
        self.reads += len(crops)
        return [TextRead(self.text, 0.95, (0.95,)) for _ in crops]


def seal(box: tuple[float, float, float, float]) -> Seal:
    side = int(box[2] - box[0])
    return Seal(box=box, kind="red", lettering=np.full((side, side), 200, np.uint8))


def line(text: str, x0: float, y0: float, width: float = 300, height: float = 30) -> DetectedLine:
    return DetectedLine(box=(x0, y0, x0 + width, y0 + height), read=TextRead(text, 0.99, (0.99,)))


def read(unit: str | None, year: int | None = 2015, title: Metadata | None = None, **evidence) -> Metadata:
    return replace(Metadata(unit, year, title_found=True, unit_score=0.98, year_score=0.98, title=title), **evidence)


def title(unit: str | None, year: int | None = 2015) -> Metadata:
    return Metadata(unit, year, title_found=True, unit_score=0.99, year_score=0.99)


def test_a_full_unit_line_stands_against_the_short_form_of_the_title():
    heading = parse_heading([line("填报单位（盖章）：余姚市环境保护局", 80, 940, 600), line("（2015年度）", 500, 880)])
    narrative = parse_title([line("市环保局", 300, 100, 300), line("2015年度政府信息公开工作总结", 200, 160, 700)])
    report = decide_report(with_title(heading, narrative), NONE_KNOWN, THRESHOLDS)
    unit = report.unit
    assert (unit.value, unit.status, unit.reasons) == ("余姚市环境保护局", FieldStatus.accepted, [])
    assert (report.year.value, report.year.status) == (2015, FieldStatus.accepted)
    assert report.year.confidence == 0.999  # the title's year agrees
    assert not report.needs_review


def test_a_short_unit_line_stands_against_the_full_name_of_the_title():
    unit = decide_unit(read("区科技局", title=title("北仑区科学技术局")), NONE_KNOWN, THRESHOLDS)
    assert (unit.value, unit.status, unit.reasons, unit.confidence) == ("区科技局", FieldStatus.accepted, [], 0.98)


def test_short_forms_keep_their_place_level_first_and_their_characters_in_order():
    assert abbreviates("市环保局", "余姚市环境保护局")
    assert abbreviates("市科协", "余姚市科学技术协会")
    assert not abbreviates("姚市审计局", "余姚市审计局")  # a seal took the first character
    assert not abbreviates("市财政局", "余姚市审计局")
    assert not abbreviates("余姚市审计局", "余姚市审计局")


def test_a_name_missing_from_the_unit_line_is_the_titles_in_review():
    unit = decide_unit(read(None, title=title("余姚市审计局")), NONE_KNOWN, THRESHOLDS)
    assert (unit.value, unit.read, unit.status, unit.reasons) == (
        "余姚市审计局",
        None,
        FieldStatus.review,
        [Reason.UNIT_FROM_TITLE],
    )
    nothing = decide_unit(read(None), NONE_KNOWN, THRESHOLDS)
    assert (nothing.value, nothing.status, nothing.reasons, nothing.confidence) == (
        None,
        FieldStatus.review,
        [Reason.NOT_FOUND],
        0.0,
    )


def test_a_read_a_seal_damaged_is_mended_to_the_known_unit_and_reviewed():
    damaged = read("余姚计局", title=title("市审计局"), unit_sealed=True)
    unknown = decide_unit(damaged, NONE_KNOWN, THRESHOLDS)
    assert (unknown.value, unknown.status) == ("余姚计局", FieldStatus.review)
    assert unknown.reasons == [Reason.SEAL_OVER_HEADING, Reason.TITLE_DISAGREES]
    known = decide_unit(damaged, Gazetteer.of(["余姚市审计局", "余姚市财政局"]), THRESHOLDS)
    assert (known.value, known.read, known.status) == ("余姚市审计局", "余姚计局", FieldStatus.review)
    assert known.reasons == [Reason.SEAL_OVER_HEADING, Reason.TITLE_DISAGREES, Reason.UNIT_MENDED]
    assert known.confidence == round(0.98 / 8, 3)


def test_a_damaged_full_name_takes_the_titles_full_name_in_review():
    damaged = read("余姚市源源和社会保障局", title=title("余姚市人力资源和社会保障局"))
    unit = decide_unit(damaged, NONE_KNOWN, THRESHOLDS)
    assert (unit.value, unit.status, unit.reasons) == (
        "余姚市人力资源和社会保障局",
        FieldStatus.review,
        [Reason.TITLE_DISAGREES],
    )
    other_body = decide_unit(read("余姚市审计局", title=title("宁波市人民政府办公厅")), NONE_KNOWN, THRESHOLDS)
    assert (other_body.value, other_body.status) == ("余姚市审计局", FieldStatus.review)


def test_a_seal_over_the_name_is_settled_only_by_an_exact_corroboration():
    sealed = read("余姚市审计局", unit_sealed=True)
    assert decide_unit(sealed, NONE_KNOWN, THRESHOLDS).status == FieldStatus.review
    by_title = decide_unit(replace(sealed, title=title("余姚市审计局")), NONE_KNOWN, THRESHOLDS)
    assert (by_title.status, by_title.reasons, by_title.confidence) == (
        FieldStatus.accepted,
        [Reason.SEAL_OVER_HEADING],
        0.998,
    )
    by_gazetteer = decide_unit(sealed, Gazetteer.of(["余姚市审计局"]), THRESHOLDS)
    assert by_gazetteer.status == FieldStatus.accepted
    # The title's short form agrees with a read that lost its first character: not enough under a seal.
    lost_first = decide_unit(read("姚市审计局", unit_sealed=True, title=title("市审计局")), NONE_KNOWN, THRESHOLDS)
    assert (lost_first.status, lost_first.reasons) == (FieldStatus.review, [Reason.SEAL_OVER_HEADING])


def test_a_sealed_short_form_the_title_prints_too_is_reviewed_the_seal_may_hide_its_place():
    # 填报单位：延平区民政局 with a seal over 延平, read 区民政局; the narrative's title prints 区民政局.
    lost_place = decide_unit(read("区民政局", unit_sealed=True, title=title("区民政局")), NONE_KNOWN, THRESHOLDS)
    assert (lost_place.value, lost_place.status, lost_place.reasons) == (
        "区民政局",
        FieldStatus.review,
        [Reason.SEAL_OVER_HEADING],
    )
    unsealed = decide_unit(read("区民政局", title=title("区民政局")), NONE_KNOWN, THRESHOLDS)
    assert (unsealed.status, unsealed.reasons) == (FieldStatus.accepted, [])


def test_a_weak_read_is_reviewed_and_a_printed_short_form_is_never_mended_to_a_full_name():
    weak = decide_unit(read("余姚市审计局", unit_score=0.7), NONE_KNOWN, THRESHOLDS)
    assert (weak.status, weak.reasons, weak.confidence) == (FieldStatus.review, [Reason.LOW_OCR_CONFIDENCE], 0.35)
    short = decide_unit(read("市审计局"), Gazetteer.of(["余姚市审计局"]), THRESHOLDS)
    assert (short.value, short.status, short.reasons) == ("市审计局", FieldStatus.accepted, [])


def test_the_year_is_sure_when_clear_or_confirmed_by_the_title():
    assert decide_year(read("x", 2014), THRESHOLDS).status == FieldStatus.accepted
    sealed = read("x", 2014, year_sealed=True)
    assert decide_year(sealed, THRESHOLDS).reasons == [Reason.SEAL_OVER_HEADING]
    assert decide_year(sealed, THRESHOLDS).status == FieldStatus.review
    assert decide_year(replace(sealed, title=title("x", 2014)), THRESHOLDS).status == FieldStatus.accepted
    short = decide_year(read("x", 2016, year_short=True), THRESHOLDS)
    assert (short.value, short.status, short.reasons) == (2016, FieldStatus.review, [Reason.SEAL_OVER_HEADING])


def test_a_year_the_title_contradicts_or_alone_gives_is_reviewed():
    disagreeing = decide_year(read("x", 2014, title=title("x", 2015)), THRESHOLDS)
    assert (disagreeing.value, disagreeing.status, disagreeing.reasons) == (
        2014,
        FieldStatus.review,
        [Reason.TITLE_DISAGREES],
    )
    from_title = decide_year(read("x", None, title=title("x", 2015)), THRESHOLDS)
    assert (from_title.value, from_title.status, from_title.reasons) == (
        2015,
        FieldStatus.review,
        [Reason.YEAR_FROM_TITLE],
    )
    assert decide_year(read("x", None), THRESHOLDS).reasons == [Reason.NOT_FOUND]


def test_an_unsure_item_sends_the_document_to_review():
    assert decide_report(read("余姚市审计局", 2014), NONE_KNOWN, THRESHOLDS).needs_review is False
    assert decide_report(read("余姚市审计局", 2014, year_short=True), NONE_KNOWN, THRESHOLDS).needs_review is True
    assert decide_report(read(None, 2014), NONE_KNOWN, THRESHOLDS).needs_review is True


def test_a_unit_a_reviewer_taught_corroborates_a_sealed_read_as_the_gazetteer_would():
    sealed = read("余姚市统计局", unit_sealed=True)
    assert decide_unit(sealed, NONE_KNOWN, THRESHOLDS).status == FieldStatus.review
    taught = NONE_KNOWN.with_units({"余姚市统计局"})
    unit = decide_unit(sealed, taught, THRESHOLDS)
    assert (unit.value, unit.status, unit.reasons) == ("余姚市统计局", FieldStatus.accepted, [Reason.SEAL_OVER_HEADING])
    assert NONE_KNOWN.with_units(()) is NONE_KNOWN and not NONE_KNOWN.knows("余姚市统计局")


def test_a_seal_over_a_titles_unit_name_sends_the_matrix_forms_unit_to_review_unless_known():
    """A 2019+ report's unit is read from its title, an FJ2009 table page's from the lines over
    the table (the matrix reader's heading): a seal over either is recorded as over the list
    form's unit line, and the name is reviewed unless another source corroborates it."""
    lines = [line("余姚市财政局", 500, 200, 400, 40), line("2019年政府信息公开工作年度报告", 300, 260, 800, 40)]
    read_title = parse_title(lines)
    assert read_title.unit_box is not None and read_title.year_box is not None
    seal_over_name = (550.0, 60.0, 850.0, 360.0)
    seal_beside = (1400.0, 600.0, 1700.0, 900.0)
    sealed = with_seals(read_title, [seal(seal_over_name)], Lettering("余姚市环境保护局"))
    assert sealed.unit_sealed and not with_seals(read_title, [seal(seal_beside)], Lettering()).unit_sealed
    unit = decide_unit(sealed, NONE_KNOWN, THRESHOLDS)
    assert (unit.value, unit.status, unit.reasons) == ("余姚市财政局", FieldStatus.review, [Reason.SEAL_OVER_HEADING])
    known = decide_unit(sealed, Gazetteer.of(["余姚市财政局"]), THRESHOLDS)
    assert (known.status, known.reasons) == (FieldStatus.accepted, [Reason.SEAL_OVER_HEADING])
    beside = with_seals(read_title, [seal(seal_beside)], Lettering())
    assert decide_unit(beside, NONE_KNOWN, THRESHOLDS).status == FieldStatus.accepted


def test_a_seal_over_the_unit_line_of_a_heading_read_by_the_matrix_reader_is_recorded():
    unit_line = line("填报单位（盖章）：福州市鼓楼区档案局", 80, 940, 600)
    heading = parse_heading([unit_line, line("（2011年度）", 500, 880)])
    sealed = with_seals(heading, [seal((300.0, 850.0, 600.0, 1150.0))], Lettering())
    assert sealed.unit_sealed
    assert decide_unit(sealed, NONE_KNOWN, THRESHOLDS).status == FieldStatus.review


def test_a_name_under_a_seal_that_prints_the_same_name_round_its_top_is_accepted():
    """A seal carries its unit's full name: read round its top, it is a second read of the
    name under it. Only the same name, exactly, settles the seal; the seal is read once."""
    heading = parse_heading([line("填报单位（盖章）：余姚市环境保护局", 80, 940, 600), line("（2015年度）", 500, 880)])
    over_name = seal((300.0, 850.0, 600.0, 1150.0))
    lettering = Lettering("16余姚市环境保护局。")  # print crossing the band: not letters of a name
    sealed = with_seals(with_seals(heading, [over_name], lettering), [over_name], lettering)
    assert (sealed.seal_names, lettering.reads) == (("余姚市环境保护局",), 1)
    unit = decide_unit(sealed, NONE_KNOWN, THRESHOLDS)
    assert (unit.value, unit.status) == ("余姚市环境保护局", FieldStatus.accepted)
    assert unit.reasons == [Reason.SEAL_OVER_HEADING]  # on record
    assert unit.confidence == 0.999  # corroborated: the line read 0.99
    for other in ("余姚市环境保护", "余姚市环保局", ""):  # a character lost, another unit's seal, unread
        unit = decide_unit(with_seals(heading, [over_name], Lettering(other)), NONE_KNOWN, THRESHOLDS)
        assert (unit.status, unit.reasons) == (FieldStatus.review, [Reason.SEAL_OVER_HEADING])


def test_a_short_form_under_a_seal_is_reviewed_though_the_seal_reads_the_same():
    """A read starting with its place's level (市审计局) may have lost the place's name to the
    seal; a seal's lettering read the same has lost it too (a seal prints the full name)."""
    heading = parse_heading([line("填报单位（盖章）：市审计局", 80, 940, 600), line("（2015年度）", 500, 880)])
    sealed = with_seals(heading, [seal((300.0, 850.0, 600.0, 1150.0))], Lettering("市审计局"))
    assert decide_unit(sealed, NONE_KNOWN, THRESHOLDS).status == FieldStatus.review


def test_a_year_under_a_seal_is_sure_when_the_bodys_opening_names_it_too():
    sealed = read("象山县林业局", 2020, year_sealed=True)
    assert decide_year(sealed, THRESHOLDS).status == FieldStatus.review
    year = decide_year(replace(sealed, second_year=2020), THRESHOLDS)
    assert (year.value, year.status, year.reasons) == (2020, FieldStatus.accepted, [Reason.SEAL_OVER_HEADING])
    other = decide_year(replace(sealed, second_year=2019), THRESHOLDS)
    assert (other.value, other.status) == (2020, FieldStatus.review)


def test_an_fj2009_year_line_under_a_seal_is_sure_when_its_value_columns_header_prints_it_too():
    unit_line = line("填报单位（盖章）：福州市鼓楼区档案局", 80, 940, 600)
    sealed = replace(parse_heading([unit_line, line("（2011年度）", 500, 880)]), year_sealed=True)
    headers = [((0.0, 0.0, 90.0, 30.0), "指标名称", 0.99), ((300.0, 0.0, 400.0, 30.0), "2011年度", 0.97)]
    assert decide_year(sealed, THRESHOLDS).status == FieldStatus.review
    assert decide_year(with_column_year(sealed, headers), THRESHOLDS).status == FieldStatus.accepted
    misread = [(box, "2017年度", score) for box, _, score in headers]
    assert decide_year(with_column_year(sealed, misread), THRESHOLDS).status == FieldStatus.review
