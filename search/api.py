"""The HTTP API (FastAPI). Build it with `create_app(settings)`; the index is opened at startup.

Every error leaves as one JSON shape: {"error": {"status": 422, "type": "invalid_query", "message": "..."}}.
"""


import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.errors import (
    ArticleNotFoundError,
    EncoderMismatchError,
    IndexFormatError,
    IndexMissingError,
    InvalidQueryError,
    NewsdeskError,
)
from search.deps import SearcherHolder
from search.results import ArticleView, SearchResponse, Stats
from search.searcher import Filters, Searcher
from search.settings import Settings

log = logging.getLogger("newsdesk.api")
WEB_DIR = Path(__file__).resolve().parents[1] / "web"

_ERROR_STATUS: list[tuple[type[NewsdeskError], int, str]] = [
    (IndexMissingError, 503, "no_index"),
    (IndexFormatError, 503, "index_unreadable"),
    (EncoderMismatchError, 503, "encoder_mismatch"),
    (ArticleNotFoundError, 404, "not_found"),
    (InvalidQueryError, 422, "invalid_query"),
]


@dataclass(slots=True)
class ErrorDetail:
    status: int
    type: str
    message: str


@dataclass(slots=True)
class ErrorBody:
    error: ErrorDetail


@dataclass(slots=True)
class Health:
    status: str
    generation: int
    articles: int


def error_response(status: int, kind: str, message: str) -> JSONResponse:
    """The one error shape every failure is sent in."""
    return JSONResponse(status_code=status, content={"error": {"status": status, "type": kind, "message": message}})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid"))
    return "; ".join(parts) or "invalid request"


ERROR_RESPONSES = {
    404: {"model": ErrorBody, "description": "Unknown article"},
    422: {"model": ErrorBody, "description": "Invalid request"},
    503: {"model": ErrorBody, "description": "No index (build one with `newsdesk index`)"},
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API app over `settings.index`, with the web page at `/`."""
    settings = settings or Settings()
    holder = SearcherHolder(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        try:
            holder.get()  # load the index and the encoder once, before the first request
        except NewsdeskError as exc:
            log.warning("starting without an index: %s", exc)
        yield

    app = FastAPI(
        title="newsdesk",
        summary="Semantic search over news articles",
        version="0.1.0",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"])

    @app.exception_handler(NewsdeskError)
    async def newsdesk_error(_request: Request, exc: NewsdeskError) -> JSONResponse:
        for kind, status, name in _ERROR_STATUS:
            if isinstance(exc, kind):
                return error_response(status, name, str(exc))
        return error_response(400, "bad_request", str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")  # the trace goes to the log, never to the client
        return error_response(500, "internal_error", "internal error; the server log has the details")

    def get_searcher() -> Searcher:
        return holder.get()

    searcher_dep = Annotated[Searcher, Depends(get_searcher)]
    k_param = Annotated[int, Query(ge=1, le=settings.max_k, description="Results per page.")]
    offset_param = Annotated[int, Query(ge=0, le=settings.max_offset, description="Results to skip.")]
    source_param = Annotated[list[str], Query(description="Only these outlets (repeat the parameter).")]
    from_param = Annotated[date | None, Query(alias="from", description="Published on or after (YYYY-MM-DD).")]
    to_param = Annotated[date | None, Query(alias="to", description="Published on or before (YYYY-MM-DD).")]

    def make_filters(source: list[str], date_from: date | None, date_to: date | None) -> Filters:
        if date_from and date_to and date_from > date_to:
            raise InvalidQueryError(f"from ({date_from}) is after to ({date_to})")
        return Filters(sources=tuple(s for s in source if s), date_from=date_from, date_to=date_to)

    @app.get("/api/search", response_model=SearchResponse, tags=["search"])
    def search(
        searcher: searcher_dep,
        q: Annotated[str, Query(min_length=1, max_length=settings.max_query_chars, description="The question.")],
        k: k_param = 10,
        offset: offset_param = 0,
        mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
        source: source_param = [],  # noqa: B006 (FastAPI copies defaults per request)
        date_from: from_param = None,
        date_to: to_param = None,
        passages: Annotated[int, Query(ge=0, le=settings.max_passages, description="More passages.")] = 0,
    ) -> SearchResponse:
        """Articles answering a question, best first, with the passage that answers it."""
        filters = make_filters(source, date_from, date_to)
        return searcher.search(q, k=k, offset=offset, mode=mode, filters=filters, passages=passages)

    @app.get("/api/articles/{article_id}", response_model=ArticleView, tags=["articles"])
    def article(searcher: searcher_dep, article_id: str) -> ArticleView:
        """One article with all its fields and its passages."""
        return searcher.article(article_id)

    @app.get("/api/articles/{article_id}/related", response_model=SearchResponse, tags=["articles"])
    def related(
        searcher: searcher_dep,
        article_id: str,
        k: k_param = 10,
        offset: offset_param = 0,
        source: source_param = [],  # noqa: B006
        date_from: from_param = None,
        date_to: to_param = None,
    ) -> SearchResponse:
        """Articles nearest to this one, without itself and its copies of the same story."""
        return searcher.related(article_id, k=k, offset=offset, filters=make_filters(source, date_from, date_to))

    @app.get("/api/stats", response_model=Stats, tags=["index"])
    def stats(searcher: searcher_dep) -> Stats:
        """Articles, passages, sources with counts, date range and encoder of the live index."""
        return searcher.stats()

    @app.get("/api/health", response_model=Health, tags=["index"])
    def health(searcher: searcher_dep) -> Health:
        """200 when an index is loaded and readable; 503 otherwise."""
        counts = searcher.store.counts()
        return Health(status="ok", generation=searcher.generation.number, articles=counts["articles"])

    if WEB_DIR.is_dir():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app
