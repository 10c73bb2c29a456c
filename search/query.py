"""What a search may ask for: the retrieval modes, the filters, and the limits on a request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from index.errors import InvalidQueryError
from search.settings import Settings

# Every mode the searcher runs; the CLI's and the API's choices come from here (`Mode` for a type,
# e.g. a FastAPI query parameter; `MODES` for a list of choices).
Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = get_args(Mode)


@dataclass(slots=True, frozen=True)
class Filters:
    """Restrictions applied inside retrieval, so a narrow filter still finds its few articles.
    Both dates are whole days, included; an undated article is outside any date range."""

    sources: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to)


def clean_query(query: str, limits: Settings) -> str:
    """The query with its whitespace collapsed; an empty or over-long one is refused."""
    query = " ".join((query or "").split())
    if not query:
        raise InvalidQueryError("the query is empty; type a few words")
    if len(query) > limits.max_query_chars:
        raise InvalidQueryError(f"the query is {len(query)} characters; the limit is {limits.max_query_chars}")
    return query


def check_page(k: int, offset: int, passages: int, limits: Settings) -> None:
    """Refuse a page size, offset or passage count outside the limits."""
    if not 1 <= k <= limits.max_k:
        raise InvalidQueryError(f"k must be between 1 and {limits.max_k}")
    if not 0 <= offset <= limits.max_offset:
        raise InvalidQueryError(f"offset must be between 0 and {limits.max_offset}")
    if not 0 <= passages <= limits.max_passages:
        raise InvalidQueryError(f"passages must be between 0 and {limits.max_passages}")


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InvalidQueryError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
