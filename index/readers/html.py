"""HTML pages: the article body and its metadata, extracted with trafilatura.

trafilatura finds the main text and reads title, date (htmldate), authors and site name from
meta tags, JSON-LD and the page itself. Four things are done here instead:

- decoding, because trafilatura guesses the encoding from the bytes and ignores the page's own
  ``<meta charset>``; a declared charset is what the page's author meant;
- the canonical URL, because trafilatura prefers ``og:url`` over ``<link rel=canonical>`` and the
  canonical link is the one a site promises is stable;
- the language, which trafilatura only reports when it runs a language classifier; the page's
  ``<html lang>`` (or ``og:locale``) is what the publisher declared;
- the time of publication: htmldate reports a day, and a page's ``article:published_time`` or
  JSON-LD ``datePublished`` for that same day adds the time and offset.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import TypedDict
from urllib.parse import urljoin

from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.settings import Document
from trafilatura.utils import decode_file, load_html
from trafilatura.xml import xmltotxt

from index.model import Article, Skip
from index.normalize import clean_text, normalize_authors, normalize_date
from index.readers import SourceFile

NO_ARTICLE = "no article text found in HTML"
# Less text than this (non-space characters, so that it holds for Chinese or Japanese as for English),
# once the headline is set aside, is what trafilatura finds on a login form or a page of links.
# About 30 English words; the shortest body in the benchmark has 66 words.
MIN_ARTICLE_CHARS = 150


# Chosen by scripts/eval_extraction.py on the 181 benchmark pages (F1, 4-token shingles):
#   defaults 0.960 · favor_precision 0.964 · favor_recall 0.959 · no tables 0.957 ·
#   fast (no fallback extractors) 0.962, with favor_precision 0.946 · deduplicate 0.951.
# `deduplicate` would also drop a page's paragraphs because an earlier page in the same build
# had them (its cache lives for the whole process); duplicates are the dedupe stage's job.
class ExtractionOptions(TypedDict):
    favor_precision: bool
    include_comments: bool
    include_tables: bool
    include_images: bool
    include_links: bool
    deduplicate: bool


EXTRACTION_OPTIONS: ExtractionOptions = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "deduplicate": False,
}
# Extensive search guesses a date from copyright lines and link URLs: a login page "© 2025" became
# 2025-01-01. Without it, 2 of the 181 benchmark pages lose their (true) date; a wrong date is worse.
DATE_OPTIONS = {"original_date": True, "extensive_search": False}
_PUBLISHED_KEYS = {"article:published_time", "datepublished", "og:article:published_time", "dc.date.issued", "pubdate"}

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]+)*$", re.IGNORECASE)
# Per the WHATWG encoding standard, pages labelled Latin-1 or ASCII are decoded as windows-1252.
_WINDOWS_1252_LABELS = {"latin-1", "iso8859-1", "ascii"}
# A "utf-16" label read from ASCII bytes is wrong (no BOM, and the tag decoded as ASCII): treat as UTF-8.
_UTF8 = {"utf-8", "utf-16", "utf-16-le", "utf-16-be"}


def read_html(source: SourceFile) -> Iterator[Article | Skip]:
    """One article per page, or a Skip when the page has no article text (an index or login page)."""
    yield extract_article(decode_html(source.data), origin=source.name)


def decode_html(data: bytes) -> str:
    """Page text, honouring a byte-order mark, then the declared charset, then UTF-8, then a guess."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    declared = declared_charset(data)
    if declared and declared not in _UTF8:
        return data.decode(declared, errors="replace")
    # Undeclared or UTF-8: trafilatura tries strict UTF-8 first, then guesses from the bytes.
    return decode_file(data)


def declared_charset(data: bytes) -> str | None:
    """Python codec name of the charset a page declares in its first 4 KiB, or None."""
    head = data[:4096]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    return "cp1252" if name in _WINDOWS_1252_LABELS else name


def extract_article(html: str, origin: str) -> Article | Skip:
    """The article in a decoded page; `origin` names the page in the Article and in a Skip."""
    # An encoding declaration in a str makes lxml re-decode it; the text is already decoded.
    tree = load_html(_XML_DECLARATION.sub("", html, count=1))
    if tree is None:
        return Skip(origin, "not parseable as HTML")
    canonical = canonical_link(tree)
    language = declared_language(tree)
    timestamps = published_timestamps(tree)
    document = bare_extraction(tree, with_metadata=True, date_extraction_params=DATE_OPTIONS, **EXTRACTION_OPTIONS)
    # with_metadata and no as_dict: a Document, never the dict form.
    if not isinstance(document, Document) or document.body is None:
        return Skip(origin, NO_ARTICLE)
    title = " ".join((document.title or "").split())
    text = body_text(document.body)
    first, _, rest = text.partition("\n\n")
    if title and first.casefold() == title.casefold():
        text = rest  # the headline is the title, not the first paragraph
    if len("".join(text.split())) < MIN_ARTICLE_CHARS:
        return Skip(origin, NO_ARTICLE)
    published = _with_time(document.date, timestamps)
    return Article(
        title=title or text.split("\n", 1)[0][:200],
        text=text,
        url=canonical or document.url,
        source=document.sitename or document.hostname,
        authors=normalize_authors((document.author or "").split(";")),
        published=published,
        language=language,
        origin=origin,
    )


def body_text(body: HtmlElement) -> str:
    """Plain text of trafilatura's output tree: one paragraph per block, blank lines between."""
    paragraphs: list[str] = []

    def visit(element: HtmlElement) -> None:
        for child in element:
            if child.tag == "div" and len(child):
                # A wrapper left in the tree: its blocks are the paragraphs.
                paragraphs.append(child.text or "")
                visit(child)
                paragraphs.append(child.tail or "")
            else:
                paragraphs.append(xmltotxt(child, include_formatting=False))  # with its tail text

    visit(body)
    return clean_text("\n\n".join(p.strip() for p in paragraphs if p.strip()))


def published_timestamps(tree: HtmlElement) -> list[str]:
    """Publication times the page states in meta tags, ``<time itemprop>`` or JSON-LD, as ISO strings."""
    found: list[object] = []
    for meta in tree.iterfind(".//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _PUBLISHED_KEYS:
            found.append(meta.get("content"))
    found.extend(element.get("datetime") for element in tree.iterfind(".//*[@itemprop='datePublished']"))
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            found.extend(_json_ld_values(json.loads(script.text or ""), "datePublished"))
        except ValueError:
            continue  # broken JSON-LD is common; the meta tags may still say
    stamps = []
    for value in found:
        try:
            stamp = normalize_date(value)
        except ValueError:
            continue
        if stamp and "T" in stamp:
            stamps.append(stamp)
    return stamps


def _json_ld_values(node: object, key: str) -> Iterator[object]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from _json_ld_values(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _json_ld_values(item, key)


def _with_time(day: str | None, timestamps: list[str]) -> str | None:
    """htmldate's day, made precise by a stated timestamp of that same day when there is one.

    htmldate only reports days; a time stated for another day is a different event (an update).
    """
    if not day:
        return None
    return next((stamp for stamp in timestamps if stamp.startswith(day)), day)


def canonical_link(tree: HtmlElement) -> str | None:
    """``<link rel=canonical>`` (resolved against ``og:url`` when relative), else ``og:url``."""
    og_url = None
    for meta in tree.iterfind(".//meta[@content]"):
        if (meta.get("property") or meta.get("name") or "").lower() == "og:url":
            og_url = meta.get("content").strip() or None
            break
    for link in tree.iterfind(".//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            href = link.get("href").strip()
            if href.startswith("//"):
                return "https:" + href
            if href.startswith(("http://", "https://")):
                return href
            if href and og_url:
                try:
                    return urljoin(og_url, href)
                except ValueError:  # an og:url urljoin cannot parse ("http://[bad"): no canonical link
                    return None
    return og_url if og_url and og_url.startswith(("http://", "https://")) else None


def declared_language(tree: HtmlElement) -> str | None:
    """ISO 639 code the page declares (``<html lang>``, ``content-language``, ``og:locale``), or None."""
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for meta in tree.iterfind(".//meta[@content]"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language"):
            candidates.append(meta.get("content"))
    for value in candidates:
        match = _LANGUAGE.match((value or "").strip())
        if match:
            return match.group(1).lower()
    return None
