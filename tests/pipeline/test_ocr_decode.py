"""CTC decoding of frame probabilities, plain and over a cell kind's alphabet."""

import numpy as np
import pytest

from worker.pipeline.ocr import Alphabet, CtcDecoder

CHARACTERS = ["blank", "0", "O", "1", "L", "件", "次", "欠"]
NUMBERS = Alphabet({"0": "0", "O": "0", "1": "1"})
UNITS = Alphabet({"件": "件", "次": "次"}, closed=True)
DECODER = CtcDecoder(CHARACTERS)


def frames(*rows: dict[str, float]) -> np.ndarray:
    """One frame per dict of character → probability; the rest of each frame is blank."""
    probs = np.zeros((len(rows), len(CHARACTERS)))
    for t, row in enumerate(rows):
        for ch, p in row.items():
            probs[t, CHARACTERS.index(ch)] = p
        probs[t, 0] = 1.0 - sum(row.values())
    return probs


def test_plain_decoding_drops_blanks_and_repeats_and_keeps_each_probability():
    read = DECODER.decode(frames({"1": 0.9}, {"1": 0.8}, {}, {"1": 0.7}, {"0": 0.95}))
    assert read.text == "110"
    assert read.char_scores == (0.9, 0.7, 0.95)


def test_a_round_glyph_split_between_zero_and_letter_o_is_a_confident_zero():
    probs = frames({"0": 0.6, "O": 0.35})
    assert DECODER.decode(probs).char_scores == (0.6,)
    read = DECODER.decode(probs, DECODER.classes(NUMBERS))
    assert read.text == "0"
    assert read.char_scores == (pytest.approx(0.95),)


def test_glyphs_outside_an_open_alphabet_are_read_as_themselves():
    # A seal stroke read as "L" must not become a digit: it stays an L, to be refused later.
    read = DECODER.decode(frames({"L": 0.5, "1": 0.3}, {}, {"件": 0.9}), DECODER.classes(NUMBERS))
    assert read.text == "L件"
    assert read.char_scores == (0.5, 0.9)


def test_folded_repeats_collapse_but_different_outside_glyphs_do_not():
    read = DECODER.decode(frames({"0": 0.9}, {"O": 0.9}, {"L": 0.9}, {"件": 0.9}), DECODER.classes(NUMBERS))
    assert read.text == "0L件"


def test_a_closed_alphabet_reads_only_its_symbols():
    # 次 with its dots damaged looks like 欠; a unit cell holds 次, never 欠.
    probs = frames({"欠": 0.6, "次": 0.3})
    assert DECODER.decode(probs).text == "欠"
    read = DECODER.decode(probs, DECODER.classes(UNITS))
    assert read.text == "次"
    assert read.char_scores == (pytest.approx(0.3),)
