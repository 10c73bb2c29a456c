"""The one error shape, and the one handler that turns every failure into it.

Every error leaves the API as {"error": {"status": 422, "type": "invalid_query", "message": "..."}}, built
by `error_response` alone (the body-limit middleware uses it too). A NewsdeskError names its own status
and type (`index/errors.py`); framework errors take theirs from the HTTP status.
"""

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from index.errors import NewsdeskError

log = logging.getLogger("newsdesk.api")

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


# The error statuses as the OpenAPI schema documents them: every route, and the write routes.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown article"},
    413: {"model": ErrorBody, "description": "Request body over max_body_bytes"},
    422: {"model": ErrorBody, "description": "Invalid request"},
    503: {"model": ErrorBody, "description": "No index (build one with `newsdesk index`)"},
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"model": ErrorBody, "description": "Malformed body (not UTF-8) or Content-Length"},
    401: {"model": ErrorBody, "description": "No `Authorization: Bearer <token>` header"},
    403: {"model": ErrorBody, "description": "Not the server's write token"},
    409: {"model": ErrorBody, "description": "Another build is writing the index; try again"},
    413: {"model": ErrorBody, "description": "Over max_body_bytes or max_article_chars"},
}


def error_response(status: int, kind: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The one error shape every failure is sent in."""
    return JSONResponse(
        status_code=status, content={"error": {"status": status, "type": kind, "message": message}}, headers=headers
    )


async def handle_error(_request: Request, exc: Exception) -> JSONResponse:
    """The app's only exception handler (registered for each class in `EXCEPTION_HANDLERS`)."""
    if isinstance(exc, NewsdeskError):
        return error_response(exc.status, exc.kind, str(exc))
    if isinstance(exc, RequestValidationError):
        return error_response(422, "invalid_request", _validation_message(exc))
    if isinstance(exc, HTTPException):  # its headers too: WWW-Authenticate on a 401, Allow on a 405
        kind = _HTTP_KINDS.get(exc.status_code, "http_error")
        return error_response(exc.status_code, kind, str(exc.detail), headers=exc.headers)
    log.error("unexpected error", exc_info=exc)  # the trace goes to the log, never to the client
    return error_response(500, "internal_error", "internal error; the server log has the details")


# `Exception` catches the rest as a 500 (Starlette runs that one outside the other handlers).
EXCEPTION_HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    cls: handle_error for cls in (NewsdeskError, RequestValidationError, HTTPException, Exception)
}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid"))
    return "; ".join(parts) or "invalid request"
