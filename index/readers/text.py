"""Plain text files: the title on the first line, the body after it (BBC style)."""

from __future__ import annotations

from collections.abc import Iterator

from index.model import Article, Skip
from index.readers import SourceFile, decode


def read_text_files(files: list[SourceFile]) -> Iterator[Article | Skip]:
    """Read a folder's .txt files. (Scraped-page cleaning is added in index/scraped.py.)"""
    for source in files:
        text = decode(source)
        if isinstance(text, Skip):
            yield text
            continue
        lines = text.strip().split("\n", 1)
        title = lines[0].strip()
        body = lines[1].strip() if len(lines) > 1 else ""
        if not body:
            yield Skip(source.name, "no article text after the title line")
            continue
        yield Article(title=title, text=body, origin=source.name)
