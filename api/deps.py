"""Dependencies shared by the routes: the session, the caller's key, roles, storage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from api.config import ApiSettings
from api.services import keys
from docextract.settings import Settings
from models.db import ApiKey, Role
from worker.storage import ContentStore


@dataclass(frozen=True)
class AppState:
    """What `create_app` builds once and every request reads."""

    settings: Settings
    api: ApiSettings
    session_factory: sessionmaker
    store: ContentStore


def get_state(request: Request) -> AppState:
    return request.app.state.docextract


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """The request's session; the one place a request commits (jobs are sent after it)."""
    with state.session_factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Function scope: the commit happens when the route returns, before the response is sent,
# so a client that reads right after a 202 finds what it was told about.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="an API key from `docextract keys create`")


def get_current_key(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    key = keys.authenticate(session, credentials.credentials) if credentials else None
    if key is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key


CurrentKey = Annotated[ApiKey, Depends(get_current_key)]


def require_role(*roles: Role) -> Callable[[ApiKey], ApiKey]:
    """A dependency that lets through the given roles and `admin`, and refuses others (403)."""
    allowed = {role.value for role in roles} | {Role.admin.value}

    def check(key: CurrentKey) -> ApiKey:
        if key.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {key.role!r} may not do this")
        return key

    return check


AdminKey = Annotated[ApiKey, Depends(require_role())]
UploaderKey = Annotated[ApiKey, Depends(require_role(Role.uploader))]
ReaderKey = Annotated[ApiKey, Depends(require_role(Role.uploader, Role.consumer))]
ConsumerKey = Annotated[ApiKey, Depends(require_role(Role.consumer))]
ReviewerKey = Annotated[ApiKey, Depends(require_role(Role.reviewer))]
PageViewerKey = Annotated[ApiKey, Depends(require_role(Role.uploader, Role.consumer, Role.reviewer))]
