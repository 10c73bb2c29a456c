"""Typed results returned by the searcher (and serialized as-is by the CLI and the API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class SearchResponse:
    query: str
    mode: str
    offset: int
    k: int
    results: list[SearchResult]
    has_more: bool = False

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
