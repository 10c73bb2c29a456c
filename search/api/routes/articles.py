"""GET /api/articles/{id} and /api/articles/{id}/related: one article, and the articles nearest to it."""

from typing import Annotated

from fastapi import APIRouter

from search.api.deps import SearcherDep
from search.api.params import DateFrom, DateTo, QueryLimits, Sources, make_filters
from search.results import ArticleView, SearchResponse
from search.settings import Settings


def router(settings: Settings) -> APIRouter:
    """The article routes, the paging limits of `related` taken from `settings` (they are part of the schema)."""
    limits = QueryLimits.of(settings)
    routes = APIRouter(tags=["articles"])

    @routes.get("/api/articles/{article_id}", response_model=ArticleView)
    def article(searcher: SearcherDep, article_id: str) -> ArticleView:
        """One article with all its fields and its passages."""
        return searcher.article(article_id)

    @routes.get("/api/articles/{article_id}/related", response_model=SearchResponse)
    def related(
        searcher: SearcherDep,
        article_id: str,
        k: Annotated[int, limits.k] = 10,
        offset: Annotated[int, limits.offset] = 0,
        source: Sources = [],  # noqa: B006 (FastAPI copies defaults per request)
        date_from: DateFrom = None,
        date_to: DateTo = None,
    ) -> SearchResponse:
        """Articles nearest to this one, without itself and its copies of the same story."""
        return searcher.related(article_id, k=k, offset=offset, filters=make_filters(source, date_from, date_to))

    return routes
