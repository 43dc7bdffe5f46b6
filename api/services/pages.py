"""Page images for people: rendered on first request by the load stage and kept in storage.

They are rendered by `worker.pipeline.load`, the same code that feeds the pipeline, so the
`bbox` of every field is in this image's pixels. Rendering waits for a person to ask: the
workers' time goes to extraction.
"""

from __future__ import annotations

from pathlib import Path

import cv2
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.services.errors import Invalid, NotFound
from docextract.settings import LimitSettings
from models.db import Document, Page, insert_ignoring_conflicts
from worker.pipeline.errors import InputError
from worker.pipeline.load import open_document
from worker.storage import ContentStore


def list_pages(session: Session, document: Document) -> list[Page]:
    return list(session.scalars(select(Page).where(Page.document_id == document.id).order_by(Page.number)))


def page_image(session: Session, store: ContentStore, limits: LimitSettings, document: Document, number: int) -> Path:
    path = store.page_image_path(document.sha256, number)
    if path.is_file():
        return path
    import cv2

    try:
        with open_document(store.original_path(document.sha256), limits, document.filename) as opened:
            page = opened.page(number)
    except IndexError as exc:
        raise NotFound(f"page {number}") from exc
    except InputError as exc:
        raise Invalid(exc.reason) from exc
    ok, png = cv2.imencode(".png", page.image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:  # pragma: no cover - encoding a valid array does not fail
        raise RuntimeError("PNG encoding failed")
    store.write_atomic(path, png.tobytes())
    width, height = page.size
    insert_ignoring_conflicts(
        session, Page, [{"document_id": document.id, "number": number}], ["document_id", "number"]
    )
    session.execute(
        update(Page)
        .where(Page.document_id == document.id, Page.number == number)
        .values(width=width, height=height, dpi=page.dpi)
    )
    return path


def crop_png(
    session: Session,
    store: ContentStore,
    limits: LimitSettings,
    document: Document,
    number: int,
    box: tuple[float, float, float, float],
    what: str,
) -> bytes:
    """PNG of a box (x0, y0, x1, y1, page pixels; clipped to the page) of a page's image."""
    image = cv2.imread(str(page_image(session, store, limits, document, number)), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    left, right = max(0, int(x0)), min(width, int(x1 + 0.5))
    top, bottom = max(0, int(y0)), min(height, int(y1 + 0.5))
    if right <= left or bottom <= top:
        raise NotFound(f"{what} has an empty box")
    ok, png = cv2.imencode(".png", image[top:bottom, left:right])
    if not ok:  # pragma: no cover - encoding a valid array does not fail
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()
