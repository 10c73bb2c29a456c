"""`create_app(settings)`: the FastAPI app over `settings.index`, with the web page at `/`.

The app holds its Settings and SearcherHolder on `app.state` (routes reach them through `deps.py`);
routes live one module per resource in `routes/`; every error leaves through `errors.py`.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from index.errors import NewsdeskError
from search.api.deps import write_token
from search.api.errors import ERROR_RESPONSES, EXCEPTION_HANDLERS
from search.api.holder import SearcherHolder
from search.api.limits import BodyLimitMiddleware
from search.api.routes import alerts, articles, fallback, index, search, write
from search.settings import Settings

log = logging.getLogger("newsdesk.api")
WEB_DIR = Path(__file__).resolve().parents[2] / "web"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API app over `settings.index`, with the web page at `/`."""
    settings = settings or Settings()
    app = FastAPI(
        title="newsdesk",
        summary="Semantic search over news articles",
        version="0.1.0",
        lifespan=_lifespan,
        responses=ERROR_RESPONSES,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.settings = settings
    app.state.holder = SearcherHolder(settings)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:  # added last: outermost, so refusals carry CORS headers too
        writes = ["POST", "DELETE"] if write_token(settings) else []
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", *writes],
            allow_headers=["Authorization", "Content-Type"] if writes else [],
        )
    routers = _routers(settings)
    for router in [*routers, fallback.router(routers)]:  # the /api fallback last: it takes every /api path
        app.include_router(router)
    if WEB_DIR.is_dir():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app


def _routers(settings: Settings) -> list[APIRouter]:
    """The API's routers; the write routes (articles and alerts) only with a write token."""
    routers = [search.router(settings), articles.router(settings), index.router, alerts.router]
    if write_token(settings):
        routers += [write.router(settings), alerts.write_router(settings)]
    return routers


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    holder: SearcherHolder = app.state.holder
    try:
        holder.get()  # load the index and the encoder once, before the first request
    except NewsdeskError as exc:
        log.warning("starting without an index: %s", exc)
    yield
