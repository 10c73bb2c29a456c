"""Article URLs from the bytes of an RSS or Atom feed, each with the feed's own entry as a fallback.

The bytes were fetched by `index.web.fetcher`; feedparser only parses them (it is handed a BytesIO,
never a URL, so it never fetches). Parsing is `index.readers.feeds`', which also reads feed files: an
entry becomes the same Article either way, here kept as the fallback for when its page cannot be had.
"""

from __future__ import annotations

from datetime import UTC, datetime

from index.model import Article, Skip
from index.normalize import normalize_date
from index.readers.feeds import entry_article, parse_feed
from index.web.hosts import listed_link
from index.web.model import FetchFailure, ListedPage, Listing


def list_feed(body: bytes, feed_url: str) -> Listing | FetchFailure:
    """The pages a feed lists, newest stamp kept per URL; a feed that cannot be parsed is a failure."""
    parsed = parse_feed(body, feed_url, base_url=feed_url)
    if isinstance(parsed, Skip):
        return FetchFailure(feed_url, "malformed", parsed.reason)
    listing = Listing()
    if parsed.damage:
        listing.problems.append(
            f"malformed feed: {parsed.damage}; {len(parsed.entries)} entries recovered, later ones may be missing"
        )
    for number, entry in enumerate(parsed.entries):
        link = entry.get("link") or ""
        url, problem = listed_link(feed_url, link) if link else ("", "no link")
        if problem:
            listing.problems.append(f"entry {number} ({entry.get('title', '(untitled)')!r}): {problem}")
            continue
        fallback = entry_article(entry, url, parsed.title, parsed.authors, parsed.language)
        # dict.get: feedparser's own `get("updated")` falls back to `published`, with a warning.
        stamp = utc_stamp(dict.get(entry, "updated") or dict.get(entry, "published"))
        listing.pages.append(ListedPage(url, stamp, fallback if isinstance(fallback, Article) else None))
    return listing


def utc_stamp(value: object) -> str | None:
    """A listing's date as ISO 8601 in UTC (so stamps compare as text); a date alone is its midnight UTC."""
    try:
        text = normalize_date(value)
    except ValueError:
        return None
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
