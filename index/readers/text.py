"""Plain text files: scraped news pages, or a title on the first line and the body after it (BBC style).

A folder's files are read together because they usually come from one site, and the lines a site
repeats on most of its pages (menus, credits, footers) are chrome; see `index.scraped`.
"""

from __future__ import annotations

from collections.abc import Iterator

from index.model import Article, Skip
from index.readers import SourceFile, decode
from index.scraped import read_site


def read_text_files(files: list[SourceFile]) -> Iterator[Article | Skip]:
    """Read one folder's .txt files: headline, date, authors and body, with the site's chrome removed."""
    readable: list[tuple[SourceFile, str]] = []
    for source in files:
        text = decode(source)
        if isinstance(text, Skip):
            yield text
        else:
            readable.append((source, text))
    pages = read_site([text for _, text in readable])
    for (source, text), page in zip(readable, pages, strict=True):
        if not text.strip():
            yield Skip(source.name, "no text (only blank lines)")
        elif not page.title:
            yield Skip(source.name, "no article: every line is site chrome (menus, credits, ads, footer links)")
        elif not page.text:
            yield Skip(source.name, "no article text after the title line")
        else:
            yield Article(
                title=page.title, text=page.text, authors=page.authors, published=page.published, origin=source.name
            )
