"""Fetched pages into Articles, with `index.readers.html` (trafilatura) as for HTML files; and the
feed's own entry as the article when the page cannot be had, marked as such.

A page's own metadata wins (title, date, authors, canonical URL), and what it lacks comes from the
feed entry that listed it. `outlet` from sources.toml, when set, names the source of every article.
"""

from __future__ import annotations

from dataclasses import replace

from index.model import Article, Skip
from index.normalize import finalize
from index.readers.html import decode_html, extract_article
from index.web.model import Fetched, ListedPage

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})  # "": no Content-Type, try it as HTML
SUMMARY_ONLY = "feed summary only, not the page's full text"


def page_article(fetched: Fetched, listed: ListedPage, outlet: str | None) -> Article | Skip:
    """The article in a fetched page, or a Skip saying why there is none (not HTML, no article text)."""
    if fetched.content_type not in HTML_TYPES:
        return Skip(listed.url, f"not an HTML page ({fetched.content_type}) at {fetched.final_url}")
    found = extract_article(decode_html(fetched.body), origin=listed.url)
    if isinstance(found, Skip):
        return found
    found.url = found.url or fetched.final_url
    found.urls = list(dict.fromkeys([found.url, fetched.final_url, listed.url]))
    entry = listed.fallback
    if entry is not None:
        found.published = found.published or entry.published
        found.authors = found.authors or list(entry.authors)
        found.language = found.language or entry.language
    found.source = outlet or found.source or (entry.source if entry else None)
    return found


def summary_article(listed: ListedPage, why: str, outlet: str | None) -> Article | None:
    """The feed entry as the article, with a warning that says it is only the summary and why; None
    when the listing had no entry text (sitemaps never do)."""
    entry = listed.fallback
    if entry is None:
        return None
    return replace(
        entry,
        source=outlet or entry.source,
        authors=list(entry.authors),
        urls=[listed.url],
        warnings=[*entry.warnings, f"{SUMMARY_ONLY}: {why}"],
    )


def superseded_summary(listed: ListedPage, full: Article, outlet: str | None) -> str | None:
    """The id the feed's summary of this page is (or would be) stored under, when the page's full text gets
    another one (the page's canonical URL is not the feed's link); None when they share it, or without a
    summary."""
    summary = summary_article(listed, "", outlet)
    if summary is None:
        return None
    stale = _identity(summary)
    return stale if stale != _identity(full) else None


def _identity(article: Article) -> str:
    """The id the index will give `article`, computed on a copy (finalize fills in the one it is given)."""
    copy = replace(article, authors=list(article.authors), urls=list(article.urls), warnings=list(article.warnings))
    return finalize(copy).id
