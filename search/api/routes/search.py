"""GET /api/search: articles answering a question, asked at a moment."""

from typing import Annotated

from fastapi import APIRouter

from search.api.deps import SearcherDep
from search.api.params import (
    AsOf,
    DateFrom,
    DateTo,
    QueryLimits,
    RecencyPrior,
    SortOrder,
    Sources,
    TimeWords,
    When,
    WithFacets,
    make_filters,
)
from search.query import DEFAULT_RECENCY, Mode
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
        mode: Mode = "hybrid",
        source: Sources = [],  # noqa: B006 (FastAPI copies defaults per request)
        date_from: DateFrom = None,
        date_to: DateTo = None,
        passages: Annotated[int, limits.passages] = 0,
        as_of: AsOf = None,
        when: When = None,
        sort: SortOrder = "relevance",
        recency: RecencyPrior = DEFAULT_RECENCY,
        time_words: TimeWords = True,
        facets: WithFacets = False,
    ) -> SearchResponse:
        """Articles answering a question, best first (or the matching ones newest first), each with the passage
        that answers it and a snippet of it.

        A question is asked at a moment, `as_of` (default now): with it set, nothing published later is
        returned. Time words in the question or `when` restrict the dates (echoed in `time_range`).
        `facets=true` adds counts of the matching articles per outlet and over time. Bad `as_of`, `when`,
        `sort` or `recency` values are answered 422 with the accepted forms."""
        filters = make_filters(source, date_from, date_to)
        return searcher.search(
            q,
            k=k,
            offset=offset,
            mode=mode,
            filters=filters,
            passages=passages,
            as_of=as_of,
            when=when,
            sort=sort,
            recency=recency,
            time_words=time_words,
            facets=facets,
        )

    return routes
