"""`newsdesk update` and `rebuild` following the web, end to end: the real CLI (in this process, or a
subprocess that is killed), the real model, a loopback news site, alerts delivered to a loopback webhook."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from index import layout
from index.maintenance import rebuild, update
from index.sources import load_sources
from index.store import Store
from index.web import STATE_FILE
from search.cli import main
from tests.conftest import REPO, read_jsonl, write_jsonl
from tests.test_web_follow import FAST, page_requests, toml_list
from tests.web_site import PUBLISHED, LoopbackSite, NewsItem, Route, article_html, news_item, publish_news, rss
from tests.webhook_receiver import Receiver

TRAM = NewsItem(
    number=900,
    path="/news/900.html",
    title="Harbor tram line to be extended to the airport",
    summary="The harbor tram line will run on to the airport, the council decided on Tuesday.",
    paragraphs=(
        "The harbor tram line will run on to the airport, the council decided on Tuesday after a second vote.",
        "Trams are due to reach the terminal in three years; the extension adds four stops along the bay.",
    ),
    published=PUBLISHED + 86400,
)


@pytest.fixture
def site():
    with LoopbackSite() as one:
        yield one


def newsdesk(*args: str) -> Result:
    """The `newsdesk` command run in this process (it loads its own encoder, as cron's would)."""
    return CliRunner().invoke(main, list(args))


def sources_file(folder: Path, feeds: list[str], extra: str = "") -> Path:
    path = folder / "sources.toml"
    path.write_text(
        f'index = "idx"\n[fetch]\ncontact = "mailto:desk@newsroom.example"\nmin_interval = 0.0\n\n'
        f'[[source]]\nfeeds = {toml_list(feeds)}\noutlet = "Loopback Ledger"\n{extra}',
        encoding="utf-8",
    )
    return path


def origins(index_dir: Path) -> list[str]:
    """The origin of every article in the live generation (a web article's is its page URL)."""
    store = Store(layout.live_generation(index_dir).sqlite, readonly=True)
    try:
        return sorted(origin for _, origin in store.origins())
    finally:
        store.close()


def publish(site: LoopbackSite, feed: str, items: list[NewsItem]) -> None:
    """Put `items` on the site and make `feed` list them (a feed that changed: new ETag, new body)."""
    for item in items:
        site.route(item.path, Route(body=article_html(item, site.origin)))
    site.route(
        feed.removeprefix(site.origin),
        Route(body=rss(items, site.origin, "Loopback Ledger"), content_type="application/rss+xml"),
    )


def test_update_follows_the_feeds_and_the_second_run_only_asks_if_they_changed(site, tmp_path):
    news = publish_news(site, articles=9, feeds=3)
    sources = sources_file(tmp_path, news.feeds)

    first = newsdesk("update", "--sources", str(sources))

    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("added 9, updated 0, unchanged 0, duplicates merged 0, removed 0, skipped 0\n")
    assert "web: 13 requests" in first.stdout and "9 articles" in first.stdout  # robots.txt, 3 feeds, 9 pages
    assert "  Loopback Ledger: 13 requests" in first.stdout and first.stderr == ""
    assert origins(tmp_path / "idx") == sorted(site.url(item.path) for item in news.items)
    assert (tmp_path / "idx" / STATE_FILE).exists()  # the fetch state lives beside the index
    asked = len(site.requests())

    second = newsdesk("update", "--sources", str(sources), "--json")

    assert second.exit_code == 0, second.output
    report = json.loads(second.stdout)
    assert (report["added"], report["unchanged"], report["embedded"], report["generation"]) == (0, 0, 0, 1)
    web = report["web"]
    assert (web["requests"], web["not_modified"], web["articles"], web["bytes"], web["failures"]) == (3, 3, 0, 0, 0)
    assert web["sources"][0]["name"] == "Loopback Ledger" and report["alerts"]["checked"] == 0
    again = site.requests()[asked:]
    assert sorted(r.path for r in again) == sorted(feed.removeprefix(site.origin) for feed in news.feeds)
    assert all(r.status == 304 and "if-none-match" in r.headers for r in again)


def test_a_failing_web_source_is_named_and_the_others_are_indexed(site, tmp_path):
    news = publish_news(site, articles=3, feeds=1)
    site.route("/broken.xml", Route(body=b"<html><body>not a feed", content_type="application/rss+xml"))
    broken = site.url("/broken.xml")
    sources = sources_file(tmp_path, news.feeds, f'\n[[source]]\nfeeds = ["{broken}"]\noutlet = "Broken Wire"\n')

    result = newsdesk("update", "--sources", str(sources))

    assert result.exit_code == 0, result.output  # the build succeeded: cron sees 0 and the warning below
    assert result.stdout.startswith("added 3,")
    assert f"  failed (Broken Wire) {broken}: malformed: " in result.stdout
    assert f"skipped {broken}" not in result.stdout  # named once, by the web part of the report
    [warning] = result.stderr.splitlines()
    assert warning.startswith(f"warning: web source Broken Wire: {broken}: malformed: ")


def test_an_alert_reports_the_one_new_article_an_update_brings_once(site, tmp_path):
    news = publish_news(site, articles=12, feeds=2)
    sources = sources_file(tmp_path, news.feeds)
    index_dir = str(tmp_path / "idx")
    assert newsdesk("update", "--sources", str(sources)).exit_code == 0
    with Receiver() as hook:
        added = newsdesk(
            "alerts", "add", "tram", "harbor tram line airport", "--webhook", hook.url, "--index", index_dir
        )
        assert added.exit_code == 0, added.output
        quiet = newsdesk("update", "--sources", str(sources))
        assert "checked 1 alert: 0 new articles" in quiet.stdout and hook.requests == []  # nothing at creation

        publish(site, news.feeds[0], [*news.items[0::2], TRAM])
        brought = newsdesk("update", "--sources", str(sources), "--json")

        assert brought.exit_code == 0, brought.output
        report = json.loads(brought.stdout)
        assert (report["added"], report["web"]["articles"]) == (1, 1)
        assert [hit["url"] for hit in report["alerts"]["new"]] == [site.url(TRAM.path)]
        assert (report["alerts"]["written"], report["alerts"]["posted"]) == (1, 1)
        [line] = read_jsonl(tmp_path / "idx" / "alerts.jsonl")
        assert line["title"] == TRAM.title and line["alert"] == "tram" and line["source"] == "Loopback Ledger"
        assert hook.delivered == [line]

        again = newsdesk("update", "--sources", str(sources))
        assert again.exit_code == 0 and "checked 1 alert: 0 new articles" in again.stdout
        assert len(read_jsonl(tmp_path / "idx" / "alerts.jsonl")) == 1 and len(hook.requests) == 1


def test_an_update_killed_before_it_publishes_and_run_again_ends_with_every_article_once(site, tmp_path):
    news = publish_news(site, articles=6, feeds=2)
    sources = sources_file(tmp_path, news.feeds)
    assert newsdesk("update", "--sources", str(sources)).exit_code == 0
    more = [news_item(n) for n in range(6, 10)]
    publish(site, news.feeds[0], [*news.items[0::2], *more[0::2]])
    publish(site, news.feeds[1], [*news.items[1::2], *more[1::2]])
    before = len(page_requests(site))

    # Every new page fetched and stored, its segment and the generation folder written, the store's commit
    # (the switch) not yet: then SIGKILL.
    env = {**os.environ, "NEWSDESK_TEST_PAUSE_AT": "committing", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "search.cli", "update", "--sources", str(sources)]
    with subprocess.Popen(
        command, cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    ) as run:
        assert run.stderr is not None
        for line in run.stderr:
            if line.startswith("newsdesk-pause: committing"):
                break
        run.send_signal(signal.SIGKILL)
    assert run.returncode == -signal.SIGKILL
    assert len(page_requests(site)) == before + 4 and layout.live_generation(tmp_path / "idx").number == 1

    rerun = newsdesk("update", "--sources", str(sources), "--json")

    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["added"] == 4
    assert origins(tmp_path / "idx") == sorted(site.url(item.path) for item in [*news.items, *more])  # each once
    assert len(page_requests(site)) == before + 8  # only the killed run's pages were asked again
    assert json.loads(newsdesk("update", "--sources", str(sources), "--json").stdout)["web"]["articles"] == 0


def test_a_summary_stored_under_the_feeds_link_gives_way_to_the_full_text_under_the_canonical_url(
    site, tmp_path, encoder
):
    # The feed links to /r/N, the pages say their canonical URL is /news/N.html: two ids for one article.
    items = [news_item(1), news_item(2)]
    publish_news(site, articles=0, feeds=1)
    linked = [replace(item, path=f"/r/{item.number}") for item in items]
    site.route("/feeds/0.xml", Route(body=rss(linked, site.origin, "Ledger"), content_type="application/rss+xml"))
    site.route("/r/1", Route(status=502, validators=False))  # fails for now: its feed summary is stored
    site.route("/r/2", Route(body=article_html(items[1], site.origin)))  # full text at once
    sources_file(tmp_path, [site.url("/feeds/0.xml")])
    config = load_sources(tmp_path / "sources.toml")
    index_dir = tmp_path / "idx"

    first = update(config, index_dir, encoder, fetch_options=FAST)

    assert (first.added, first.removed, first.web.total("summaries")) == (2, 0, 1)
    summary = _article_at(index_dir, site.url("/r/1"))
    assert summary["text"] == items[0].summary and summary["canonical_url"].endswith("/r/1")

    site.route("/r/1", Route(body=article_html(items[0], site.origin)))  # the page recovers
    second = update(config, index_dir, encoder, fetch_options=FAST)

    assert (second.added, second.removed, second.articles) == (1, 1, 2)
    full = _article_at(index_dir, site.url("/r/1"))  # the feed's link now leads to the full text
    assert full["id"] != summary["id"] and full["canonical_url"].endswith("/news/1.html")
    assert full["text"] == "\n\n".join(items[0].paragraphs)
    assert origins(index_dir) == [site.url("/r/1"), site.url("/r/2")]  # one article per page


def _article_at(index_dir: Path, url: str) -> dict:
    store = Store(layout.live_generation(index_dir).sqlite, readonly=True)
    try:
        article = store.article(store.resolve_id(url))
    finally:
        store.close()
    return {"id": article.id, "text": article.text, "canonical_url": article.canonical_url}


def test_rebuild_keeps_the_web_articles_without_fetching_their_pages_again(site, tmp_path, encoder):
    news = publish_news(site, articles=4, feeds=1)
    write_jsonl(
        tmp_path / "files" / "wire.jsonl",
        [{"title": "Ferry fares frozen", "text": "Fares stay.", "url": "https://harbor.example/ferry"}],
    )
    sources_file(tmp_path, news.feeds, '\n[[source]]\npaths = ["files"]\n')
    index_dir = tmp_path / "idx"
    update(load_sources(tmp_path / "sources.toml"), index_dir, encoder, fetch_options=FAST)
    before = {row[0]: row[1:] for row in _rows(index_dir, "SELECT id, first_seen, content_hash FROM articles")}
    pages_asked = len(page_requests(site))

    rebuilt = rebuild(load_sources(tmp_path / "sources.toml"), index_dir, encoder, fetch_options=FAST)

    assert (rebuilt.unchanged, rebuilt.added, rebuilt.removed, rebuilt.embedded, rebuilt.articles) == (5, 0, 0, 0, 5)
    assert {row[0]: row[1:] for row in _rows(index_dir, "SELECT id, first_seen, content_hash FROM articles")} == before
    assert len(page_requests(site)) == pages_asked and rebuilt.web.total("not_modified") == 1

    # A web source taken out of sources.toml: a rebuild keeps only what the sources hold now.
    (tmp_path / "sources.toml").write_text('[[source]]\npaths = ["files"]\n', encoding="utf-8")
    dropped = rebuild(load_sources(tmp_path / "sources.toml"), index_dir, encoder)
    assert (dropped.removed, dropped.articles, dropped.web) == (4, 1, None)


def _rows(index_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(layout.live_generation(index_dir).sqlite) as db:
        return db.execute(sql).fetchall()
