"""The cell-reading library both layout readers use: ink and cleaning (`ink`), digits and
their pitch (`digits`), and reading text lines (`reading`)."""

from worker.pipeline.cells.digits import (
    Pitch,
    Placement,
    blob_width,
    isolate_digits,
    learn_pitch,
    learn_placement,
    number_width,
    numbers_ink,
    reread_digits,
    too_wide,
)
from worker.pipeline.cells.ink import (
    clean_cell,
    ink_lines,
    is_dash,
    is_flat,
    is_slanted_stroke,
    pad_crop,
    print_darkness,
)
from worker.pipeline.cells.reading import (
    DASH_READ,
    NARROW,
    Box,
    CellRead,
    Plausible,
    combine_reads,
    overlaps,
    read_lines,
    read_text,
)

__all__ = [
    "DASH_READ",
    "NARROW",
    "Box",
    "CellRead",
    "Pitch",
    "Placement",
    "Plausible",
    "blob_width",
    "clean_cell",
    "combine_reads",
    "ink_lines",
    "is_dash",
    "is_flat",
    "is_slanted_stroke",
    "isolate_digits",
    "learn_pitch",
    "learn_placement",
    "number_width",
    "numbers_ink",
    "overlaps",
    "pad_crop",
    "print_darkness",
    "read_lines",
    "read_text",
    "reread_digits",
    "too_wide",
]
