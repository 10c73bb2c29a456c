"""Feed and sitemap bytes into the article URLs they list (no network here: parsing only)."""

from __future__ import annotations

import gzip

from index.web.feeds import list_feed, utc_stamp
from index.web.model import FetchFailure, Listing
from index.web.sitemaps import list_sitemap

SITEMAP = "https://news.example/sitemap.xml"
FEED = "https://news.example/rss.xml"
CAP = 1_000_000


def test_a_news_sitemap_gives_absolute_urls_with_their_latest_stamp():
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>/2026/03/02/tram.html#top</loc><lastmod>2026-03-01</lastmod>
    <news:news><news:publication_date>2026-03-02T10:00:00+01:00</news:publication_date></news:news></url>
  <url><loc>ftp://news.example/file</loc></url>
  <url><lastmod>2026-03-01</lastmod></url>
</urlset>"""

    listing = list_sitemap(body, SITEMAP, CAP)

    assert isinstance(listing, Listing)
    [page] = listing.pages
    assert (page.url, page.updated) == ("https://news.example/2026/03/02/tram.html", "2026-03-02T09:00:00+00:00")
    assert listing.problems == ["<url> 1: only http and https are fetched, not ftp:", "<url> 2: no <loc>"]


def test_xml_with_entities_is_refused_without_expanding_them():
    laughs = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<urlset><url><loc>https://news.example/&lol3;</loc></url></urlset>"""
    external = b"""<?xml version="1.0"?><!DOCTYPE u [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<urlset><url><loc>https://news.example/&e;</loc></url></urlset>"""

    for body in (laughs, external):
        result = list_sitemap(body, SITEMAP, CAP)
        assert isinstance(result, FetchFailure) and result.kind == "malformed"
        assert "DTD" in result.reason


def test_a_gzip_sitemap_is_read_and_an_html_page_is_not_a_sitemap():
    body = gzip.compress(b"<sitemapindex><sitemap><loc>/sitemaps/1.xml</loc></sitemap></sitemapindex>")

    listing = list_sitemap(body, SITEMAP, CAP)
    not_one = list_sitemap(b"<html><body>Welcome</body></html>", SITEMAP, CAP)

    assert isinstance(listing, Listing) and listing.sitemaps == ["https://news.example/sitemaps/1.xml"]
    assert isinstance(not_one, FetchFailure) and "root element is <html>" in not_one.reason


def test_feed_entries_give_their_links_stamps_and_summaries():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbor Times</title>
<item><title>Ferry resumes</title><link>/ferry.html</link><pubDate>Mon, 02 Mar 2026 10:00:00 +0100</pubDate>
<description>&lt;p&gt;The ferry sails again.&lt;/p&gt;</description></item>
<item><title>No link here</title><description>Lost.</description></item>
</channel></rss>"""

    listing = list_feed(body, FEED)

    assert isinstance(listing, Listing)
    [page] = listing.pages
    assert (page.url, page.updated) == ("https://news.example/ferry.html", "2026-03-02T09:00:00+00:00")
    assert page.fallback is not None
    assert (page.fallback.title, page.fallback.text, page.fallback.source) == (
        "Ferry resumes",
        "The ferry sails again.",
        "Harbor Times",
    )
    assert listing.problems == ["entry 1 ('No link here'): no link"]


def test_a_link_urljoin_cannot_parse_is_a_problem_of_its_entry_only():
    sitemap = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>http://[news.example/broken</loc></url><url><loc>/ok.html</loc></url>
<url><loc>#top</loc></url></urlset>"""
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Broken</title><link>http://[news.example/broken</link></item>
<item><title>Fine</title><link>https://news.example/ok.html</link></item></channel></rss>"""

    listed = list_sitemap(sitemap, SITEMAP, CAP)
    fed = list_feed(feed, FEED)

    assert isinstance(listed, Listing) and isinstance(fed, Listing)
    assert [p.url for p in listed.pages] == [p.url for p in fed.pages] == ["https://news.example/ok.html"]
    assert listed.problems == [
        "<url> 0: not a valid URL (Invalid IPv6 URL)",
        "<url> 2: links back to the listing itself",
    ]
    assert len(fed.problems) == 1 and fed.problems[0].startswith("entry 0 ('Broken'): ")


def test_a_malformed_feed_is_a_named_failure():
    result = list_feed(b"<html><body>Sorry, we moved</body></html>", FEED)

    assert isinstance(result, FetchFailure) and result.kind == "malformed" and result.url == FEED


def test_listing_stamps_are_utc_so_they_compare_as_text():
    assert utc_stamp("2026-03-02") == "2026-03-02T00:00:00+00:00"
    assert utc_stamp("Mon, 02 Mar 2026 10:00:00 +0100") == "2026-03-02T09:00:00+00:00"
    assert utc_stamp("not a date") is None
