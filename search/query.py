"""What a search may ask for: the retrieval modes, the filters, and the limits on a request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from index.errors import InvalidQueryError
from search.settings import Settings

# Every mode the searcher runs; the CLI's and the API's choices come from here (`Mode` for a type,
# e.g. a FastAPI query parameter; `MODES` for a list of choices).
Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = get_args(Mode)
# The orders a search can list its results in: by relevance, or the matching articles (search.matches)
# newest first.
Sort = Literal["relevance", "newest"]
SORTS: tuple[str, ...] = get_args(Sort)
# The strengths of the recency prior a request may ask for: search.recency's presets (chosen there by
# date-blocked cross-validation; tests/test_time_search.py checks the two lists agree).
Recency = Literal["off", "mild", "default", "strong"]
RECENCY_PRESETS: tuple[str, ...] = get_args(Recency)
DEFAULT_RECENCY: Recency = "default"


@dataclass(slots=True, frozen=True)
class Filters:
    """Restrictions applied inside retrieval, so a narrow filter still finds its few articles.
    Both dates are whole days (of `published` as written), included; an undated article is outside any
    date range. `until` (an aware datetime: the `as_of` a caller set) leaves out what was published after
    it and keeps undated articles; search.published says how a stored date compares with it."""

    sources: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    until: datetime | None = None

    @property
    def active(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to or self.until)

    @property
    def dated(self) -> bool:
        """Whether a date range applies (which leaves undated articles out)."""
        return bool(self.date_from or self.date_to)


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


def check_sort(sort: str) -> None:
    if sort not in SORTS:
        raise InvalidQueryError(f"unknown sort {sort!r}; choose from {', '.join(SORTS)}")


def check_recency(recency: str) -> None:
    if recency not in RECENCY_PRESETS:
        raise InvalidQueryError(f"unknown recency {recency!r}; choose from {', '.join(RECENCY_PRESETS)}")


def check_choices(mode: str, sort: str, recency: str) -> None:
    """Refuse a mode, sort or recency preset that does not exist, naming the ones that do."""
    check_mode(mode)
    check_sort(sort)
    check_recency(recency)
