"""Overlays: each table page with every field's value box drawn, coloured by status."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import layoutparser as lp
from PIL import Image

if TYPE_CHECKING:
    from worker.pipeline.extract import Extraction

STATUS_COLOURS = {"accepted": "#1a9850", "review": "#d73027"}


def draw_fields(extraction: Extraction, page_number: int) -> Image.Image:
    """The page as served (original pixels) with its fields' boxes, labelled by code."""
    table_page = next(tp for tp in extraction.table_pages if tp.page.number == page_number)
    blocks = [
        lp.TextBlock(lp.Rectangle(*f.bbox), type=f.status, text=f.code)
        for f in extraction.result.fields
        if f.page == page_number and f.bbox is not None
    ]
    image = Image.fromarray(table_page.page.image[:, :, ::-1])
    return lp.draw_box(
        image,
        lp.Layout(blocks),
        color_map=STATUS_COLOURS,
        box_width=3,
        show_element_type=False,
    )


def write_overlays(extraction: Extraction, prefix: Path) -> list[Path]:
    """Write `<prefix>_p<N>.png` for each table page; returns the paths written."""
    written = []
    for table_page in extraction.table_pages:
        path = prefix.with_name(f"{prefix.name}_p{table_page.page.number}.png")
        draw_fields(extraction, table_page.page.number).convert("RGB").save(path)
        written.append(path)
    return written
