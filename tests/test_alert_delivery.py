"""The logic around alerts, on real SQLite, FAISS and loopback HTTP with the fast FakeEncoder (lexical mode, so
rankings follow the words): what counts as new, filters, failing webhooks and files, crash leftovers, the lock."""

from __future__ import annotations

import fcntl
import threading
import time
from datetime import date

import pytest

from index.build import build
from search.alerts import Alerts, AlertsBusyError, AlertSpec, RetryPolicy
from search.alerts.delivery import RetryPolicy as Policy
from search.alerts.delivery import WebhookPoster
from search.alerts.model import now_iso
from search.searcher import Searcher
from search.settings import Settings
from tests.conftest import read_jsonl, write_jsonl
from tests.fake_encoder import FakeEncoder
from tests.webhook_receiver import Receiver

FAST = RetryPolicy(attempts=2, backoff=0.01, give_up_after=2)


def tram(slug: str, source: str = "Harbor Times", date: str = "2026-02-01", times: int = 3) -> dict:
    return {
        "title": f"Tram news {slug}",
        "text": " ".join(["The tram line grows."] * times) + f" Report {slug}.",
        "url": f"https://news.example/{slug}",
        "date": date,
        "source": source,
    }


def filler(count: int) -> list[dict]:
    """Articles without the alerts' words: FTS5's BM25 gives a word in half the passages no weight at all."""
    return [
        {
            "title": f"Valley weather {n}",
            "text": f"Rain, then sun on day {n} in the valley; farmers expect a good harvest.",
            "url": f"https://news.example/weather-{n}",
            "date": "2026-01-10",
            "source": "Valley Courier",
        }
        for n in range(count)
    ]


def index(index_dir, records: list[dict], name: str) -> None:
    build([write_jsonl(index_dir.parent / "in" / f"{name}.jsonl", records)], index_dir, FakeEncoder())


def searcher_of(index_dir, **settings) -> Searcher:
    return Searcher.open(index_dir, Settings(index=index_dir, **settings), encoder=FakeEncoder())


def check(index_dir, **options):
    searcher = searcher_of(index_dir)
    try:
        return Alerts(index_dir, policy=FAST, **options).check(searcher)
    finally:
        searcher.close()


def add_alert(index_dir, spec: AlertSpec, **settings) -> None:
    searcher = searcher_of(index_dir, **settings)
    try:
        Alerts(index_dir).add(spec, searcher)
    finally:
        searcher.close()


@pytest.fixture
def index_dir(tmp_path):
    index(tmp_path / "idx", [tram(f"t{n}") for n in range(4)] + filler(12), "corpus")
    return tmp_path / "idx"


def test_an_old_article_rising_onto_the_first_page_is_not_new(tmp_path):
    index_dir = tmp_path / "idx"
    drifter = {
        **tram("drifter", times=1),
        "text": "A long council report on parks, roads and budgets. " * 30 + "A tram is mentioned.",
    }
    index(index_dir, [drifter], "old")
    stamp = now_iso()
    while now_iso() == stamp:  # the next build is stamped a second later: the drifter is older than it
        time.sleep(0.05)
    index(index_dir, [tram(f"t{n}", times=1) for n in range(10)] + filler(30), "corpus")
    # The backlog is the first page only here (max_k 10), so only `first_seen` can tell the drifter is old.
    add_alert(index_dir, AlertSpec("tram", "tram line", mode="lexical"), max_k=10)
    first_page = searcher_of(index_dir).search("tram line", mode="lexical").results
    assert drifter["url"] not in [r.url for r in first_page]

    # A correction makes it the best match; it keeps its first_seen, so it is not news.
    index(index_dir, [{**drifter, "text": "The tram line opens. Tram line stops. Tram line fares."}], "fix")
    assert drifter["url"] in [r.url for r in searcher_of(index_dir).search("tram line", mode="lexical").results]
    assert check(index_dir).new == []
    index(index_dir, [tram("fresh", times=6)], "update")
    assert [hit.url for hit in check(index_dir).new] == ["https://news.example/fresh"]
    assert check(index_dir).new == []


def test_filters_decide_what_an_alert_watches(index_dir):
    add_alert(index_dir, AlertSpec("harbor", "tram line", sources=("Harbor Times",), mode="lexical"))
    add_alert(index_dir, AlertSpec("since-feb", "tram line", date_from=date(2026, 2, 1), mode="lexical"))
    other_outlet = tram("valley", source="Valley Courier", times=6)
    too_old = tram("old-news", date="2025-06-01", times=6)
    index(index_dir, [other_outlet, too_old], "update")
    report = check(index_dir)
    assert sorted((hit.alert, hit.url) for hit in report.new) == [
        ("harbor", too_old["url"]),
        ("since-feb", other_outlet["url"]),
    ]


def test_a_webhook_answering_500_is_retried_and_delivered_at_the_next_check(index_dir):
    lines = index_dir / "alerts.jsonl"
    with Receiver(statuses=[500, 500]) as hook:
        add_alert(index_dir, AlertSpec("tram", "tram line", mode="lexical", webhook=hook.url))
        index(index_dir, [tram("a", times=6), tram("b", times=6)], "update")
        first = check(index_dir)
        assert len(first.new) == 2 and first.written == 2 and first.posted == 0 and not first.ok
        # Two tries of the first hit; the webhook being down, the second waits for the next check.
        assert [status for status, _ in hook.requests] == [500, 500]
        assert {p.target for p in first.problems} == {"webhook"} and not any(p.final for p in first.problems)
        assert all("HTTP 500" in p.error for p in first.problems)
        assert [h.webhook for h in Alerts(index_dir).detail("tram").hits] == ["pending", "pending"]

        second = check(index_dir)
        assert second.ok and second.new == [] and second.posted == 2
        assert sorted(body["url"] for body in hook.delivered) == sorted(line["url"] for line in read_jsonl(lines))
        assert len(read_jsonl(lines)) == 2  # the file got each hit once, whatever the webhook did
        assert check(index_dir).posted == 0 and len(hook.requests) == 4


def test_a_refused_webhook_is_marked_failed_shown_and_delivered_after_retry_failed(index_dir):
    with Receiver() as hook:
        url, port = hook.url, hook.port
    add_alert(index_dir, AlertSpec("tram", "tram line", mode="lexical", webhook=url))
    index(index_dir, [tram("a", times=6)], "update")
    first = check(index_dir)
    assert [p.final for p in first.problems] == [False] and "could not connect" in first.problems[0].error
    second = check(index_dir)
    assert [p.final for p in second.problems] == [True] and "retry-failed" in second.problems[0].error

    alert = Alerts(index_dir).list()[0]
    assert alert.hits == 1 and alert.undelivered == 1
    [hit] = Alerts(index_dir).detail("tram").hits
    assert hit.webhook == "failed" and "could not connect" in (hit.webhook_error or "")
    assert [line["url"] for line in read_jsonl(index_dir / "alerts.jsonl")] == [hit.url]  # not lost: in the file

    with Receiver(port=port) as hook:
        assert Alerts(index_dir).retry_failed("tram") == 1
        third = check(index_dir)
        assert third.ok and third.posted == 1 and [body["url"] for body in hook.delivered] == [hit.url]
    assert Alerts(index_dir).list()[0].undelivered == 0


def test_webhook_honours_retry_after_and_does_not_repeat_a_refused_request():
    policy = Policy(attempts=3, backoff=5.0)  # Retry-After: 0 replaces the 5 s backoff
    with Receiver(statuses=[429, 503], retry_after="0") as hook:
        poster = WebhookPoster(policy)
        assert poster.post(hook.url, {"n": 1}).ok
        assert [status for status, _ in hook.requests] == [429, 503, 200]
    with Receiver(statuses=[404]) as hook:
        result = poster.post(hook.url, {"n": 2})
        assert not result.ok and "HTTP 404" in result.error and len(hook.requests) == 1
    poster.close()


def test_a_line_not_written_is_owed_and_never_written_twice(index_dir, tmp_path):
    add_alert(index_dir, AlertSpec("tram", "tram line", mode="lexical"))
    index(index_dir, [tram("a", times=6)], "update")
    (tmp_path / "out").write_text("")  # a file where the folder should be: the line cannot be written
    lines = tmp_path / "out" / "alerts.jsonl"
    failed = check(index_dir, lines_file=lines)
    assert [(p.target, p.final) for p in failed.problems] == [("file", False)] and failed.written == 0
    [hit] = failed.new

    # As if a check had written the line and died before marking it: the next one must not repeat it.
    (tmp_path / "out").unlink()
    write_jsonl(lines, [hit.line()])
    assert check(index_dir, lines_file=lines).written == 0
    assert read_jsonl(lines) == [hit.line()]

    # A line cut off mid-write is closed first, so the next hit's line stays readable.
    with open(lines, "a", encoding="utf-8") as handle:
        handle.write('{"alert": "tr')
    index(index_dir, [tram("b", times=6)], "update-2")
    assert check(index_dir, lines_file=lines).written == 1
    last = lines.read_text(encoding="utf-8").splitlines()[-1]
    assert '"https://news.example/b"' in last


def test_two_checks_at_once_report_a_hit_once(index_dir):
    with Receiver() as hook:
        add_alert(index_dir, AlertSpec("tram", "tram line", mode="lexical", webhook=hook.url))
        index(index_dir, [tram("a", times=6)], "update")
        searcher = searcher_of(index_dir)
        reports = []
        threads = [
            threading.Thread(target=lambda: reports.append(Alerts(index_dir, policy=FAST).check(searcher)))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        searcher.close()
        assert sum(len(r.new) for r in reports) == 1 and sum(r.written for r in reports) == 1
        assert len(read_jsonl(index_dir / "alerts.jsonl")) == 1 and len(hook.requests) == 1


def test_a_check_waits_for_the_lock_and_says_so_when_it_gives_up(index_dir):
    add_alert(index_dir, AlertSpec("tram", "tram line", mode="lexical"))
    searcher = searcher_of(index_dir)
    with open(index_dir / "alerts.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(AlertsBusyError, match="another alerts check"):
            Alerts(index_dir, lock_wait=0.3).check(searcher)
    assert Alerts(index_dir).check(searcher).checked == 1
    searcher.close()
