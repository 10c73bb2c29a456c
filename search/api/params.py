"""Query parameters shared by the read routes: paging limits, source and date filters.

The limits come from Settings and belong in the OpenAPI schema (`maximum`, `maxLength`), which FastAPI
reads from a route's signature when the route is registered. So `QueryLimits.of(settings)` builds them per
app and a route factory uses them as metadata: `k: Annotated[int, limits.k] = 10`.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Query, params
from pydantic import BeforeValidator

from index.errors import InvalidQueryError
from search.moments import AS_OF_FORMS, WHEN_FORMS
from search.query import Recency, Sort
from search.searcher import Filters
from search.settings import Settings

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_day(value: object) -> object:
    """A date parameter's check before pydantic: a string must be YYYY-MM-DD (pydantic alone takes more)."""
    # Pydantic alone would also take "0.0" or "1700000000" as a Unix time; the schema promises YYYY-MM-DD.
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


Sources = Annotated[list[str], Query(description="Only these outlets (repeat the parameter).")]
AsOf = Annotated[
    str | None,
    Query(
        description=f"When the question is asked: {AS_OF_FORMS}. Default: now. When given, articles published "
        "after it are never returned (an article dated without a time counts from the start of its day; undated "
        "articles are kept); time words in the question and `when` are relative to it. Echoed as `as_of` (UTC).",
        examples=["2020-03-13", "2020-03-13T18:00:00Z"],
    ),
]
When = Annotated[
    str | None,
    Query(
        description=f"Only the window ending at `as_of`: {WHEN_FORMS}. When given, time words in the question "
        'are not read as dates. Echoed as `time_range` with origin "when".',
        examples=["24h", "7d", "30d"],
    ),
]
TimeWords = Annotated[
    bool,
    Query(
        description='Read time words in the question ("last week", "in March 2020", "since January") as '
        'a date range relative to `as_of`, echoed as `time_range` with origin "question"; false = ignore them. '
        'A range that ends before as_of\'s day ("in 2021", "last year") names when something happened, '
        "and coverage comes later: it restricts to articles from its start up to as_of.",
    ),
]
SortOrder = Annotated[
    Sort,
    Query(
        description="relevance: best answers first. newest: the articles that match the question, newest "
        "first — an article matches when a passage of it is close in meaning to the question (cosine ≥ 0.5) "
        "or it holds at least 60 % of the question's content words (title or text); undated ones last.",
    ),
]
RecencyPrior = Annotated[
    Recency,
    Query(
        description="How much newer articles are preferred, relative to `as_of`: off (relevance alone), mild, "
        "default or strong. Relevance is multiplied by (1 - s) + s × decay, the decay 1 within a day of as_of, "
        "falling linearly to 0.5 at 8 days and 0 at 15; s = 0.4, 0.7, 0.9. Chosen by cross-validation blocked by "
        "question date on questions_dev (default: held-out MRR@10 0.889, 0.732 without any time awareness).",
    ),
]
WithFacets = Annotated[
    bool,
    Query(
        description="Also count the matching articles (as for sort=newest): `facets.sources` per outlet, "
        "ignoring the outlet filter so other outlets stay in view; `facets.dates` per day, week or month "
        "(by the span) and `facets.undated`, ignoring `from`/`to` so the timeline keeps its shape; "
        "`facets.total` = the dates' counts plus the undated.",
    ),
]
DateFrom = Annotated[
    date | None, BeforeValidator(iso_day), Query(alias="from", description="Published on or after (YYYY-MM-DD).")
]
DateTo = Annotated[
    date | None, BeforeValidator(iso_day), Query(alias="to", description="Published on or before (YYYY-MM-DD).")
]


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """The `Query(...)` declarations bounded by this server's settings (max_query_chars, max_k, ...)."""

    q: params.Query
    k: params.Query
    offset: params.Query
    passages: params.Query

    @classmethod
    def of(cls, settings: Settings) -> "QueryLimits":
        return cls(
            q=Query(min_length=1, max_length=settings.max_query_chars, description="The question."),
            k=Query(ge=1, le=settings.max_k, description="Results per page."),
            offset=Query(ge=0, le=settings.max_offset, description="Results to skip."),
            passages=Query(ge=0, le=settings.max_passages, description="More passages."),
        )


def make_filters(source: list[str], date_from: date | None, date_to: date | None) -> Filters:
    """The searcher's Filters from the query parameters; 422 when `from` is after `to`."""
    if date_from and date_to and date_from > date_to:
        raise InvalidQueryError(f"from ({date_from}) is after to ({date_to})")
    return Filters(sources=tuple(s for s in source if s), date_from=date_from, date_to=date_to)
