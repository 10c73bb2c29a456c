"""Following feeds and sitemaps end to end, on loopback news sites: which articles come out, what the
fetch state remembers between runs, and the acknowledgement that makes a killed update lose nothing."""

from __future__ import annotations

import email.utils
import gzip
import itertools
import re
import signal
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from index import layout
from index.build import writing
from index.model import Article, Skip
from index.sources import SourcesConfig, SourcesError, load_sources
from index.store import Store
from index.web import FetchOptions, WebReport, follow_web_sources
from index.web.extract import SUMMARY_ONLY
from tests.fake_encoder import FakeEncoder
from tests.web_site import LoopbackSite, NewsItem, Route, article_html, news_item, publish_news, rss, sitemap

REPO = Path(__file__).resolve().parents[1]
FAST = FetchOptions(connect_timeout=2, read_timeout=2, deadline=3, retries=1, backoff=0.05)


@pytest.fixture
def site():
    with LoopbackSite() as one:
        yield one


@pytest.fixture
def other():
    with LoopbackSite() as two:
        yield two


def sources(tmp_path: Path, body: str, min_interval: float = 0.0) -> SourcesConfig:
    """A real sources.toml, read as `newsdesk update` will read it."""
    path = tmp_path / "sources.toml"
    head = f'[fetch]\ncontact = "mailto:desk@newsroom.example"\nmin_interval = {min_interval}\n\n'
    path.write_text(head + body, encoding="utf-8")
    return load_sources(path)


def toml_list(urls: list[str]) -> str:
    return "[" + ", ".join(f'"{url}"' for url in urls) + "]"


def run(
    config: SourcesConfig, state: Path, page_budget: int = 200, **options
) -> tuple[list[Article | Skip], WebReport]:
    """One update's worth of following: every item, then the acknowledgement."""
    with follow_web_sources(config, state, replace(FAST, **options), page_budget) as web:
        items = list(web)
        web.commit()
    return items, web.report


def articles(items: list[Article | Skip]) -> list[Article]:
    return [item for item in items if isinstance(item, Article)]


def page_requests(site: LoopbackSite) -> list[str]:
    return [r.path for r in site.requests() if r.path.startswith(("/news/", "/private/"))]


def test_first_run_yields_full_articles_and_the_second_only_asks_if_feeds_changed(site, tmp_path):
    news = publish_news(site, articles=12, feeds=3)
    config = sources(tmp_path, f'[[source]]\nfeeds = {toml_list(news.feeds)}\noutlet = "Loopback Ledger"\n')

    items, report = run(config, tmp_path / "state.sqlite")

    found = {article.url: article for article in articles(items)}
    assert len(items) == len(found) == 12
    for item in news.items:
        article = found[site.url(item.path)]
        assert article.title == item.title
        assert article.text == "\n\n".join(item.paragraphs)  # the page's full text, without its chrome
        assert article.source == "Loopback Ledger" and article.authors == [f"Desk Reporter {item.number % 7}"]
        assert article.published and article.published.startswith("2026-02-2")
        assert not article.warnings
    assert (report.total("articles"), report.total("requests")) == (12, 1 + 3 + 12)  # robots, feeds, pages
    first_run = len(site.requests())

    items, report = run(config, tmp_path / "state.sqlite")

    assert items == []
    again = site.requests()[first_run:]
    assert [r.path for r in again] == [f"/feeds/{k}.xml" for k in range(3)]  # robots.txt kept; no page asked
    assert all("if-none-match" in r.headers and "if-modified-since" in r.headers for r in again)
    assert [r.status for r in again] == [304, 304, 304]
    assert (report.total("not_modified"), report.total("requests"), report.total("bytes")) == (3, 3, 0)


def test_a_robots_disallowed_article_is_never_requested_and_its_feed_summary_is_used(site, tmp_path):
    public, private = news_item(1), replace(news_item(2), path="/private/2.html")
    publish_news(site, articles=0, feeds=1)
    site.route(
        public.path, Route(body=b"<html><body><article>" + b"<p>Full text.</p>" * 60 + b"</article></body></html>")
    )
    site.route(private.path, Route(body=b"<p>not for crawlers</p>"))
    site.route("/feeds/0.xml", Route(body=rss([public, private], site.origin, "Ledger")))
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{site.url("/feeds/0.xml")}"]\n')

    items, report = run(config, tmp_path / "state.sqlite")

    assert site.requests(private.path) == []
    [summary] = [a for a in articles(items) if a.url == site.url(private.path)]
    assert summary.text == private.summary and summary.title == private.title
    assert len(summary.warnings) == 1 and summary.warnings[0].startswith(SUMMARY_ONLY)
    assert "disallowed" in summary.warnings[0]
    assert report.total("summaries") == 1 and report.failures[0].kind == "disallowed"

    items, _ = run(config, tmp_path / "state.sqlite")
    assert items == [] and site.requests(private.path) == []  # settled: not tried again


def test_malformed_feed_and_sitemap_are_named_while_the_good_ones_yield(site, other, tmp_path):
    news = publish_news(site, articles=4, feeds=1)
    more = publish_news(other, articles=3, feeds=1, start=100)
    site.route("/broken.xml", Route(body=b"<html><body>this is not a feed", content_type="application/rss+xml"))
    other.route("/broken-sitemap.xml", Route(body=b"<urlset><url><loc>http://x/</loc>", content_type="text/xml"))
    config = sources(
        tmp_path,
        f'[[source]]\nfeeds = ["{news.feeds[0]}", "{site.url("/broken.xml")}"]\n'
        f'[[source]]\nsitemaps = ["{other.url("/broken-sitemap.xml")}", "{more.sitemap}"]\n',
    )

    items, report = run(config, tmp_path / "state.sqlite")

    assert len(articles(items)) == 4 + 3
    failed = {failure.url: failure for failure in report.failures}
    assert failed.keys() == {site.url("/broken.xml"), other.url("/broken-sitemap.xml")}
    assert all(failure.kind == "malformed" for failure in failed.values())
    assert "malformed sitemap XML" in failed[other.url("/broken-sitemap.xml")].reason
    skipped = {item.path: item.reason for item in items if isinstance(item, Skip)}
    assert skipped[site.url("/broken.xml")].startswith("feed not read: malformed")
    lines = "\n".join(report.lines())
    assert site.url("/broken.xml") in lines and other.url("/broken-sitemap.xml") in lines


def test_a_sitemap_index_and_its_gzip_sitemap_are_followed(site, tmp_path):
    items = [news_item(n) for n in range(3)]
    publish_news(site, articles=3, feeds=1)
    site.route(
        "/sitemaps/news.xml.gz", Route(body=gzip.compress(sitemap(items, site.origin)), content_type="application/gzip")
    )
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>/sitemaps/news.xml.gz</loc></sitemap></sitemapindex>"
    )
    site.route("/sitemap-index.xml", Route(body=index.encode(), content_type="application/xml"))
    config = sources(tmp_path, f'[[source]]\nsitemaps = ["{site.url("/sitemap-index.xml")}"]\n')

    found, report = run(config, tmp_path / "state.sqlite")

    assert sorted(a.title for a in articles(found)) == sorted(item.title for item in items)
    assert report.failures == []


def test_a_gzip_bomb_sitemap_stops_at_the_50_mb_cap(site, tmp_path):
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = (
        packer.compress(b'<?xml version="1.0"?><urlset><url><loc>')
        + b"".join(packer.compress(bytes(1024 * 1024)) for _ in range(60))
        + packer.flush()
    )  # ~60 KB that inflate to 60 MB
    site.route("/robots.txt", Route(body=b"", content_type="text/plain"))
    site.route("/sitemap.xml.gz", Route(body=bomb, content_type="application/gzip"))
    config = sources(tmp_path, f'[[source]]\nsitemaps = ["{site.url("/sitemap.xml.gz")}"]\n')

    items, report = run(config, tmp_path / "state.sqlite", max_sitemap_bytes=FetchOptions().max_sitemap_bytes)

    [failure] = report.failures
    assert failure.kind == "too_large" and "52,428,800 bytes once decompressed" in failure.reason
    assert [item.path for item in items] == [site.url("/sitemap.xml.gz")]


def test_an_update_killed_mid_run_and_run_again_ends_with_every_article_once(site, tmp_path):
    news = publish_news(site, articles=10, feeds=2)
    config = sources(tmp_path, f"[[source]]\nfeeds = {toml_list(news.feeds)}\n")
    index_dir, state, encoder = tmp_path / "index", tmp_path / "state.sqlite", FakeEncoder()

    class Killed(Exception):
        pass

    # Killed after 4 articles: the build does not publish and the run is never committed.
    with pytest.raises(Killed), follow_web_sources(config, state, FAST) as web, writing(index_dir, encoder) as writer:
        writer.add(itertools.islice(web, 4))
        raise Killed
    assert layout.live_generation(index_dir) is None
    fetched_before = len(page_requests(site))
    assert fetched_before >= 4

    for _ in range(2):  # the next update, then one more that must find nothing new
        with follow_web_sources(config, state, FAST) as web:
            with writing(index_dir, encoder) as writer:
                writer.add(web)
            web.commit()

    store = Store(layout.live_generation(index_dir).sqlite, readonly=True)
    try:
        origins = sorted(origin for _, origin in store.origins())
    finally:
        store.close()
    assert origins == sorted(site.url(item.path) for item in news.items)  # every article, once
    # Only the pages of the killed run were asked again, and the last run asked for no page at all.
    assert len(page_requests(site)) == fetched_before + 10


_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from index.sources import load_sources
from index.web import FetchOptions, follow_web_sources
with follow_web_sources(load_sources(sys.argv[1]), Path(sys.argv[2]), FetchOptions(retries=0)) as run:
    for item in run:
        print(type(item).__name__, flush=True)
    sys.stdin.read()  # holds here until killed: never commits
"""


def test_a_process_killed_mid_run_loses_nothing_and_refetches_only_its_pages(site, tmp_path):
    news = publish_news(site, articles=8, feeds=2)
    config = sources(tmp_path, f"[[source]]\nfeeds = {toml_list(news.feeds)}\n")
    state = tmp_path / "state.sqlite"
    command = [sys.executable, "-c", _CHILD, str(config.path), str(state), str(REPO)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        got = [child.stdout.readline().strip() for _ in range(3)]
        child.send_signal(signal.SIGKILL)  # mid-run, without a chance to clean up
    assert got == ["Article"] * 3
    killed_run = len(site.requests())

    items, report = run(config, state)

    assert sorted(a.url for a in articles(items)) == sorted(site.url(item.path) for item in news.items)
    again = site.requests()[killed_run:]
    feeds = [r for r in again if r.path.startswith("/feeds/")]
    assert [r.status for r in feeds] == [304, 304]  # the killed run's feeds were kept: not downloaded again
    assert not [r for r in again if r.path == "/robots.txt"]
    assert report.total("requests") == 2 + 8


def test_an_entry_updated_in_its_feed_is_fetched_again(site, tmp_path):
    news = publish_news(site, articles=4, feeds=1)
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{news.feeds[0]}"]\n')
    run(config, tmp_path / "state.sqlite")
    changed: NewsItem = replace(news.items[2], published=news.items[2].published + 3600)
    corrected = replace(changed, paragraphs=(*changed.paragraphs[:-1], "Correction: the meeting was moved to May."))
    feed = rss([*news.items[:2], corrected, news.items[3]], site.origin, "Ledger")  # a newer pubDate for one
    site.route(news.feeds[0].removeprefix(site.origin), Route(body=feed, content_type="application/rss+xml"))
    site.route(corrected.path, Route(body=article_html(corrected, site.origin)))
    before = len(site.requests())

    items, _ = run(config, tmp_path / "state.sqlite")

    assert [a.url for a in articles(items)] == [site.url(corrected.path)]
    assert articles(items)[0].text.endswith("Correction: the meeting was moved to May.")
    asked = [r for r in site.requests()[before:] if r.path.startswith("/news/")]
    assert [r.path for r in asked] == [corrected.path]
    assert "if-none-match" in asked[0].headers  # the page's own validators, from the first fetch


def test_a_page_that_fails_for_now_gives_the_summary_and_is_tried_again(site, tmp_path):
    news = publish_news(site, articles=2, feeds=1)
    broken = news.items[1]
    good_page = site.routes[broken.path]
    site.route(broken.path, Route(status=502, validators=False))
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{news.feeds[0]}"]\n')

    items, report = run(config, tmp_path / "state.sqlite")

    fallback = next(a for a in articles(items) if a.url == site.url(broken.path))
    assert fallback.text == broken.summary and "HTTP 502" in fallback.warnings[0]
    assert report.total("summaries") == 1 and report.failures[0].transient

    site.routes[broken.path] = good_page  # the server recovers
    items, report = run(config, tmp_path / "state.sqlite")
    assert [(a.url, a.warnings) for a in articles(items)] == [(site.url(broken.path), [])]
    assert articles(items)[0].text == "\n\n".join(broken.paragraphs)

    items, _ = run(config, tmp_path / "state.sqlite")
    assert items == []


def test_a_long_retry_after_leaves_that_hosts_pages_for_a_later_run(site, other, tmp_path):
    news = publish_news(site, articles=4, feeds=1)
    more = publish_news(other, articles=2, feeds=1, start=50)
    first = news.items[-1]  # pages are fetched newest first
    site.routes[first.path].first.append((429, {"Retry-After": email.utils.formatdate(2e9, usegmt=True)}))
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{news.feeds[0]}"]\n[[source]]\nfeeds = ["{more.feeds[0]}"]\n')

    items, report = run(config, tmp_path / "state.sqlite")

    assert page_requests(site) == [first.path]  # the host said wait: nothing more was asked of it
    found = articles(items)
    assert sorted(a.url for a in found if not a.warnings) == sorted(other.url(item.path) for item in more.items)
    # Meanwhile the feed's summaries stand in for the four pages; they stay due for the next run.
    assert sorted(a.url for a in found if a.warnings) == sorted(site.url(item.path) for item in news.items)
    kinds = sorted(failure.kind for failure in report.failures)
    assert kinds == ["left_for_later"] * 3 + ["rate_limited"]
    # For stderr (what cron mails): the host's 429, once; waiting as it asked is not a failure to mail.
    [warning] = report.warnings()
    assert warning.startswith(f"web source {news.feeds[0]}: {site.url(first.path)}: rate_limited: ")
    assert "more failure" not in warning


def test_articles_come_out_as_they_are_extracted(site, tmp_path):
    news = publish_news(site, articles=6, feeds=1)
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{news.feeds[0]}"]\n')

    with follow_web_sources(config, tmp_path / "state.sqlite", FAST) as web:
        stream = iter(web)
        first = next(stream)
        asked_by_then = len(page_requests(site))
        rest = list(stream)

    assert isinstance(first, Article)
    assert asked_by_then == 1 and len(rest) == 5


def test_hosts_take_turns_and_each_keeps_its_pace_in_a_run(site, other, tmp_path):
    news = publish_news(site, articles=3, feeds=1)
    more = publish_news(other, articles=3, feeds=1, start=10)
    config = sources(
        tmp_path, f'[[source]]\nfeeds = ["{news.feeds[0]}"]\n[[source]]\nfeeds = ["{more.feeds[0]}"]\n', 0.2
    )

    items, _ = run(config, tmp_path / "state.sqlite")

    assert len(articles(items)) == 6
    for server in (site, other):
        times = [r.at for r in server.requests()]
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.2
    hosts = [(r.at, "A") for r in site.requests()] + [(r.at, "B") for r in other.requests()]
    order = "".join(host for _, host in sorted(hosts))
    assert "ABAB" in order or "BABA" in order  # while one host rests, the other is served


def test_a_page_budget_takes_the_newest_first_and_leaves_the_rest_for_later(site, tmp_path):
    news = publish_news(site, articles=8, feeds=1)
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{news.feeds[0]}"]\n')

    items, report = run(config, tmp_path / "state.sqlite", page_budget=3)
    assert [a.title for a in articles(items)] == [item.title for item in reversed(news.items[-3:])]
    assert report.total("waiting") == 5

    items, report = run(config, tmp_path / "state.sqlite", page_budget=3)
    assert [a.title for a in articles(items)] == [item.title for item in reversed(news.items[2:5])]


def test_a_page_without_article_text_falls_back_to_the_summary(site, tmp_path):
    item = news_item(3)
    publish_news(site, articles=0, feeds=1)
    site.route(item.path, Route(body=b"<html><body><form><input name=user></form></body></html>"))
    site.route("/feeds/0.xml", Route(body=rss([item], site.origin, "Ledger")))
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{site.url("/feeds/0.xml")}"]\n')

    [article], report = run(config, tmp_path / "state.sqlite")

    assert isinstance(article, Article) and article.text == item.summary
    assert "no article text" in article.warnings[0] and report.total("summaries") == 1


def test_web_sources_need_a_contact_and_http_urls(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nfeeds = ["https://example.com/rss.xml"]\n')
    with pytest.raises(SourcesError) as refused:
        load_sources(path)
    message = str(refused.value)
    assert "source 1 follows feeds or sitemaps" in message and '[fetch]\ncontact = "https://' in message

    for body, fragment in [
        ('[fetch]\ncontact = "me"\n[[source]]\nfeeds = ["https://e.com/f"]\n', "contact must be a URL"),
        ('[fetch]\ncontact = "me@e.com"\n[[source]]\nfeeds = ["ftp://e.com/f"]\n', "must be http(s) URLs"),
        ('[fetch]\ncontact = "me@e.com"\nmin_interval = -1\n[[source]]\nfeeds = ["https://e.com/f"]\n', "≥ 0"),
        ('[fetch]\ncontact = "me@e.com"\ndelay = 1\n[[source]]\nfeeds = ["https://e.com/f"]\n', "unknown key(s) delay"),
        ("[[source]]\noutlet = 'x'\n", "give it paths = [...], feeds = [...] or sitemaps = [...]"),
    ]:
        path.write_text(body)
        with pytest.raises(SourcesError, match=re.escape(fragment)):
            load_sources(path)

    path.write_text(
        '[fetch]\ncontact = "https://newsroom.example/bot"\n[[source]]\nsitemaps = "https://e.com/news-sitemap.xml"\n'
    )
    config = load_sources(path)
    assert config.fetch.contact == "https://newsroom.example/bot" and config.fetch.min_interval == 5.0
    assert config.web_sources[0].sitemaps == ("https://e.com/news-sitemap.xml",)
    assert config.web_sources[0].paths == ()


def test_an_updated_entry_whose_page_now_fails_keeps_the_full_text_stored_before(site, tmp_path):
    news = publish_news(site, articles=2, feeds=1)
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{news.feeds[0]}"]\n')
    run(config, tmp_path / "state.sqlite")
    updated = replace(news.items[0], published=news.items[0].published + 600)
    feed = rss([updated, news.items[1]], site.origin, "Ledger")
    site.route(news.feeds[0].removeprefix(site.origin), Route(body=feed, content_type="application/rss+xml"))
    del site.routes[updated.path]  # now a 404

    items, report = run(config, tmp_path / "state.sqlite")

    assert [(type(item).__name__, item.path) for item in items] == [("Skip", site.url(updated.path))]
    assert report.total("summaries") == 0 and report.failures[0].reason.startswith("HTTP 404")


def test_pages_stored_in_full_are_never_replaced_by_summaries_while_their_host_says_wait(site, tmp_path):
    news = publish_news(site, articles=2, feeds=1)
    config = sources(tmp_path, f'[[source]]\nfeeds = ["{news.feeds[0]}"]\n')
    run(config, tmp_path / "state.sqlite")
    updated = [replace(item, published=item.published + 600) for item in news.items]
    feed = rss(updated, site.origin, "Ledger")
    site.route(news.feeds[0].removeprefix(site.origin), Route(body=feed, content_type="application/rss+xml"))
    # The newest page is asked first and says: come back much later. The other one is left for later.
    site.routes[updated[-1].path].first.append((429, {"Retry-After": email.utils.formatdate(2e9, usegmt=True)}))

    items, report = run(config, tmp_path / "state.sqlite")

    assert sorted(item.path for item in items) == sorted(site.url(item.path) for item in news.items)
    assert all(isinstance(item, Skip) for item in items) and report.total("summaries") == 0
    assert sorted(failure.kind for failure in report.failures) == ["left_for_later", "rate_limited"]
