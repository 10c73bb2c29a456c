"""Alerts end to end with the real model: nothing at creation, each new article once to the lines file and a
loopback webhook, nothing on the next check; the HTTP routes and the CLI group."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from index.build import build
from search.alerts import Alerts, AlertSpec
from search.api import create_app
from search.api.routes.alerts import check_alerts
from search.cli import main
from search.cli_alerts import alerts as alerts_group
from search.searcher import Searcher
from search.settings import Settings
from tests.conftest import read_jsonl, write_jsonl
from tests.webhook_receiver import Receiver

TOKEN = "alerts-write-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def article(title: str, text: str, slug: str, source: str = "Harbor Times", date: str = "2026-01-05") -> dict:
    return {"title": title, "text": text, "url": f"https://news.example/{slug}", "date": date, "source": source}


CORPUS = [
    article("Harbor council approves tram line", "The council voted 7-2 to build a tram line to the port.", "tram"),
    article("Tram depot site chosen", "The new tram depot will be built beside the old rail yard.", "depot"),
    article("Heatwave strains the grid", "Grid operators asked people to save power at 41 degrees.", "heat", "Valley"),
    article("Library opens a seed bank", "Gardeners can borrow tomato and bean seeds from the library.", "seeds"),
    article("Port strike ends after nine days", "Dock workers returned after a strike over night-shift pay.", "strike"),
    article("Ferry fares frozen for a year", "The island ferry operator froze fares until next spring.", "ferry"),
    article("School adds a coding club", "Pupils will learn to program robots after class on Thursdays.", "school"),
    article("Bakery wins bread award", "A family bakery won the national sourdough prize.", "bakery", "Valley"),
    article("Storm closes coastal road", "High waves and wind closed the coastal road for two days.", "storm"),
    article("Museum returns stolen painting", "The painting was found in a warehouse and returned.", "painting"),
    article("City budget adds bus lanes", "Three new bus lanes will run through the city centre.", "bus"),
    article("Marathon draws record field", "Twelve thousand runners started the city marathon on Sunday.", "marathon"),
]
NEW_TRAM = article(
    "Tram line to be extended to the airport",
    "The harbor tram line will run on to the airport, the council decided on Tuesday, after a second vote.",
    "tram-airport",
    date="2026-02-10",
)
DEPOT_TRAMS = article(
    "New trams delivered to the harbor depot",
    "The first six trams for the harbor tram line arrived at the depot by ship on Monday.",
    "tram-delivery",
    date="2026-02-20",
)
TRAM_QUERY = "harbor tram line"


@pytest.fixture
def index_dir(tmp_path, encoder):
    build([write_jsonl(tmp_path / "in" / "corpus.jsonl", CORPUS)], tmp_path / "idx", encoder)
    return tmp_path / "idx"


def add_articles(index_dir, encoder, records: list[dict], name: str) -> None:
    """An update: a new file of articles indexed into a new generation."""
    build([write_jsonl(index_dir.parent / "in" / f"{name}.jsonl", records)], index_dir, encoder)


def check(index_dir, encoder, **alerts_options):
    """A check as a fresh process would run it: new Alerts, new Searcher on the live generation."""
    searcher = Searcher.open(index_dir, encoder=encoder)
    try:
        return Alerts(index_dir, **alerts_options).check(searcher)
    finally:
        searcher.close()


def test_a_new_article_is_reported_once_to_the_file_and_the_webhook(index_dir, encoder):
    lines = index_dir / "alerts.jsonl"
    with Receiver() as hook:
        searcher = Searcher.open(index_dir, encoder=encoder)
        Alerts(index_dir).add(AlertSpec("tram", TRAM_QUERY, webhook=hook.url), searcher)
        # The alert's first page holds the tram articles already indexed: they are backlog.
        on_page = [r.url for r in searcher.search(TRAM_QUERY).results]
        assert "https://news.example/tram" in on_page
        searcher.close()

        first = check(index_dir, encoder)
        assert first.ok and first.checked == 1 and first.new == []
        assert not lines.exists() and hook.requests == []

        add_articles(index_dir, encoder, [NEW_TRAM], "update-1")
        second = check(index_dir, encoder)
        assert second.ok, second.problems
        assert [hit.url for hit in second.new] == [NEW_TRAM["url"]]
        assert second.written == 1 and second.posted == 1
        [line] = read_jsonl(lines)
        assert line["alert"] == "tram" and line["url"] == NEW_TRAM["url"] and line["title"] == NEW_TRAM["title"]
        assert {"article_id", "source", "published", "score", "matched_at", "query"} <= set(line)
        assert line["source"] == "Harbor Times" and line["published"].startswith("2026-02-10")
        assert hook.delivered == [line]  # the webhook gets the same object as the file

        third = check(index_dir, encoder)
        assert third.ok and third.new == [] and third.written == 0 and third.posted == 0
        assert len(read_jsonl(lines)) == 1 and len(hook.requests) == 1

    detail = Alerts(index_dir).detail("tram")
    assert [(h.url, h.webhook) for h in detail.hits] == [(NEW_TRAM["url"], "delivered")]
    assert detail.alert.hits == 1 and detail.alert.undelivered == 0 and detail.alert.last_checked


def test_api_reads_alerts_freely_and_writes_them_with_the_token(index_dir, encoder):
    app = create_app(Settings(index=index_dir, write_token=TOKEN))
    with TestClient(app) as client, Receiver() as hook:
        assert client.get("/api/alerts").json() == []
        body = {"name": "tram", "query": TRAM_QUERY, "sources": ["Harbor Times"], "webhook": hook.url}
        assert client.post("/api/alerts", json=body).status_code == 401
        assert client.post("/api/alerts", json=body, headers={"Authorization": "Bearer nope"}).status_code == 403
        created = client.post("/api/alerts", json=body, headers=AUTH)
        assert created.status_code == 201, created.text
        assert created.json()["name"] == "tram" and created.json()["webhook"] == f"http://127.0.0.1:{hook.port}/…"
        taken = client.post("/api/alerts", json=body, headers=AUTH)
        assert taken.status_code == 409 and "exists already" in taken.json()["error"]["message"]
        bad = client.post("/api/alerts", json={**body, "name": "Tram Line!"}, headers=AUTH)
        assert bad.status_code == 422 and bad.json()["error"]["type"] == "invalid_request"

        listed = client.get("/api/alerts").json()
        assert [a["name"] for a in listed] == ["tram"] and listed[0]["sources"] == ["Harbor Times"]
        assert "s3cret" not in json.dumps(listed)  # a webhook's path may hold its secret: not shown to readers
        assert client.get("/api/alerts/tram").json()["hits"] == []

        # A write through the API: once answered, the route checks the alerts on the new generation.
        written = client.post("/api/articles", json=[NEW_TRAM], headers=AUTH)
        assert written.status_code == 200 and written.json()["added"] == 1
        assert [line["url"] for line in hook.delivered] == [NEW_TRAM["url"]]
        assert check_alerts(app.state.holder, app.state.settings).new == []  # reported once
        shown = client.get("/api/alerts/tram", params={"hits": 5}).json()
        assert shown["alert"]["hits"] == 1 and shown["alert"]["undelivered"] == 0
        assert [(h["url"], h["webhook"]) for h in shown["hits"]] == [(NEW_TRAM["url"], "delivered")]

        assert client.delete("/api/alerts/tram").status_code == 401
        assert client.delete("/api/alerts/tram", headers=AUTH).json()["name"] == "tram"
        missing = client.get("/api/alerts/tram")
        assert missing.status_code == 404 and "newsdesk alerts list" in missing.json()["error"]["message"]
        assert client.delete("/api/alerts/tram", headers=AUTH).status_code == 404


def test_writes_leave_alerts_alone_when_alerts_after_write_is_off(index_dir, encoder):
    with Receiver() as hook:
        searcher = Searcher.open(index_dir, encoder=encoder)
        Alerts(index_dir).add(AlertSpec("tram", TRAM_QUERY, webhook=hook.url), searcher)
        searcher.close()
        app = create_app(Settings(index=index_dir, write_token=TOKEN, alerts_after_write=False))
        with TestClient(app) as client:
            assert client.post("/api/articles", json=[NEW_TRAM], headers=AUTH).json()["added"] == 1
        assert hook.requests == [] and not (index_dir / "alerts.jsonl").exists()
        assert [hit.url for hit in check(index_dir, encoder).new] == [NEW_TRAM["url"]]  # owed to the next check


def test_without_a_write_token_alerts_are_read_only(index_dir):
    with TestClient(create_app(Settings(index=index_dir))) as client:
        assert client.get("/api/alerts").status_code == 200
        refused = client.post("/api/alerts", json={"name": "tram", "query": TRAM_QUERY}, headers=AUTH)
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
        assert client.delete("/api/alerts/tram", headers=AUTH).status_code == 405
        paths = client.get("/openapi.json").json()["paths"]
        assert set(paths["/api/alerts"]) == {"get"} and set(paths["/api/alerts/{name}"]) == {"get"}


def test_cli_group_adds_lists_checks_and_removes(index_dir, encoder, tmp_path):
    assert main.get_command(None, "alerts") is alerts_group  # attached by search/cli.py
    runner = CliRunner()

    def newsdesk(*args: str):
        return runner.invoke(main, ["alerts", *args, "--index", str(index_dir)], catch_exceptions=False)

    added = newsdesk("add", "tram", TRAM_QUERY, "--source", "Harbor Times", "--from", "2026-01-01", "--json")
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["date_from"] == "2026-01-01"
    assert "tram" in newsdesk("list").output
    assert newsdesk("add", "Bad Name", TRAM_QUERY).exit_code == 1

    lines = tmp_path / "hits.jsonl"
    assert json.loads(newsdesk("check", "--file", str(lines), "--json").output)["new"] == []
    add_articles(index_dir, encoder, [NEW_TRAM], "update-1")
    checked = newsdesk("check", "--file", str(lines))
    assert checked.exit_code == 0 and NEW_TRAM["title"] in checked.output
    assert [line["url"] for line in read_jsonl(lines)] == [NEW_TRAM["url"]]
    listed = json.loads(newsdesk("list", "--json").output)["alerts"]
    assert listed[0]["hits"] == 1 and listed[0]["sources"] == ["Harbor Times"]
    shown = json.loads(newsdesk("show", "tram", "--json").output)
    assert [hit["url"] for hit in shown["hits"]] == [NEW_TRAM["url"]]

    # A lines file that cannot be written (here a folder): exit 1 naming it; the hit is owed, not lost.
    add_articles(index_dir, encoder, [DEPOT_TRAMS], "update-2")
    (tmp_path / "not-a-folder").write_text("")
    blocked = tmp_path / "not-a-folder" / "hits.jsonl"
    unwritable = newsdesk("check", "--file", str(blocked))
    assert unwritable.exit_code == 1 and f"could not write {blocked}" in unwritable.stderr
    assert DEPOT_TRAMS["title"] in unwritable.stdout
    owed = newsdesk("check", "--file", str(lines))
    assert owed.exit_code == 0 and "1 lines written" in owed.stdout
    assert [line["url"] for line in read_jsonl(lines)] == [NEW_TRAM["url"], DEPOT_TRAMS["url"]]
    assert json.loads(newsdesk("remove", "tram", "--json").output)["name"] == "tram"
    gone = newsdesk("remove", "tram")
    assert gone.exit_code == 1 and "no alert named 'tram'" in gone.output
