"""RSS and Atom feeds (placeholder until the feedparser reader lands)."""

from __future__ import annotations

from collections.abc import Iterator

from index.model import Article, Skip
from index.readers import SourceFile


def read_feed(source: SourceFile) -> Iterator[Article | Skip]:
    yield Skip(source.name, "feed reading not available yet")
