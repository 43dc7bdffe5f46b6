"""The list reader: forms printed as one list of rows, label | unit | value (GK2008).

Every table page's grid is read row by row (`rows`), the rows are aligned to the template's
codes (`mapping`), and each code's value cell becomes a `FieldRead` with the reader's own
doubts. The report's unit and year come from the heading above the table (its 填报单位 line),
the narrative's title on page 1 read as evidence (`metadata.unit_line_metadata`).
"""

from __future__ import annotations

from functools import partial

from models.catalogue import Indicator
from models.template import Template
from worker.pipeline.cells import Box, CellRead, too_wide
from worker.pipeline.decide import FieldRead, ValueRead
from worker.pipeline.mapping import RowMatch, is_catalogue_label, map_rows, normalize_unit
from worker.pipeline.matrix import CellReads
from worker.pipeline.metadata import heading_band, unit_line_metadata
from worker.pipeline.preprocess import PreparedPage
from worker.pipeline.readers import PageRegion, Reading, ReadJob
from worker.pipeline.reasons import Reason
from worker.pipeline.rows import TableRow, read_rows
from worker.pipeline.values import ParsedValue, gave_no_number, parse_value

MIN_MATCHED_SHARE = 0.4  # below this share of codes matched, the table is not this template


def read_list(job: ReadJob) -> Reading | None:
    catalogue = job.template.catalogue
    table_pages = [tp for tp in job.pages if tp.grid is not None]
    plausible_label = partial(is_catalogue_label, catalogue=catalogue, aliases=job.aliases)
    plausible_unit = partial(_is_form_unit, units=_form_units(job.template))
    with job.clock.stage("read"):
        rows = [
            row
            for tp in table_pages
            # Label cells the template probe read are not read twice.
            for row in read_rows(
                tp.prepared,
                tp.grid,  # type: ignore[arg-type]
                job.engine,
                _boxed(job.probed.get(tp.prepared.number, {})),
                plausible_label,
                plausible_unit,
            )
        ]
    with job.clock.stage("map"):
        matches = map_rows(rows, catalogue, job.aliases)
    matched = [m for m in matches if m.row is not None]
    if len(matched) < MIN_MATCHED_SHARE * len(matches):
        return None
    used = sorted({m.row.page for m in matched if m.row is not None})
    table_pages = [tp for tp in table_pages if tp.prepared.number in used]
    first = table_pages[0]
    assert first.grid is not None  # the pages read had a grid
    with job.clock.stage("metadata"):
        metadata = unit_line_metadata(first.prepared, first.grid.frame[1], job.narrative_title_page, job.engine)
    pages = {tp.prepared.number: tp.prepared for tp in table_pages}
    return Reading(
        fields=[field_read(m, job.template, pages) for m in matches],
        pages=used,
        table_pages=table_pages,
        confidence=round(sum(m.similarity for m in matches) / len(matches), 3),
        metadata=metadata,
        heading=PageRegion.of(first.prepared, heading_band(first.prepared, first.grid.frame[1])),
    )


def _form_units(template: Template) -> frozenset[str]:
    """The units the form prints: its catalogue's, and those printed for one another."""
    units = {indicator.unit for indicator in template.catalogue.indicators}
    return frozenset(normalize_unit(unit) for unit in units.union(*template.unit_groups))


def _is_form_unit(read: str, units: frozenset[str]) -> bool:
    return normalize_unit(read) in units


def _boxed(reads: CellReads) -> list[tuple[Box, CellRead]]:
    return [(cell.box, read) for cell, read in reads.items()]


def field_read(match: RowMatch, template: Template, pages: dict[int, PreparedPage]) -> FieldRead:
    indicator, row = match.indicator, match.row
    if row is None:
        return FieldRead(indicator, None)
    parsed = _parse(match.indicator, row, template)
    value = ValueRead(
        text=row.value.text,
        value=parsed.value,
        score=row.value.score,
        min_char_score=row.value.min_char_score,
        unread=_unread(indicator, row, parsed),
    )
    return FieldRead(
        indicator,
        value,
        label_match=match.similarity,
        reasons=(*parsed.reasons, *_row_reasons(row, indicator, template, parsed)),
        page=row.page,
        box=pages[row.page].original_box(row.value_box),
        cell=row.value_box,
        label_read=row.label.text,
        unit_read=row.unit.text,
    )


def _parse(indicator: Indicator, row: TableRow, template: Template) -> ParsedValue:
    parsed = parse_value(row.value.text, indicator.unit == "万元", template.is_signed(indicator.code))
    if row.value.slanted and not parsed.is_dash:
        # One stroke leaning like "/", read as a digit: it is the printed slash (no value).
        return ParsedValue(None, is_dash=True, repaired=True, readable=True)
    return parsed


def _unread(indicator: Indicator, row: TableRow, parsed: ParsedValue) -> bool:
    """See `gave_no_number`. A heading row's cell is mostly blank: unread only where digits were read."""
    if indicator.is_heading:
        return not parsed.readable and any(ch.isdigit() for ch in row.value.text)
    return gave_no_number(parsed, row.value.text, row.value.blank, row.seal_over_value)


def _row_reasons(row: TableRow, indicator: Indicator, template: Template, parsed: ParsedValue) -> list[Reason]:
    reasons = []
    if row.seal_over_value:
        reasons.append(Reason.SEAL_OVERLAP)
    unit = normalize_unit(parsed.unit or row.unit.text)  # printed with the number, or in the unit cell
    if unit and not template.same_unit(unit, normalize_unit(indicator.unit)):
        reasons.append(Reason.UNIT_MISMATCH)
    if row.value.isolated:
        reasons.append(Reason.DIGITS_ISOLATED)  # marks beside the digits were left out: one may be a digit
    elif too_wide(row.value):
        reasons.append(Reason.WIDTH_MISMATCH)  # a faint digit lost, or marks beside the number
    if row.value.blank and not indicator.is_heading:
        reasons.append(Reason.BLANK_VALUE)  # a count row left empty is unusual: a person checks
    return reasons
