"""The search page in headless Chromium, against real servers on loopback.

One browser and one tab serve the whole module; each server (sample index, injection index,
missing index, the league index of the time features) runs uvicorn in a background thread on a free
localhost port. The time features of issue 13 (as_of, sort, time chips, coverage facets, snippets) run
against the real app over an index of tests/fixture_api.ARTICLES; the page's wording of dates, its
fallback for a server without snippets and hostile snippets run against tests/fixture_api.py, a small
server answering by the issue-13 API contract from the same articles.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import urlopen

import pytest

from index.build import build
from scripts.screenshot import CHROMIUM, CHROMIUM_ARGS
from search.api import create_app
from search.live import serve_in_background
from search.settings import Settings
from tests.conftest import write_jsonl
from tests.fixture_api import ARTICLES, create_fixture_app

pytestmark = pytest.mark.browser

TIMEOUT_MS = 15_000

PAYLOAD_SCRIPT = "<script>window.__pwned=1</script>"
PAYLOAD_IMG = '<img src=x onerror="window.__pwned=1">'
PAYLOAD_URL = "javascript:window.__pwned=1"
INJECTION_RECORDS = [
    {
        "title": f"Harbour ferry timetable {PAYLOAD_SCRIPT} changes",
        "text": f"The harbour ferry timetable changes next month. {PAYLOAD_IMG} Commuters on the harbour ferry "
        "will see earlier departures and a new late crossing on Fridays, the operator said.",
        "url": PAYLOAD_URL,
        "source": f"Evil <b>Outlet</b> {PAYLOAD_IMG}",
        "author": f"Mallory {PAYLOAD_SCRIPT}",
        "date": "2026-01-05",
    },
    {
        "title": f"Ferry operator {PAYLOAD_IMG} answers harbour timetable questions",
        "text": f"Passengers asked the harbour ferry operator about the timetable. {PAYLOAD_SCRIPT} The operator "
        "said the new ferry timetable keeps the first crossing at six.",
        "url": "https://evil.example/ferry-questions",
        "source": f"{PAYLOAD_SCRIPT}Harbour Gazette",
        "date": "2026-01-06",
    },
    {
        "title": "Harbour ferry crews train on the new timetable",
        "text": "Crews on the harbour ferry trained this week for the new timetable, which adds a late crossing.",
        "url": "data:text/html,<script>window.__pwned=1</script>",
        "source": "Plain Post",
        "date": "2026-01-07",
    },
]


# --- servers ----------------------------------------------------------------------------------


@contextmanager
def serve(index_dir: Path) -> Iterator[str]:
    """The API app over `index_dir` on a free localhost port, for the duration of the block."""
    with serve_in_background(create_app(Settings(index=index_dir))) as base:
        yield base


@pytest.fixture(scope="module")
def site(sample_index) -> Iterator[str]:
    with serve(sample_index) as base:
        yield base


@contextmanager
def serve_records(tmp_path_factory, encoder, name: str, records: list[dict]) -> Iterator[str]:
    """The API app over a new index of `records` (built with the real model), for the duration of the block."""
    corpus = write_jsonl(tmp_path_factory.mktemp(name) / f"{name}.jsonl", records)
    index_dir = tmp_path_factory.mktemp(f"{name}-index")
    build([corpus], index_dir, encoder)
    with serve(index_dir) as base:
        yield base


@pytest.fixture(scope="module")
def injection_site(tmp_path_factory, encoder) -> Iterator[str]:
    with serve_records(tmp_path_factory, encoder, "injection", INJECTION_RECORDS) as base:
        yield base


@pytest.fixture(scope="module")
def missing_site(tmp_path_factory) -> Iterator[str]:
    with serve(tmp_path_factory.mktemp("no-index") / "index") as base:
        yield base


def api(base: str, path: str, **params) -> dict:
    query = urlencode(params, doseq=True)
    with urlopen(f"{base}{path}?{query}", timeout=30) as response:
        return json.load(response)


def api_error(base: str, path: str, **params) -> str:
    try:
        api(base, path, **params)
    except HTTPError as exc:
        return json.load(exc)["error"]["message"]
    raise AssertionError(f"{path} did not fail")


# --- browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page():
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium — run `make browser`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        # Console errors include CSP violations; failed API calls (the error tests) are expected.
        tab.on(
            "console",
            lambda msg: msg.type == "error" and "Failed to load resource" not in msg.text and errors.append(msg.text),
        )
        tab.errors = errors
        yield tab
        context.close()
        browser.close()


@pytest.fixture
def fresh(page):
    """The shared tab with its page-error log emptied; a test fails if the page threw."""
    page.errors.clear()
    yield page
    assert not page.errors, f"the page threw: {page.errors}"


def open_search(page, base: str, **params) -> None:
    page.goto(f"{base}/?{urlencode(params, doseq=True)}")
    wait_settled(page)


def wait_settled(page) -> None:
    """Until the page shows results, the empty state or an error (not 'Searching…')."""
    page.wait_for_function(
        "() => !document.querySelector('#results[aria-busy]') &&"
        " (document.querySelector('.result') || !document.querySelector('#empty').hidden"
        "  || !document.querySelector('#error').hidden)"
    )


def result_ids(page) -> list[str]:
    return page.locator(".result").evaluate_all("items => items.map(i => i.dataset.id)")


def outlet(page, name: str):
    return page.locator(f'#source-options input[type=checkbox][value="{name}"]')


def url_params(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


# --- search -----------------------------------------------------------------------------------


def test_search_shows_results_linked_to_their_source_articles(fresh, site):
    query = "heat pump rebate older homes"
    open_search(fresh, site, q=query)
    expected = api(site, "/api/search", q=query, k=10)["results"]
    assert result_ids(fresh) == [r["id"] for r in expected]

    first = fresh.locator(".result").first
    link = first.locator(".result-title a")
    assert link.get_attribute("href") == expected[0]["url"]
    assert link.get_attribute("target") == "_blank"
    assert set(link.get_attribute("rel").split()) >= {"noopener", "noreferrer"}
    assert link.text_content() == expected[0]["title"]
    assert first.locator(".result-source").text_content() == expected[0]["source"]
    when = first.locator("time")
    assert when.get_attribute("datetime") == expected[0]["published"][:10]
    assert re.fullmatch(r"today|yesterday|\d+ (day|week|month|year)s? ago", when.text_content())
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}(, \d{2}:\d{2})?", when.get_attribute("title"))

    marks = first.locator(".result-passage mark").all_text_contents()
    passage, spans = expected[0]["passage"], expected[0]["highlights"]
    assert marks == [passage[start:end] for start, end in spans]
    assert first.locator(".result-passage").text_content().endswith(passage)
    assert "Results 1–" in fresh.locator("#status").text_content()
    assert fresh.title().startswith(query)


def test_slash_focuses_the_box_and_enter_searches(fresh, site):
    fresh.goto(f"{site}/")
    fresh.locator("body").click(position={"x": 5, "y": 5})
    fresh.keyboard.press("/")
    assert fresh.evaluate("document.activeElement.id") == "q"
    fresh.keyboard.type("Gannet Ridge wind farm")
    fresh.keyboard.press("Enter")
    wait_settled(fresh)
    assert url_params(fresh)["q"] == ["Gannet Ridge wind farm"]
    assert fresh.locator(".result").count() > 0

    fresh.locator("#from").focus()
    fresh.keyboard.press("/")
    assert fresh.evaluate("document.activeElement.id") == "from"  # typing in a field is left alone


def test_loading_state_is_announced(fresh, site):
    open_search(fresh, site, q="wind farm")
    fresh.evaluate(
        """() => {
            window.__seen = [];
            new MutationObserver(() => window.__seen.push([
                document.getElementById("status").textContent,
                document.getElementById("results").getAttribute("aria-busy"),
            ])).observe(document.getElementById("main"), {subtree: true, childList: true, attributes: true});
        }"""
    )
    fresh.locator("#q").fill("district heating network")
    fresh.keyboard.press("Enter")
    wait_settled(fresh)
    seen = fresh.evaluate("window.__seen")
    assert ["Searching…", "true"] in seen
    assert fresh.locator("#results").get_attribute("aria-busy") is None
    assert fresh.locator("#status").get_attribute("aria-live") == "polite"


def test_story_copies_show_as_also_covered_by(fresh, site):
    open_search(fresh, site, q="Gannet Ridge wind farm output")
    also = fresh.locator(".result-also").first
    assert also.text_content().startswith("Also covered by ")
    for link in also.locator("a").all():
        assert link.get_attribute("href").startswith("https://")
        assert link.get_attribute("rel") == "noopener noreferrer"


def test_outlet_filter_narrows_results_and_is_kept_in_the_url(fresh, site):
    open_search(fresh, site, q="wind farm")
    everything = set(fresh.locator(".result-source").all_text_contents())
    assert len(everything) > 1
    outlet(fresh, "Valley Courier").check()
    fresh.wait_for_url(re.compile(r"source=Valley\+Courier"))
    wait_settled(fresh)
    assert set(fresh.locator(".result-source").all_text_contents()) == {"Valley Courier"}
    assert url_params(fresh)["source"] == ["Valley Courier"]

    outlet(fresh, "Metro Wire").check()
    fresh.wait_for_url(re.compile(r"source=Metro\+Wire"))
    wait_settled(fresh)
    assert sorted(url_params(fresh)["source"]) == ["Metro Wire", "Valley Courier"]
    assert set(fresh.locator(".result-source").all_text_contents()) <= {"Valley Courier", "Metro Wire"}


def test_date_filter_narrows_results(fresh, site):
    open_search(fresh, site, q="transport")
    assert len(set(fresh.locator(".result time").evaluate_all("ts => ts.map(t => t.dateTime)"))) > 1
    fresh.locator("#from").fill("2026-02-10")
    fresh.wait_for_url(re.compile(r"from=2026-02-10"))
    fresh.locator("#to").fill("2026-02-10")
    fresh.wait_for_url(re.compile(r"to=2026-02-10"))
    wait_settled(fresh)
    days = fresh.locator(".result time").evaluate_all("ts => ts.map(t => t.dateTime)")
    assert days and set(days) == {"2026-02-10"}


def test_related_lists_related_articles_and_toggles(fresh, site):
    open_search(fresh, site, q="heat pump rebate older homes")
    first = fresh.locator(".result").first
    article_id = first.get_attribute("data-id")
    button = first.get_by_role("button", name="Related")
    button.click()
    items = first.locator(".related-item")
    items.first.wait_for()
    expected = api(site, f"/api/articles/{article_id}/related", k=5)["results"]
    # An article without a URL is listed by its title alone, without a link.
    assert items.locator("a").evaluate_all("as => as.map(a => a.href)") == [r["url"] for r in expected if r["url"]]
    assert items.count() == len(expected) and 0 < items.count() <= 5
    assert button.get_attribute("aria-expanded") == "true"
    button.click()
    assert button.get_attribute("aria-expanded") == "false"
    assert first.locator(".related").is_hidden()


def test_related_follows_the_active_outlet_filter(fresh, site):
    open_search(fresh, site, q="wind farm", source="Valley Courier")
    first = fresh.locator(".result").first
    article_id = first.get_attribute("data-id")
    first.get_by_role("button", name="Related").click()
    first.locator(".related-item, .related-status").first.wait_for()
    fresh.wait_for_function("() => !document.querySelector('.related[aria-busy=\"true\"]')")
    expected = api(site, f"/api/articles/{article_id}/related", k=5, source="Valley Courier")["results"]
    shown = first.locator(".related-item a").evaluate_all("as => as.map(a => a.href)")
    assert shown == [r["url"] for r in expected]


def test_pagination_and_back_forward(fresh, site):
    open_search(fresh, site, q="city council")
    assert fresh.locator("#prev").is_disabled()
    page_one = result_ids(fresh)
    assert len(page_one) == 10

    fresh.locator("#next").click()
    fresh.wait_for_url(re.compile(r"page=2"))
    wait_settled(fresh)
    page_two = result_ids(fresh)
    assert page_two and not set(page_two) & set(page_one)
    assert page_two == [r["id"] for r in api(site, "/api/search", q="city council", k=10, offset=10)["results"]]
    assert fresh.locator("#page-label").text_content() == "Page 2"

    fresh.locator("#prev").click()
    fresh.wait_for_url(lambda url: "page=" not in url)
    wait_settled(fresh)
    assert result_ids(fresh) == page_one

    fresh.go_back()
    fresh.wait_for_url(re.compile(r"page=2"))
    wait_settled(fresh)
    assert result_ids(fresh) == page_two
    fresh.go_forward()
    fresh.wait_for_url(lambda url: "page=" not in url)
    wait_settled(fresh)
    assert result_ids(fresh) == page_one


def test_url_state_survives_reload_and_back(fresh, site):
    open_search(fresh, site, q="wind farm", source=["Valley Courier", "Metro Wire"], **{"from": "2025-01-01"})
    first_ids = result_ids(fresh)
    fresh.reload()
    wait_settled(fresh)
    assert fresh.locator("#q").input_value() == "wind farm"
    assert fresh.locator("#from").input_value() == "2025-01-01"
    assert outlet(fresh, "Valley Courier").is_checked() and outlet(fresh, "Metro Wire").is_checked()
    assert not outlet(fresh, "The Northern Ledger").is_checked()
    assert result_ids(fresh) == first_ids

    fresh.locator("#q").fill("heat pump")
    fresh.keyboard.press("Enter")
    fresh.wait_for_url(re.compile(r"q=heat\+pump"))
    wait_settled(fresh)
    fresh.go_back()
    fresh.wait_for_url(re.compile(r"q=wind\+farm"))
    wait_settled(fresh)
    assert fresh.locator("#q").input_value() == "wind farm"
    assert result_ids(fresh) == first_ids


def test_empty_state(fresh, site):
    open_search(fresh, site, q="wind farm", **{"from": "1990-01-01", "to": "1990-12-31"})
    assert fresh.locator("#empty").is_visible()
    assert "No articles match — try fewer filters" in fresh.locator("#empty").text_content()
    assert fresh.locator(".result").count() == 0 and fresh.locator("#pager").is_hidden()


def test_api_errors_are_shown(fresh, site, missing_site):
    open_search(fresh, site, q="x" * 600)
    error = fresh.locator("#error")
    assert error.is_visible()
    assert "at most 500 characters" in error.text_content()

    open_search(fresh, site, q="wind", **{"from": "2026-02-01", "to": "2025-01-01"})
    assert "is after to" in error.text_content()

    open_search(fresh, missing_site, q="wind farm")
    message = api_error(missing_site, "/api/search", q="wind farm")
    assert message and message in error.text_content()
    assert "Outlets are unavailable" in fresh.locator("#source-options").text_content()


def test_injected_markup_and_javascript_urls_stay_inert(fresh, injection_site):
    found = api(injection_site, "/api/search", q="harbour ferry timetable")["results"]
    assert PAYLOAD_URL in {r["url"] for r in found}, "the fixture must reach the page unchanged"

    open_search(fresh, injection_site, q="harbour ferry timetable")
    fresh.wait_for_timeout(200)  # give any injected handler (an <img onerror>) its chance to run
    results = fresh.locator("#results")
    assert results.locator(".result").count() == len(INJECTION_RECORDS)
    assert results.locator("img, script, b").count() == 0
    assert fresh.locator("#source-options img, #source-options script, #source-options b").count() == 0
    titles = results.locator(".result-title").all_text_contents()
    assert any(PAYLOAD_SCRIPT in t for t in titles) and any(PAYLOAD_IMG in t for t in titles)
    assert any(PAYLOAD_IMG in t for t in results.locator(".result-passage").all_text_contents())
    assert f"Evil <b>Outlet</b> {PAYLOAD_IMG}" in fresh.locator("#source-options").text_content()

    hostile = results.locator(".result", has_text=PAYLOAD_SCRIPT + " changes")
    assert hostile.locator(".result-title a").count() == 0
    assert PAYLOAD_URL in hostile.locator(".result-raw-url").text_content()
    hostile.locator(".result-title").click()  # plain text: nothing to follow

    fresh.locator(".related-button").first.click()
    fresh.locator(".related-item").first.wait_for()
    fresh.wait_for_timeout(100)

    hrefs = fresh.locator("a[href]").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert all(h.startswith(("http://", "https://", "/", "./", "#")) for h in hrefs), hrefs
    assert fresh.evaluate("typeof window.__pwned") == "undefined"
    assert urlsplit(fresh.url).netloc == urlsplit(injection_site).netloc


# --- layout and accessibility -----------------------------------------------------------------


def test_phone_width_has_no_sideways_scroll_and_every_field_is_labelled(fresh, site):
    fresh.set_viewport_size({"width": 360, "height": 740})
    try:
        open_search(fresh, site, q="Gannet Ridge wind farm output")
        fresh.locator(".related-button").first.click()
        fresh.locator(".related-item").first.wait_for()
        assert fresh.evaluate("document.documentElement.scrollWidth") <= 360
        assert fresh.locator("#source-options").is_hidden()  # results first; filters behind a button
        fresh.locator("#filters-toggle").click()
        assert outlet(fresh, "Valley Courier").is_visible()
        assert fresh.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        fresh.set_viewport_size({"width": 1280, "height": 900})
    unlabelled = fresh.locator("input, select").evaluate_all(
        "els => els.filter(e => !e.labels || e.labels.length === 0).map(e => e.outerHTML)"
    )
    assert unlabelled == []
    assert fresh.locator("[aria-live]").count() >= 1


# --- time, coverage and snippets (issue 13) ----------------------------------------------------
# `time_site` is the real app over an index of fixture_api.ARTICLES (a league's season in March 2020);
# `contract_site` is tests/fixture_api.py answering by the issue-13 contract from the same articles, for
# what depends on the page alone. Expectations are read from the API's own answers (or are what a
# reader sees).

TIME_QUESTION = "which league had a player test positive this week?"
AS_OF = "2020-03-13"


@pytest.fixture(scope="module")
def time_site(tmp_path_factory, encoder) -> Iterator[str]:
    with serve_records(tmp_path_factory, encoder, "league", ARTICLES) as base:
        yield base


@pytest.fixture(scope="module")
def contract_site() -> Iterator[str]:
    with serve_in_background(create_fixture_app()) as base:
        yield base


@pytest.fixture(scope="module")
def hostile_time_site() -> Iterator[str]:
    padding = "Readers wrote in about the crossing all week. " * 8  # long enough to be cut to a snippet
    records = [{**record, "text": padding + record["text"]} for record in INJECTION_RECORDS]
    with serve_in_background(create_fixture_app(records)) as base:
        yield base


def search_sent(page, action: Callable[[], object]) -> dict[str, list[str]]:
    """The query of the /api/search request that `action` makes the page send, once its answer is shown."""
    with page.expect_request(lambda request: urlsplit(request.url).path == "/api/search") as request:
        action()
    wait_settled(page)
    return parse_qs(urlsplit(request.value.url).query)


def dates_shown(page) -> dict[str, tuple[str, str]]:
    """{datetime attribute: (text, hover title)} of the results' dates."""
    pairs = page.locator(".result time").evaluate_all("ts => ts.map(t => [t.dateTime, t.textContent, t.title])")
    return {when: (text, title) for when, text, title in pairs}


def test_newest_first_toggle_sends_sort_and_stays_in_the_url(fresh, time_site):
    open_search(fresh, time_site, q="league player")
    toggle = fresh.get_by_label("Newest first")
    sent = search_sent(fresh, toggle.check)
    assert sent["sort"] == ["newest"] and url_params(fresh)["sort"] == ["newest"]
    expected = api(time_site, "/api/search", q="league player", k=10, sort="newest")["results"]
    assert result_ids(fresh) == [r["id"] for r in expected]
    days = [r["published"] for r in expected if r["published"]]
    assert days == sorted(days, reverse=True)
    assert fresh.locator("#status").text_content().endswith("newest first")

    fresh.reload()
    wait_settled(fresh)
    assert toggle.is_checked()
    sent = search_sent(fresh, toggle.uncheck)
    assert "sort" not in sent and "sort" not in url_params(fresh)


def test_time_words_show_as_a_chip_and_removing_it_searches_without_them(fresh, time_site):
    open_search(fresh, time_site, q=TIME_QUESTION, as_of=AS_OF)
    applied = api(time_site, "/api/search", q=TIME_QUESTION, as_of=AS_OF, k=10)
    assert applied["time_range"]["origin"] == "question"
    chip = fresh.locator(".chip-time")
    assert chip.locator(".chip-text").text_content() == "this week · 6–13 Mar 2020"
    assert set(dates_shown(fresh)) <= {f"2020-03-{day:02d}" for day in range(6, 14)}

    sent = search_sent(fresh, chip.get_by_role("button", name=re.compile("Remove the dates")).click)
    assert sent["time_words"] == ["false"] and url_params(fresh)["time_words"] == ["false"]
    assert fresh.locator(".chip-time").count() == 0
    wider = api(time_site, "/api/search", q=TIME_QUESTION, as_of=AS_OF, k=10, time_words="false")
    assert wider["time_range"] is None
    assert result_ids(fresh) == [r["id"] for r in wider["results"]]
    assert min(dates_shown(fresh)) < "2020-03-06"

    sent = search_sent(fresh, fresh.get_by_role("button", name="Read dates in the question").click)
    assert "time_words" not in sent
    assert fresh.locator(".chip-time").is_visible()


def test_a_when_window_shows_as_a_chip_that_clears_it(fresh, time_site):
    open_search(fresh, time_site, q="league player", as_of=AS_OF, when="7d")
    chip = fresh.locator(".chip-when")
    assert chip.locator(".chip-text").text_content() == "past 7 days · 6–13 Mar 2020"
    sent = search_sent(fresh, chip.get_by_role("button").click)
    assert "when" not in sent and "when" not in url_params(fresh)
    assert sent["as_of"] == [AS_OF]
    assert fresh.locator(".chip-when").count() == 0


def test_as_of_is_a_date_under_the_filters_sent_kept_and_shown(fresh, time_site):
    open_search(fresh, time_site, q="league player")
    assert max(dates_shown(fresh)) > AS_OF  # without as_of, later articles are there
    sent = search_sent(fresh, lambda: fresh.get_by_label("Date", exact=True).fill(AS_OF))
    assert sent["as_of"] == [AS_OF] and url_params(fresh)["as_of"] == [AS_OF]
    assert max(dates_shown(fresh)) <= AS_OF
    assert fresh.locator(".chip-as-of .chip-text").text_content() == "as of 13 Mar 2020"
    assert "as of 13 Mar 2020" in fresh.locator("#as-of-note").text_content()

    fresh.reload()
    wait_settled(fresh)
    assert fresh.locator("#as-of").input_value() == AS_OF
    sent = search_sent(fresh, fresh.locator(".chip-as-of").get_by_role("button").click)
    assert "as_of" not in sent and fresh.locator("#as-of").input_value() == ""


def test_dates_read_as_time_ago_with_the_full_date_on_hover(fresh, contract_site):
    open_search(fresh, contract_site, q="league player", as_of=AS_OF, sort="newest")
    shown = dates_shown(fresh)
    assert shown["2020-03-13"] == ("today", "13 Mar 2020")
    assert shown["2020-03-12"] == ("yesterday", "12 Mar 2020")
    assert shown["2020-03-10"] == ("3 days ago", "10 Mar 2020")
    assert shown["2020-02-27"] == ("2 weeks ago", "27 Feb 2020")

    open_search(fresh, contract_site, q="league player", sort="newest")  # no as_of: relative to today
    years = math.floor((date.today() - date(2020, 3, 13)).days / 365.25)
    assert dates_shown(fresh)["2020-03-13"] == (f"{years} year{'s' * (years != 1)} ago", "13 Mar 2020")


def test_a_result_shows_its_snippet_and_the_full_passage_on_demand(fresh, time_site):
    open_search(fresh, time_site, q=TIME_QUESTION, as_of=AS_OF)
    results = api(time_site, "/api/search", q=TIME_QUESTION, as_of=AS_OF, k=10)["results"]
    top = results[0]
    assert len(top["snippet"]) < len(top["passage"])
    item = fresh.locator(f'.result[data-id="{top["id"]}"]')
    short, whole = item.locator(".result-snippet"), item.locator(".result-passage")
    assert short.text_content() == top["snippet"]
    assert short.locator("mark").all_text_contents() == [top["snippet"][s:e] for s, e in top["snippet_highlights"]]
    assert whole.is_hidden()

    button = item.get_by_role("button", name="Show full passage")
    button.click()
    assert whole.is_visible() and short.is_hidden()
    assert whole.locator("mark").all_text_contents() == [top["passage"][s:e] for s, e in top["highlights"]]
    assert item.locator(".passage-button").get_attribute("aria-expanded") == "true"
    item.locator(".passage-button").click()
    assert short.is_visible() and whole.is_hidden()


def test_a_result_without_a_snippet_shows_its_passage(fresh, contract_site):
    # A server from before issue 13 sends no snippet: the passage is shown as before, nothing to unfold.
    open_search(fresh, contract_site, q=TIME_QUESTION, as_of=AS_OF)
    results = api(contract_site, "/api/search", q=TIME_QUESTION, as_of=AS_OF, k=10)["results"]
    bare = next(r for r in results if "snippet" not in r)
    bare_item = fresh.locator(f'.result[data-id="{bare["id"]}"]')
    assert bare_item.locator(".result-passage").is_visible()
    assert bare_item.locator(".passage-button, .result-snippet").count() == 0


def test_coverage_timeline_has_a_bar_per_bucket_and_a_bar_narrows_the_dates(fresh, time_site):
    # Without as_of the matches run from 10 Feb to 20 Mar: past a month, so one bar per week.
    open_search(fresh, time_site, q="league player")
    facets = api(time_site, "/api/search", q="league player", k=10, facets="true")["facets"]
    buckets = facets["dates"]
    assert facets["interval"] == "week"
    assert len(buckets) >= 3 and any(b["count"] == 0 for b in buckets), "the fixture needs an empty bucket"
    bars = fresh.locator("#coverage svg .bar")
    assert bars.count() == len(buckets)
    labels = bars.evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))")
    week = next(b for b in buckets if b["start"] == "2020-03-09")
    assert f"{week['count']} articles, 9–15 Mar 2020" in labels
    drawn = bars.locator(".bar-fill").evaluate_all("rs => rs.map(r => r.getBoundingClientRect().height)")
    busiest = max(b["count"] for b in buckets)
    tallest = max(drawn)
    assert tallest > 20
    for bucket, height in zip(buckets, drawn, strict=True):
        assert height == pytest.approx(tallest * bucket["count"] / busiest, abs=0.5)

    # Keyboard: the chart is one tab stop; arrows move between bars, Enter picks one.
    first = next(i for i, b in enumerate(buckets) if b["count"])
    bars.nth(len(buckets) - 1).focus()
    for _ in range(len(buckets) - 1 - first):
        fresh.keyboard.press("ArrowLeft")
    sent = search_sent(fresh, lambda: fresh.keyboard.press("Enter"))
    assert (sent["from"], sent["to"]) == ([buckets[first]["start"]], [buckets[first]["end"]])

    fresh.go_back()
    wait_settled(fresh)
    sent = search_sent(fresh, fresh.get_by_role("button", name=f"{week['count']} articles, 9–15 Mar 2020").click)
    assert (sent["from"], sent["to"]) == (["2020-03-09"], ["2020-03-15"])
    assert url_params(fresh)["from"] == ["2020-03-09"] and url_params(fresh)["to"] == ["2020-03-15"]
    assert fresh.locator("#from").input_value() == "2020-03-09"
    assert set(dates_shown(fresh)) <= {f"2020-03-{day:02d}" for day in range(9, 16)}
    assert fresh.locator('#coverage .bar[aria-pressed="true"]').count() == 1


def test_outlet_counts_are_those_of_the_search_on_screen(fresh, time_site):
    open_search(fresh, time_site, q=TIME_QUESTION, as_of=AS_OF)
    fresh.wait_for_function("() => !document.querySelector('#source-note')")  # outlets loaded
    facets = api(time_site, "/api/search", q=TIME_QUESTION, as_of=AS_OF, k=10, facets="true")["facets"]
    expected = {s["value"]: s["count"] for s in facets["sources"]}
    pairs = fresh.locator(".source-option").evaluate_all(
        "ls => ls.map(l => [l.querySelector('.source-name').textContent, l.querySelector('.source-count').textContent])"
    )
    shown = {name: int(re.match(r"\d+", count).group()) for name, count in pairs}
    assert shown == {name: expected.get(name, 0) for name in shown}
    assert shown != api(time_site, "/api/stats")["sources"], "the search's counts, not the archive's"
    assert "matching this search" in fresh.locator("#source-group").text_content()


def test_snippets_of_hostile_articles_stay_text(fresh, hostile_time_site):
    open_search(fresh, hostile_time_site, q="harbour ferry timetable")
    fresh.wait_for_timeout(200)  # give any injected handler (an <img onerror>) its chance to run
    results = fresh.locator("#results")
    assert results.locator(".result-snippet").count() > 0
    assert results.locator("img, script, b").count() == 0
    assert any(PAYLOAD_IMG in t for t in results.locator(".result-snippet").all_text_contents())
    assert fresh.evaluate("typeof window.__pwned") == "undefined"


@pytest.mark.parametrize("width", [320, 360, 400])
def test_time_controls_and_timeline_fit_a_phone(fresh, time_site, width):
    fresh.set_viewport_size({"width": width, "height": 740})
    try:
        open_search(fresh, time_site, q=TIME_QUESTION, as_of=AS_OF, sort="newest", source="Metro Wire")
        assert fresh.locator(".chip-time").is_visible() and fresh.locator("#coverage").is_visible()
        assert fresh.evaluate("document.documentElement.scrollWidth") <= width
        chart = fresh.locator("#coverage svg").bounding_box()
        column = fresh.locator("#results").bounding_box()
        assert chart["x"] >= 0 and chart["x"] + chart["width"] <= column["x"] + column["width"] + 0.5
        fresh.locator("#filters-toggle").click()
        assert fresh.locator("#as-of").is_visible()
        assert fresh.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        fresh.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.parametrize(
    ("published", "reference", "shown"),
    [
        ("2020-03-13T18:00:00+00:00", "2020-03-13", "today"),
        ("2020-03-12", "2020-03-13", "yesterday"),
        ("2020-02-29", "2020-03-13", "13 days ago"),
        ("2020-02-28", "2020-03-13", "2 weeks ago"),
        ("2020-01-14", "2020-03-13", "8 weeks ago"),
        ("2020-01-13", "2020-03-13", "2 months ago"),
        ("2019-03-15", "2020-03-13", "11 months ago"),
        ("2019-03-14", "2020-03-13", "1 year ago"),
        ("2010-03-13", "2020-03-13", "10 years ago"),
        ("2020-03-14", "2020-03-13", None),  # after the reference: the plain date is shown instead
        ("sometime in 2020", "2020-03-13", None),
    ],
)
def test_time_ago_wording(fresh, contract_site, published, reference, shown):
    if not fresh.url.startswith(contract_site):
        fresh.goto(f"{contract_site}/")
    assert fresh.evaluate("([p, r]) => window.newsdeskDates.relativeDay(p, r)", [published, reference]) == shown


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        ("2020-03-09", "2020-03-15", "9–15 Mar 2020"),
        ("2020-03-13", "2020-03-13", "13 Mar 2020"),
        ("2020-02-24", "2020-03-01", "24 Feb – 1 Mar 2020"),
        ("2019-12-30", "2020-01-05", "30 Dec 2019 – 5 Jan 2020"),
        ("2020-01-01", None, "since 1 Jan 2020"),
        (None, "2020-03-08", "until 8 Mar 2020"),
    ],
)
def test_date_range_wording(fresh, contract_site, start, end, shown):
    if not fresh.url.startswith(contract_site):
        fresh.goto(f"{contract_site}/")
    assert fresh.evaluate("([a, b]) => window.newsdeskDates.formatRange(a, b)", [start, end]) == shown
