"""The HTTP API (FastAPI). Build it with `create_app(settings)`; the index is opened at startup.

Every error leaves as one JSON shape: {"error": {"status": 422, "type": "invalid_query", "message": "..."}}.
"""

import logging
import re
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.errors import (
    ArticleNotFoundError,
    EncoderMismatchError,
    IndexBusyError,
    IndexFormatError,
    IndexMissingError,
    InvalidQueryError,
    LimitExceededError,
    NewsdeskError,
)
from search.deps import SearcherHolder
from search.limits import BodyLimitMiddleware
from search.results import ArticleView, SearchResponse, Stats
from search.searcher import Filters, Searcher
from search.settings import Settings
from search.write_api import add_write_routes

log = logging.getLogger("newsdesk.api")
WEB_DIR = Path(__file__).resolve().parents[1] / "web"

_ERROR_STATUS: list[tuple[type[NewsdeskError], int, str]] = [
    (IndexMissingError, 503, "no_index"),
    (IndexFormatError, 503, "index_unreadable"),
    (EncoderMismatchError, 503, "encoder_mismatch"),
    (ArticleNotFoundError, 404, "not_found"),
    (InvalidQueryError, 422, "invalid_query"),
    (LimitExceededError, 413, "too_large"),
    (IndexBusyError, 409, "busy"),
]
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_HTTP_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


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


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape every failure is sent in."""
    return JSONResponse(
        status_code=status, content={"error": {"status": status, "type": kind, "message": message}}, headers=headers
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid"))
    return "; ".join(parts) or "invalid request"


ERROR_RESPONSES = {
    404: {"model": ErrorBody, "description": "Unknown article"},
    413: {"model": ErrorBody, "description": "Request body over max_body_bytes"},
    422: {"model": ErrorBody, "description": "Invalid request"},
    503: {"model": ErrorBody, "description": "No index (build one with `newsdesk index`)"},
}
WRITE_RESPONSES = {
    **ERROR_RESPONSES,
    400: {"model": ErrorBody, "description": "Malformed body (not UTF-8) or Content-Length"},
    401: {"model": ErrorBody, "description": "No `Authorization: Bearer <token>` header"},
    403: {"model": ErrorBody, "description": "Not the server's write token"},
    409: {"model": ErrorBody, "description": "Another build is writing the index; try again"},
    413: {"model": ErrorBody, "description": "Over max_body_bytes or max_article_chars"},
}


def _iso_day(value: object) -> object:
    # Pydantic alone would also take "0.0" or "1700000000" as a Unix time; the schema promises YYYY-MM-DD.
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


def _allowed_methods(app: FastAPI, path: str) -> str:
    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, APIRoute) and route.include_in_schema and route.path_regex.match(path):
            methods |= route.methods or set()
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


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
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:  # added last: outermost, so refusals carry CORS headers too
        writes = ["POST", "DELETE"] if settings.write_token else []
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", *writes],
            allow_headers=["Authorization", "Content-Type"] if writes else [],
        )

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
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _HTTP_KINDS.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names only the first route of the path; GET and DELETE are two
            headers = {**(headers or {}), "Allow": _allowed_methods(app, request.url.path)}
        return error_response(exc.status_code, kind, str(exc.detail), headers=headers)

    @app.exception_handler(Exception)
    async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")  # the trace goes to the log, never to the client
        return error_response(500, "internal_error", "internal error; the server log has the details")

    def get_searcher() -> Iterator[Searcher]:
        searcher = holder.acquire()
        try:
            yield searcher
        finally:
            holder.release(searcher)

    searcher_dep = Annotated[Searcher, Depends(get_searcher)]
    k_param = Annotated[int, Query(ge=1, le=settings.max_k, description="Results per page.")]
    offset_param = Annotated[int, Query(ge=0, le=settings.max_offset, description="Results to skip.")]
    source_param = Annotated[list[str], Query(description="Only these outlets (repeat the parameter).")]
    from_param = Annotated[
        date | None, BeforeValidator(_iso_day), Query(alias="from", description="Published on or after (YYYY-MM-DD).")
    ]
    to_param = Annotated[
        date | None, BeforeValidator(_iso_day), Query(alias="to", description="Published on or before (YYYY-MM-DD).")
    ]

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

    add_write_routes(app, settings, holder, WRITE_RESPONSES)

    @app.api_route("/api/{rest:path}", methods=list(_ALL_METHODS), include_in_schema=False)
    def api_fallback(request: Request, rest: str) -> None:
        """Under /api, an unknown path is a 404 and a known path's other methods a 405 (with Allow),
        rather than falling through to the page's static files."""
        allowed = _allowed_methods(app, request.url.path)
        if allowed:
            raise StarletteHTTPException(405, f"{request.method} is not allowed here; allowed: {allowed}")
        raise StarletteHTTPException(404, f"no API route {request.url.path}")

    if WEB_DIR.is_dir():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app
