"""Typed results returned by the searcher (and serialized as-is by the CLI and the API), and how
they are made from stored articles and passages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Literal

from index.model import Passage, StoredArticle
from search.facets import Facets
from search.snippets import snippet


@dataclass(slots=True)
class PassageHit:
    """A passage of an article, where it sits in the article text, and the query words in it."""

    text: str
    start: int
    end: int
    highlights: list[tuple[int, int]] = field(default_factory=list)  # ranges in `text`
    score: float = 0.0


@dataclass(slots=True)
class OtherCopy:
    """Another outlet's article of the same story, folded into a result."""

    id: str
    title: str
    url: str | None
    source: str | None
    published: str | None


@dataclass(slots=True)
class SearchResult:
    id: str
    title: str
    url: str | None
    source: str | None
    published: str | None
    authors: list[str]
    passage: str
    passage_start: int
    passage_end: int
    highlights: list[tuple[int, int]]
    score: float
    story_id: str | None = None
    also: list[OtherCopy] = field(default_factory=list)
    more_passages: list[PassageHit] = field(default_factory=list)
    # The sentences of the passage that match best, about 300 characters (search.snippets), and the query
    # words in it; `passage` and `highlights` stay, for the whole passage on demand.
    snippet: str = ""
    snippet_highlights: list[tuple[int, int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class AppliedRange:
    """The calendar days a search was restricted to (inclusive, YYYY-MM-DD; None = open), from the
    question's time words or from `when`, with the exact words it came from and a short label for a chip."""

    start: str | None
    end: str | None
    words: str
    label: str
    origin: Literal["question", "when"]

    @property
    def first_day(self) -> date | None:
        return date.fromisoformat(self.start) if self.start else None

    @property
    def last_day(self) -> date | None:
        return date.fromisoformat(self.end) if self.end else None


@dataclass(slots=True)
class SearchResponse:
    query: str
    mode: str
    offset: int
    k: int
    results: list[SearchResult]
    has_more: bool = False
    as_of: str | None = None  # the moment the search was asked at, ISO 8601 in UTC
    sort: str = "relevance"
    recency: str = "off"
    time_range: AppliedRange | None = None
    facets: Facets | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class ArticleView:
    """One article with all its fields and passages."""

    id: str
    title: str
    url: str | None
    urls: list[str]
    source: str | None
    published: str | None
    authors: list[str]
    language: str | None
    text: str
    story_id: str | None
    first_seen: str
    updated: str | None
    passages: list[PassageHit]
    also: list[OtherCopy] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Stats:
    articles: int
    passages: int
    stories: int
    sources: dict[str, int]
    date_from: str | None
    date_to: str | None
    encoder: dict
    generation: int
    built: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def search_result(
    article: StoredArticle,
    top: Passage,
    score: float,
    copies: list[StoredArticle],
    highlights: list[tuple[int, int]],
    more: list[PassageHit],
) -> SearchResult:
    """A result: the article, its best passage and the snippet of it, and the other outlets' copies
    folded into it."""
    shown = snippet(top.text, highlights)
    return SearchResult(
        id=article.id,
        title=article.title,
        url=link(article),
        source=article.source,
        published=article.published,
        authors=article.authors,
        passage=top.text,
        passage_start=top.start,
        passage_end=top.end,
        highlights=highlights,
        score=round(float(score), 6),
        story_id=article.story_id,
        also=[other_copy(c) for c in copies],
        more_passages=more,
        snippet=shown.text,
        snippet_highlights=shown.highlights,
    )


def article_view(article: StoredArticle, passages: list[Passage], copies: list[StoredArticle]) -> ArticleView:
    """One article with all its fields, its passages and the other outlets' copies of its story."""
    return ArticleView(
        id=article.id,
        title=article.title,
        url=link(article),
        urls=article.urls,
        source=article.source,
        published=article.published,
        authors=article.authors,
        language=article.language,
        text=article.text,
        story_id=article.story_id,
        first_seen=article.first_seen,
        updated=article.updated,
        passages=[PassageHit(p.text, p.start, p.end) for p in passages],
        also=[other_copy(c) for c in copies],
    )


def link(article: StoredArticle) -> str | None:
    """The source link shown to users: the URL the article was published under."""
    return article.url or (article.urls[0] if article.urls else None)


def other_copy(article: StoredArticle) -> OtherCopy:
    return OtherCopy(
        id=article.id, title=article.title, url=link(article), source=article.source, published=article.published
    )
