"""Records that cross module lines on the indexing side.

Readers turn files into `Article`s (or `Skip`s); the chunker turns an article into `Passage`s;
the store persists both and reads them back (`StoredArticle`, ...); the retrievers return `Hits`.
Everything here is plain data: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np


@dataclass(slots=True)
class Article:
    """One news article as read from a source, before it is stored.

    `published` is ISO 8601 (``2026-01-23`` or ``2026-01-23T08:18:00`` or with an offset) or None.
    `id` and `content_hash` are filled in by `index.normalize.finalize`.
    """

    title: str
    text: str
    url: str | None = None
    source: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None
    language: str | None = None
    origin: str = ""  # file (and record) the article came from, for reports
    canonical_url: str | None = None
    id: str = ""
    content_hash: str = ""
    urls: list[str] = field(default_factory=list)  # every URL this text was seen under
    warnings: list[str] = field(default_factory=list)  # kept, but something in the record was unusable


@dataclass(slots=True, frozen=True)
class Skip:
    """A file or record that could not be used, and why. Shown in the build report."""

    path: str
    reason: str


@dataclass(slots=True, frozen=True)
class Passage:
    """A span of an article's text: ``article.text[start:end] == text``."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(slots=True, frozen=True)
class StoredArticle:
    """An article as the store holds it."""

    id: str
    url: str | None
    canonical_url: str | None
    title: str
    source: str | None
    authors: list[str]
    published: str | None
    language: str | None
    text: str
    content_hash: str
    story_id: str | None
    first_seen: str
    updated: str | None
    urls: list[str]


class PassageOwners(NamedTuple):
    """Every passage id (ascending) and, at the same position, the id of the article it belongs to."""

    passage_ids: np.ndarray
    article_ids: list[str]


class DateRange(NamedTuple):
    """The first and last publication day (YYYY-MM-DD) in the store; None when no article is dated."""

    first: str | None
    last: str | None


class TitledPassage(NamedTuple):
    """A passage with its article's title and link, and the hash of what the encoder saw for it."""

    id: int
    article_id: str
    url: str | None  # the article's URL, else the first URL it was seen under
    title: str
    text: str
    input_hash: str


class Hits(NamedTuple):
    """Passage ids (int64) and their scores, best first: cosines from the vector index, BM25 from the
    lexical one. Both retrievers return this, so their callers never guess the order of a tuple."""

    ids: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls, score_dtype: type = np.float32) -> Hits:
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=score_dtype))
