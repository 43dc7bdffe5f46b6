from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import text

from api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (liveness); no auth."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: StateDep) -> dict[str, str]:
    """The database answers and storage is writable (readiness); no auth."""
    try:
        with state.session_factory() as session:
            session.execute(text("SELECT 1"))
        state.store.ensure()
    except Exception as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"not ready: {exc}") from exc
    return {"status": "ok"}
