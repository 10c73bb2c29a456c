"""Everything else under /api: 404 for an unknown path, 405 (with Allow) for a known path's other methods.

Included last, so it only sees what no other route took; without it such requests would fall through
to the page's static files.
"""

from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def router(api_routers: Sequence[APIRouter]) -> APIRouter:
    """The fallback for the paths of `api_routers`, which it names in a 405's Allow header."""
    routes = [route for r in api_routers for route in r.routes if isinstance(route, APIRoute)]
    fallback = APIRouter()

    @fallback.api_route("/api/{rest:path}", methods=_ALL_METHODS, include_in_schema=False)
    def api_fallback(request: Request, rest: str) -> None:
        """Under /api, an unknown path is a 404 and a known path's other methods a 405 (with Allow)."""
        allowed = allowed_methods(routes, request.url.path)
        if allowed:
            message = f"{request.method} is not allowed here; allowed: {allowed}"
            raise HTTPException(405, message, headers={"Allow": allowed})
        raise HTTPException(404, f"no API route {request.url.path}")

    return fallback


def allowed_methods(routes: Sequence[APIRoute], path: str) -> str:
    """The methods `routes` accept on `path`, as an Allow header lists them ("" when none match)."""
    methods: set[str] = set()
    for route in routes:
        if route.include_in_schema and route.path_regex.match(path):
            methods |= route.methods or set()
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))
