"""HTML pages (placeholder until the trafilatura extractor lands)."""

from __future__ import annotations

from collections.abc import Iterator

from index.model import Article, Skip
from index.readers import SourceFile


def read_html(source: SourceFile) -> Iterator[Article | Skip]:
    yield Skip(source.name, "HTML extraction not available yet")
