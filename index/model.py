"""Records that cross module lines on the indexing side.

Readers turn files into `Article`s (or `Skip`s); the chunker turns an article into `Passage`s;
the store persists both. Everything here is plain data: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
