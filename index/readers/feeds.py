"""RSS and Atom feeds, read with feedparser: one article per entry.

An entry's text is its full content (``content:encoded`` in RSS, ``<content>`` in Atom) when it has
one, else its summary (``<description>``, ``<summary>``); the HTML in it becomes plain text with a
blank line between paragraphs. The feed's title is the source, unless an entry names the outlet it
came from (``<source>``, as aggregator feeds do).
"""

from __future__ import annotations

import calendar
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax import SAXParseException

import feedparser
from lxml import etree
from lxml.html import HtmlElement, fragment_fromstring

from index.model import Article, Skip
from index.normalize import clean_text, normalize_authors, normalize_date
from index.readers import SourceFile

# Elements that end a paragraph in feed HTML; `li`, `tr` and `br` only end a line.
_PARAGRAPH_TAGS = {"p", "div", "section", "article", "header", "footer", "aside", "blockquote", "pre"}
_PARAGRAPH_TAGS |= {"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "figure", "hr", "address"}
_LINE_TAGS = {"li", "tr", "dt", "dd", "br"}
_DROPPED_TAGS = {"script", "style", "noscript", "iframe", "object", "embed", "template"}
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.IGNORECASE)
_EMAIL = re.compile(r"[(<]?[^\s()<>]+@[^\s()<>]+[)>]?")
_PARAGRAPH, _LINE = "\x00P", "\x00L"  # break marks, resolved once the text is joined
_BREAKS = re.compile(r"(?:\s*\x00[PL])+\s*")
_SPACES = re.compile(r"\s+")


@dataclass(slots=True)
class ParsedFeed:
    """A feed's entries and what its channel says about all of them."""

    entries: list[dict]
    title: str
    authors: list[str]
    language: str | None
    damage: str | None = None  # the parser recovered these entries from a malformed feed: what it met


def parse_feed(data: bytes, name: str, base_url: str | None = None) -> ParsedFeed | Skip:
    """Parse feed bytes (never a URL: feedparser must not fetch); a Skip when no entry can be read.
    `base_url` resolves relative links, as the feed's own address would."""
    # A BytesIO, never the bytes themselves: feedparser treats a string as a URL or a file name if it can.
    headers = {"content-location": base_url} if base_url else None
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    if not parsed.entries:
        if parsed.bozo:
            return Skip(name, f"malformed feed: {_describe(parsed.get('bozo_exception'))}")
        if not parsed.version:
            return Skip(name, "not an RSS or Atom feed (no channel, feed or entries found)")
        return Skip(name, "feed has no entries")
    damage = None
    if isinstance(parsed.get("bozo_exception"), SAXParseException):
        damage = _describe(parsed.bozo_exception)
    feed = parsed.feed
    return ParsedFeed(
        entries=list(parsed.entries),
        title=_plain(feed.get("title", ""), feed.get("title_detail")),
        authors=_authors(feed),
        language=_language(feed.get("language")),
        damage=damage,
    )


def read_feed(source: SourceFile) -> Iterator[Article | Skip]:
    """Every entry of an RSS or Atom feed; a feed that cannot be parsed at all is one Skip."""
    parsed = parse_feed(source.data, source.name)
    if isinstance(parsed, Skip):
        yield parsed
        return
    if parsed.damage:
        # feedparser's lenient parser recovered these entries; say so, since some may be cut or missing.
        yield Skip(
            source.name,
            f"malformed feed: {parsed.damage}; {len(parsed.entries)} entries recovered, later ones may be missing",
        )
    for number, entry in enumerate(parsed.entries):
        yield entry_article(entry, f"{source.name}[{number}]", parsed.title, parsed.authors, parsed.language)


def entry_article(
    entry: dict, origin: str, feed_title: str, feed_authors: list[str], feed_language: str | None
) -> Article | Skip:
    """One feed entry as an Article, or a Skip naming the entry when it carries no text."""
    title = _plain(entry.get("title", ""), entry.get("title_detail"))
    text = ""
    detail = None
    for detail in [*entry.get("content", [])[:1], entry.get("summary_detail")]:
        if detail and detail.get("value"):
            text = _plain(detail["value"], detail, keep_paragraphs=True)
            if text:
                break
    if not text:
        name = title or entry.get("link") or entry.get("id") or "(untitled)"
        return Skip(origin, f"feed entry {name!r} has no text (neither content nor summary)")
    outlet = entry.get("source", {}).get("title")
    return Article(
        title=title or text.split("\n", 1)[0][:200],
        text=text,
        url=entry.get("link") or None,
        source=outlet or feed_title or None,
        authors=_authors(entry) or feed_authors,
        published=_published(entry),
        language=_language((detail or {}).get("language")) or feed_language,
        origin=origin,
    )


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: paragraphs separated by blank lines, list items by newlines."""
    if not fragment.strip():
        return ""
    try:
        root = fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_text(fragment)
    pieces: list[str] = []
    _walk(root, pieces)
    # Adjacent breaks merge: `</li><li>` is one line break, `</p> <p>` one blank line.
    text = _BREAKS.sub(lambda m: "\n\n" if _PARAGRAPH in m.group() else "\n", "".join(pieces))
    return clean_text(text)


def _walk(element: HtmlElement, pieces: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""  # comments have a function as tag
    if tag and tag not in _DROPPED_TAGS:
        mark = _PARAGRAPH if tag in _PARAGRAPH_TAGS else _LINE if tag in _LINE_TAGS else ""
        if tag in ("td", "th"):
            mark = " "  # cells of a row stay on its line
        pieces.append(mark)
        if element.text:
            pieces.append(_collapse(element.text))
        for child in element:
            _walk(child, pieces)
        pieces.append(mark)
    if element.tail:
        pieces.append(_collapse(element.tail))


def _collapse(text: str) -> str:
    # Whitespace in HTML source is not layout: line breaks come only from the elements.
    return _SPACES.sub(" ", text)


def _plain(value: str, detail: dict | None, keep_paragraphs: bool = False) -> str:
    """Text of a feed field, converted from HTML when feedparser says it is HTML."""
    is_html = detail is not None and detail.get("type") in _HTML_TYPES
    text = html_to_text(value) if is_html else clean_text(value)
    return text if keep_paragraphs else " ".join(text.split())


def _authors(node: dict) -> list[str]:
    """Author names of an entry or feed; RSS gives one string, often ``email (Name)``."""
    names = [author["name"] for author in node.get("authors", []) if author.get("name")]
    raw = node.get("author") or ""
    if len(names) <= 1 and "@" in raw:
        # Read the name ourselves: feedparser cuts addresses with long domains (".example") mid-name.
        names = [_EMAIL.sub("", raw).strip(" ()<>")]
    elif not names and raw:
        names = [raw]
    return normalize_authors([name for name in names if name])


def _published(entry: dict) -> str | None:
    for key in ("published", "updated", "created"):
        value = entry.get(key)
        if not value:
            continue
        try:
            return normalize_date(value)
        except ValueError:
            # feedparser reads date shapes dateutil does not (it keeps them as UTC structs).
            parsed = entry.get(f"{key}_parsed")
            if parsed:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()
    return None


def _language(value: str | None) -> str | None:
    match = _LANGUAGE.match((value or "").strip())
    return match.group(1).lower() if match else None


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, SAXParseException):
        return f"{exc.getMessage()} (line {exc.getLineNumber()}, column {exc.getColumnNumber()})"
    return str(exc) or type(exc).__name__
