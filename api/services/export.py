"""CSV and XLSX export of a set of documents: one row per document × code.

`value` is the effective value (a reviewer's latest decision where there is one, else what
was read); `machine_value` is what was read. Documents without a result have no rows.
Rows are read from the database in slices, so an export of thousands of documents streams.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.services.documents import DocumentFilter, readable
from api.services.errors import Invalid
from models.db import ApiKey, Correction, Document, FieldRow

COLUMNS = [
    "document_id",
    "filename",
    "sha256",
    "document_status",
    "template",
    "unit_name",
    "year",
    "code",
    "label",
    "unit",
    "value",
    "machine_value",
    "text",
    "confidence",
    "field_status",
    "reasons",
    "page",
]
XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header row
_SLICE = 2000


def _rows_query(key: ApiKey, where: DocumentFilter):  # type: ignore[no-untyped-def]
    corrected = exists().where(Correction.field_id == FieldRow.id)
    latest_value = (
        select(Correction.new_value)
        .where(Correction.field_id == FieldRow.id)
        .order_by(Correction.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    documents = where.apply(readable(key)).subquery()
    return (
        select(
            documents.c.id,
            documents.c.filename,
            documents.c.sha256,
            documents.c.status,
            documents.c.template_id,
            documents.c.unit_name,
            documents.c.year,
            FieldRow.code,
            FieldRow.label,
            FieldRow.unit,
            corrected,
            latest_value,
            FieldRow.value,
            FieldRow.text,
            FieldRow.confidence,
            FieldRow.status,
            FieldRow.reasons,
            FieldRow.page,
        )
        .join(FieldRow, FieldRow.document_id == documents.c.id)
        .order_by(documents.c.id, FieldRow.position)
    )


def count_documents(session: Session, key: ApiKey, where: DocumentFilter) -> int:
    query = where.apply(readable(key)).with_only_columns(func.count(Document.id))
    return session.scalar(query) or 0


def check_size(session: Session, key: ApiKey, where: DocumentFilter, limit: int) -> None:
    count = count_documents(session, key, where)
    if count > limit:
        raise Invalid(f"{count} documents match; export at most {limit} at a time")


def iter_rows(session_factory: sessionmaker, key: ApiKey, where: DocumentFilter) -> Iterator[list[Any]]:
    """Rows in document, then catalogue order, read in slices by a session of their own."""
    query = _rows_query(key, where).execution_options(yield_per=_SLICE)
    with session_factory() as session:
        for row in session.execute(query):
            (
                doc_id,
                filename,
                sha256,
                doc_status,
                template,
                unit_name,
                year,
                code,
                label,
                unit,
                corrected,
                latest,
                machine,
                text,
                confidence,
                status,
                reasons,
                page,
            ) = row
            value = latest if corrected else machine
            yield [
                doc_id,
                _text(filename),
                sha256,
                doc_status,
                template,
                _text(unit_name),
                year,
                code,
                label,
                unit,
                as_number(value),
                as_number(machine),
                _text(text),
                confidence,
                status,
                ";".join(reasons or []),
                page,
            ]


def csv_chunks(rows: Iterator[list[Any]]) -> Iterator[str]:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for i, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else v for v in row])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(rows: Iterator[list[Any]]) -> Path:
    """A temporary .xlsx file (openpyxl cannot stream to a socket); the caller deletes it."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("fields")
    sheet.append(COLUMNS)
    for count, row in enumerate(rows, 1):
        if count > XLSX_MAX_ROWS:
            raise Invalid("more rows than a spreadsheet holds; export CSV instead")
        sheet.append(row)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    workbook.save(handle.name)
    return Path(handle.name)


def as_number(value: float | None) -> int | float | None:
    """A stored number as JSON would have it: counts (and whole amounts) without a '.0'."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _text(value: str | None) -> str | None:
    """Read text is data, never a formula: a leading = + @ (or - before text) is escaped."""
    if not value:
        return value
    first = value[0]
    if first in "=+@\t\r" or (first == "-" and len(value) > 1 and not _is_number(value)):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
