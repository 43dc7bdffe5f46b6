"""Synthetic pages for geometry tests: a ruled label | unit | value table with known rows."""

from __future__ import annotations

import cv2
import numpy as np

from worker.pipeline.load import PageImage

DPI = 150
ROWS = 12
TOP, LEFT, RIGHT, ROW_H = 300, 100, 1140, 40
COLUMNS = (LEFT, 760, 900, RIGHT)


def table_page(
    angle: float = 0.0,
    turn: int | None = None,
    red_seal: bool = False,
    rule_width: int = 2,
    rows: int = ROWS,
    units: bool = False,
    columns: tuple[int, ...] = COLUMNS,
) -> PageImage:
    """A ruled table of `rows` rows between the column rules at `columns` (label, unit and
    value columns by default), text blocks in its cells, turned or skewed as asked."""
    image = np.full((1754, 1241, 3), 255, np.uint8)
    bottom = TOP + rows * ROW_H
    for i in range(rows + 1):
        cv2.line(image, (columns[0], TOP + i * ROW_H), (columns[-1], TOP + i * ROW_H), (0, 0, 0), rule_width)
    for x in columns:
        cv2.line(image, (x, TOP), (x, bottom), (0, 0, 0), rule_width)
    for i in range(rows):  # some "text" in each cell
        y = TOP + i * ROW_H + 12
        cv2.rectangle(image, (columns[0] + 30, y), (columns[0] + 300 + 10 * i, y + 16), (0, 0, 0), -1)
        for x in columns[2:-1]:
            cv2.rectangle(image, (x + 100, y), (x + 130, y + 16), (0, 0, 0), -1)
        if units:
            cv2.rectangle(image, (columns[1] + 50, y), (columns[1] + 90, y + 16), (0, 0, 0), -1)
    for y in range(120, 260, 40):  # heading lines above the table
        cv2.rectangle(image, (300, y), (900, y + 18), (0, 0, 0), -1)
    if red_seal:
        cv2.circle(image, (1000, TOP + 3 * ROW_H), 120, (40, 40, 220), 8)
    if angle:
        matrix = cv2.getRotationMatrix2D((620, 877), angle, 1.0)
        image = cv2.warpAffine(image, matrix, (1241, 1754), borderValue=(255, 255, 255))
    if turn:
        codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
        image = cv2.rotate(image, codes[turn])
    return PageImage(number=1, image=image, dpi=DPI, is_color=red_seal)


# Where the sheet's corners land in a phone photo, as shares of its width and height: a
# keystone (top narrower than bottom).
PHOTO_CORNERS = np.float32([[0.15, 0.08], [0.91, 0.10], [0.975, 0.96], [0.065, 0.94]])


def photographed(page: PageImage, background: int = 70) -> tuple[PageImage, np.ndarray]:
    """The page photographed at an angle on a dark desk; also the sheet → photo matrix."""
    h, w = page.image.shape[:2]
    sheet = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    matrix = cv2.getPerspectiveTransform(sheet, PHOTO_CORNERS * np.float32([w, h]))
    photo = cv2.warpPerspective(page.image, matrix, (w + 60, h + 60), borderValue=(background,) * 3)
    return PageImage(number=page.number, image=photo, dpi=page.dpi, is_color=page.is_color), matrix
