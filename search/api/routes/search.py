"""GET /api/search: articles answering a question."""

from typing import Annotated, Literal

from fastapi import APIRouter

from search.api.deps import SearcherDep
from search.api.params import DateFrom, DateTo, QueryLimits, Sources, make_filters
from search.results import SearchResponse
from search.settings import Settings


def router(settings: Settings) -> APIRouter:
    """The search route, its parameter limits taken from `settings` (they are part of the schema)."""
    limits = QueryLimits.of(settings)
    routes = APIRouter(tags=["search"])

    @routes.get("/api/search", response_model=SearchResponse)
    def search(
        searcher: SearcherDep,
        q: Annotated[str, limits.q],
        k: Annotated[int, limits.k] = 10,
        offset: Annotated[int, limits.offset] = 0,
        mode: Literal["hybrid", "dense", "lexical"] = "hybrid",
        source: Sources = [],  # noqa: B006 (FastAPI copies defaults per request)
        date_from: DateFrom = None,
        date_to: DateTo = None,
        passages: Annotated[int, limits.passages] = 0,
    ) -> SearchResponse:
        """Articles answering a question, best first, with the passage that answers it."""
        filters = make_filters(source, date_from, date_to)
        return searcher.search(q, k=k, offset=offset, mode=mode, filters=filters, passages=passages)

    return routes
