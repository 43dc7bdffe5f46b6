"""Ink in a cell under uneven light: the edge of a shadow across a value cell."""

from __future__ import annotations

import cv2
import numpy as np

from worker.pipeline.cells.ink import ink_lines, ink_mask

DPI = 200


def _shadowed_cell(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A 60 × 260 value cell whose left half lies in a shadow (paper 151, the right 203,
    a soft edge between), with `text` printed dark across the edge, and the print's pixels."""
    rng = np.random.default_rng(7)
    paper = np.where(np.arange(260) < 130, 151.0, 203.0)
    paper = cv2.GaussianBlur(np.tile(paper, (60, 1)), (15, 1), 0)
    printed = np.zeros((60, 260), np.uint8)
    cv2.putText(printed, text, (70, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 3)
    cell = np.where(printed > 0, 45.0, paper) + rng.normal(0, 3, (60, 260))
    return np.clip(cell, 0, 255).astype(np.uint8), printed > 0


def test_print_across_a_shadow_edge_is_ink() -> None:
    cell, printed = _shadowed_cell("3573")
    ink, _ = ink_mask(cell)
    found = ink > 0
    assert found[printed].mean() > 0.95
    assert not found[cv2.dilate(printed.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0].any()
    lines = ink_lines(cell, DPI, split_lines=True)
    assert len(lines) == 1
    x0, _, x1, _ = lines[0]
    columns = np.flatnonzero(printed.any(axis=0))
    assert (x0, x1) == (columns[0], columns[-1] + 1)


def test_blank_cell_across_a_shadow_edge_has_no_ink() -> None:
    cell, _ = _shadowed_cell("")
    assert not ink_mask(cell)[0].any()
    assert ink_lines(cell, DPI, split_lines=True) == []


def test_bold_print_is_ink_whole() -> None:
    """A stroke as thick as a third of the cell is closed over by the paper estimate."""
    cell = np.full((60, 260), 230, np.uint8)
    cell[20:40, 80:180] = 30
    ink, paper = ink_mask(cell)
    assert paper == 230
    assert (ink[20:40, 80:180] == 255).all()
    assert ink.sum() // 255 == 20 * 100


def test_a_faint_digit_broken_in_two_is_one_line() -> None:
    """A 2 printed faint at 150 dpi whose curve came apart from its base: each piece is
    shorter than a text line, together they are the digit (not two stray marks, a blank)."""
    cell = np.full((35, 70), 248, np.uint8)
    cv2.putText(cell, "2", (30, 23), cv2.FONT_HERSHEY_SIMPLEX, 0.65, 140, 1)
    cell[16:18] = 248  # the break: pieces 7 and 5 pixels high
    assert ink_lines(cell, 150, split_lines=True) == [(31, 9, 41, 23)]
    hairline = np.vstack([cell, np.full((25, 70), 248, np.uint8)])  # under the digit, pieces
    hairline[37:44, 50], hairline[46:54, 50] = 120, 120  # of a rule's one-pixel remnant
    assert ink_lines(hairline, 150, split_lines=True) == [(31, 9, 41, 23)]
    far = np.full_like(cell, 248)
    far[:16], far[26:] = cell[:16], cell[16:25]  # the base 10 pixels below: another mark
    assert ink_lines(far, 150, split_lines=True) == []
