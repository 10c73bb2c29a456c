"""The request body limit: 413 in the one error shape, before the app reads more than the limit.

A declared Content-Length over the limit is refused before anything is read; a body without one
(chunked) is counted as it streams and refused as soon as it crosses the limit.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search.api.errors import error_response


class BodyTooLarge(HTTPException):
    """Raised from `receive` while the app reads the body; FastAPI passes HTTPExceptions through to
    the app's handler, which answers in the one error shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"request body is larger than the limit of {limit:,} bytes (max_body_bytes, NEWSDESK_MAX_BODY_BYTES)"


class BodyLimitMiddleware:
    """Refuses a request body over `max_bytes` with a 413 (a malformed Content-Length with a 400)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await error_response(400, "bad_request", f"invalid Content-Length {declared!r}")(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await error_response(413, "too_large", too_large_message(self.max_bytes))(scope, receive, send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await error_response(413, "too_large", too_large_message(self.max_bytes))(scope, receive, send)
