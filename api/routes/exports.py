from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.deps import ConsumerKey, SessionDep, StateDep
from api.services import export
from api.services.documents import DocumentFilter
from models.db import DocumentStatus

router = APIRouter(prefix="/v1/exports", tags=["exports"])

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_filter(
    status: DocumentStatus | None = None,
    year: int | None = None,
    unit_name: str | None = None,
    template: str | None = None,
    batch_id: int | None = None,
    document_id: Annotated[list[int] | None, Query(description="repeat for several")] = None,
) -> DocumentFilter:
    return DocumentFilter(status, year, unit_name, template, batch_id, tuple(document_id or ()))


FilterDep = Annotated[DocumentFilter, Depends(export_filter)]


@router.get("/fields.csv", response_class=StreamingResponse)
def export_csv(
    state: StateDep,
    session: SessionDep,
    key: ConsumerKey,
    where: FilterDep,
) -> StreamingResponse:
    """One row per document × code of the matching documents, streamed."""
    export.check_size(session, key, where, state.api.export_max_documents)
    rows = export.iter_rows(state.session_factory, key, where)
    return StreamingResponse(
        export.csv_chunks(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="fields.csv"'},
    )


@router.get("/fields.xlsx", response_class=FileResponse)
def export_xlsx(
    state: StateDep,
    session: SessionDep,
    key: ConsumerKey,
    where: FilterDep,
) -> FileResponse:
    """The same rows as the CSV export, as a spreadsheet."""
    export.check_size(session, key, where, state.api.export_max_documents)
    path = export.write_xlsx(export.iter_rows(state.session_factory, key, where))
    return FileResponse(
        path,
        media_type=_XLSX,
        filename="fields.xlsx",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
