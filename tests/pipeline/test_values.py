import pytest

from worker.pipeline.values import parse_value


@pytest.mark.parametrize(
    ("text", "decimal", "value", "reasons"),
    [
        ("138", False, 138, []),
        ("１２３", False, 123, []),  # full-width digits
        ("3.5", True, 3.5, []),
        ("12.35", True, 12.35, []),
        ("3。5", True, 3.5, ["ocr_confusion"]),
        ("1O", False, 10, ["ocr_confusion"]),
        ("l2", False, 12, ["ocr_confusion"]),
        ("——", False, None, []),
        ("-", False, None, []),
        ("/", False, None, []),
        ("", False, None, []),
        ("一", False, None, []),  # a dash read as the character for one
        ("abc", False, None, ["unreadable_value"]),
        ("4.5", False, 4.5, ["unreadable_value"]),  # a count with a decimal point
        ("24.", False, 24, ["ocr_confusion"]),  # a speck after a count
        ("()", False, 0, ["ocr_confusion"]),  # a zero that lost its thin top and bottom
        ("1()", False, 10, ["ocr_confusion"]),
        ("0)", False, 0, ["ocr_confusion"]),
        (".7·", False, 7, ["ocr_confusion"]),
        ("0.", True, None, ["unreadable_value"]),  # an amount: the dot may start a lost decimal
        ("σ", False, 0, ["ocr_confusion"]),  # round glyphs read for a zero
        ("à", False, 0, ["ocr_confusion"]),
        ("7:", False, 7, ["ocr_confusion"]),  # a speck beside the digit
        ("'0", False, 0, ["ocr_confusion"]),
        ("0—", False, 0, ["ocr_confusion"]),  # a stroke of the ruling
        ("12.5'", True, 12.5, ["ocr_confusion"]),
        ("a1b2", False, None, ["unreadable_value"]),  # 0162: no number is printed with a leading 0
        ("05", False, None, ["unreadable_value"]),
        ("0.5", True, 0.5, []),
        ("5562 64179", True, 556264179, ["ocr_confusion"]),  # a gap where a faint point stood
        ("3 7", False, 37, ["ocr_confusion"]),
        ("*0", False, 0, ["ocr_confusion"]),  # a poor copy's speck beside the digit
        ("• 2", False, 2, ["ocr_confusion"]),
        ("37 ", False, 37, []),  # paper after the digits is no gap in them
    ],
)
def test_parse_value(text, decimal, value, reasons):
    parsed = parse_value(text, decimal_allowed=decimal)
    assert parsed.value == value
    assert type(parsed.value) is type(value)
    assert parsed.reasons == reasons


def test_a_number_spans_its_digits_and_half_a_digit_for_its_point():
    assert parse_value("1024", decimal_allowed=False).span == 4
    assert parse_value("3.62", decimal_allowed=True).span == 3.5
    assert parse_value("l0", decimal_allowed=False).span == 2  # after the repair
