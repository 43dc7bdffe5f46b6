import cv2
import numpy as np

from worker.pipeline.preprocess import line_masks, rule_strokes


def _whole_mask_pieces(mask: np.ndarray) -> list[tuple[int, int, int, int, np.ndarray]]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return [(x, y, w, h, labels[y : y + h, x : x + w] == i) for i, (x, y, w, h, _) in enumerate(stats[1:count], 1)]


def test_strokes_are_the_pieces_of_the_whole_mask_in_its_order():
    # Rules away from the page's edges, starting on odd rows and columns, two of them in
    # one 2×2 block of the top row: labelled within the box round the ink, they keep the
    # whole mask's numbering.
    ink = np.zeros((900, 700), np.uint8)
    for x, top in ((301, 151), (153, 152), (455, 151), (602, 160)):
        cv2.line(ink, (x, top), (x + 6, top + 600), 255, 3)
    for y in (171, 401, 751):
        cv2.line(ink, (149, y), (611, y + 3), 255, 3)
    strokes = rule_strokes(ink, 200.0)
    for found, mask in zip((strokes.horizontal, strokes.vertical), line_masks(ink, 200.0), strict=True):
        expected = _whole_mask_pieces(mask)
        assert len(found) == len(expected) > 0
        for stroke, (x, y, w, h, pixels) in zip(found, expected, strict=True):
            assert (stroke.x, stroke.y, stroke.width, stroke.height) == (x, y, w, h)
            assert np.array_equal(stroke.pixels, pixels)


def test_a_page_without_rules_has_no_strokes():
    strokes = rule_strokes(np.zeros((300, 200), np.uint8), 200.0)
    assert (strokes.horizontal, strokes.vertical) == ((), ())
