"""The search page in headless Chromium, against real servers over real indexes.

One browser and one tab serve the whole module; each server (sample index, injection index,
missing index) runs uvicorn in a background thread on a free localhost port.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
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


@pytest.fixture(scope="module")
def injection_site(tmp_path_factory, encoder) -> Iterator[str]:
    corpus = write_jsonl(tmp_path_factory.mktemp("injection") / "hostile.jsonl", INJECTION_RECORDS)
    index_dir = tmp_path_factory.mktemp("injection-index")
    build([corpus], index_dir, encoder)
    with serve(index_dir) as base:
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
    assert first.locator("time").get_attribute("datetime") == expected[0]["published"][:10]
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", first.locator("time").text_content())

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
    assert items.locator("a").evaluate_all("as => as.map(a => a.href)") == [r["url"] for r in expected]
    assert 0 < items.count() <= 5
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
