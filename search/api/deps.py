"""What routes ask for, as `Annotated` dependencies read from the app's state (set by `create_app`).

A route takes `searcher: SearcherDep` and gets the live Searcher for the length of the request; it
never sees how the searcher is opened, swapped to a new generation or released.
"""

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from search.api.holder import SearcherHolder
from search.searcher import Searcher
from search.settings import Settings

# The two getters are `async` only so FastAPI calls them on the event loop: a plain `def` dependency
# costs a hop to the thread pool on every request.


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> SearcherHolder:
    """The app's SearcherHolder, for routes that need the index directory rather than a searcher."""
    holder: SearcherHolder = request.app.state.holder
    return holder


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[SearcherHolder, Depends(get_holder)]


def get_searcher(holder: HolderDep) -> Iterator[Searcher]:
    """The current Searcher, held for the request so a newer generation cannot close it meanwhile."""
    searcher = holder.acquire()
    try:
        yield searcher
    finally:
        holder.release(searcher)


SearcherDep = Annotated[Searcher, Depends(get_searcher)]


def write_token(settings: Settings) -> str:
    """The server's write token, "" when writing is off (no token, or an empty one)."""
    return settings.write_token.get_secret_value() if settings.write_token else ""


_bearer = HTTPBearer(auto_error=False, scheme_name="write token", description="The server's NEWSDESK_WRITE_TOKEN.")


def require_write_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)], settings: SettingsDep
) -> None:
    """401 without `Authorization: Bearer <token>`, 403 with another token than the server's write token."""
    if credentials is None:
        raise HTTPException(
            401, "this route needs `Authorization: Bearer <token>`", headers={"WWW-Authenticate": "Bearer"}
        )
    token = write_token(settings)
    if not token or not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(403, "the bearer token is not this server's write token")
