"""Article URLs from the bytes of a sitemap (news sitemaps included), and the sitemaps a sitemap index lists.

The XML is parsed by lxml with entities left unresolved, no network access, no DTD loaded and the
huge-tree limits on; a sitemap that declares a DTD is refused outright (sitemaps have none, and
entity tricks live there). A gzip sitemap is decompressed with the same cap as a plain one, so a
gzip bomb stops at the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from lxml import etree

from index.readers import gunzip
from index.web.feeds import utc_stamp
from index.web.hosts import listed_link
from index.web.model import FetchFailure, ListedPage, Listing

_GZIP_MAGIC = b"\x1f\x8b"


def list_sitemap(body: bytes, sitemap_url: str, max_bytes: int) -> Listing | FetchFailure:
    """The pages of a urlset, or the child sitemaps of a sitemapindex; a failure names what is wrong."""
    if body.startswith(_GZIP_MAGIC):
        try:
            unpacked = gunzip(body, max_bytes)
        except OverflowError:
            reason = f"sitemap larger than {max_bytes:,} bytes once decompressed (stopped at the cap)"
            return FetchFailure(sitemap_url, "too_large", reason)
        except zlib.error as exc:
            return FetchFailure(sitemap_url, "malformed", f"not valid gzip ({exc})")
        if not unpacked.complete:
            return FetchFailure(sitemap_url, "malformed", "gzip sitemap cut off (compressed stream ends early)")
        body = unpacked.data
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        return FetchFailure(sitemap_url, "malformed", f"malformed sitemap XML: {exc}")
    if root is None:
        return FetchFailure(sitemap_url, "malformed", "empty sitemap")
    if root.getroottree().docinfo.internalDTD is not None:
        return FetchFailure(sitemap_url, "malformed", "sitemap declares a DTD (entities); refused")
    kind = etree.QName(root).localname
    if kind == "urlset":
        return _urlset(root, sitemap_url)
    if kind == "sitemapindex":
        return _index(root, sitemap_url)
    return FetchFailure(sitemap_url, "malformed", f"not a sitemap: the root element is <{kind}>, not <urlset>")


def _urlset(root: etree._Element, sitemap_url: str) -> Listing:
    listing = Listing()
    for entry, url in _located(root, "url", sitemap_url, listing):
        # news:publication_date is when the article appeared; lastmod, when it last changed: the later wins.
        stamps = [utc_stamp(_text(entry, "lastmod")), utc_stamp(_text(entry, "publication_date"))]
        listing.pages.append(ListedPage(url, max((s for s in stamps if s), default=None)))
    return listing


def _index(root: etree._Element, sitemap_url: str) -> Listing:
    listing = Listing()
    listing.sitemaps = [url for _, url in _located(root, "sitemap", sitemap_url, listing)]
    return listing


def _located(
    root: etree._Element, name: str, sitemap_url: str, listing: Listing
) -> Iterator[tuple[etree._Element, str]]:
    """Each <url> (or <sitemap>) with its absolute <loc>; one without a usable <loc> becomes a problem."""
    for number, entry in enumerate(_children(root, name)):
        loc = _text(entry, "loc")
        url, problem = listed_link(sitemap_url, loc) if loc else ("", "no <loc>")
        if problem:
            listing.problems.append(f"<{name}> {number}: {problem}")
        else:
            yield entry, url


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    """Child elements by local name: sitemaps come with and without their namespace."""
    return [child for child in element if isinstance(child.tag, str) and etree.QName(child).localname == name]


def _text(element: etree._Element, name: str) -> str | None:
    """Text of the first descendant called `name` (news:publication_date sits inside news:news)."""
    for child in element.iter():
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip() or None
    return None
