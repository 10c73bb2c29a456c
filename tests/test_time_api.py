"""Search in time (issue 13) with the real model over the sample corpus: the HTTP API's parameters, errors
and schema, and the CLI's flags (search and eval)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from search.api import create_app
from search.cli import main
from search.settings import Settings
from tests.conftest import REPO, read_jsonl, write_jsonl

WIND_FARM = read_jsonl(REPO / "data" / "eval" / "sample_stories.jsonl")[0]["urls"]
SAMPLE_QUESTIONS = read_jsonl(REPO / "data" / "eval" / "sample_questions.jsonl")


@pytest.fixture(scope="module")
def client(sample_index, encoder):
    with TestClient(create_app(Settings(index=sample_index))) as test_client:
        yield test_client


def search(client, **params) -> dict:
    response = client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def shown_urls(body: dict) -> set[str]:
    return {r["url"] for r in body["results"]} | {c["url"] for r in body["results"] for c in r["also"]}


def test_as_of_leaves_out_what_was_published_after_it_to_the_minute(client):
    # The three outlets' copies of the wind-farm story: Valley Courier dated 2025-11-18 (no time), The
    # Northern Ledger 10:05 (no zone: UTC), Harbor City Times 07:45-05:00 (12:45 UTC).
    question = "Gannet Ridge offshore wind farm full output"
    everything = shown_urls(search(client, q=question, k=10))
    assert set(WIND_FARM) <= everything
    body = search(client, q=question, k=10, as_of="2025-11-18T11:00:00Z")
    assert body["as_of"] == "2025-11-18T11:00:00+00:00"
    published = {r["published"] for r in body["results"]} | {c["published"] for r in body["results"] for c in r["also"]}
    assert "2025-11-18" in published and "2025-11-18T10:05:00" in published
    assert "2025-11-18T07:45:00-05:00" not in published
    assert all(p is None or p[:10] <= "2025-11-18" for p in published)


def test_time_words_and_when_restrict_the_dates_and_are_echoed(client):
    body = search(client, q="wind farm this week", as_of="2025-11-20")
    assert body["time_range"] == {
        "start": "2025-11-13",
        "end": "2025-11-20",
        "words": "this week",
        "label": "this week",
        "origin": "question",
    }
    assert body["results"] and all("2025-11-13" <= r["published"][:10] <= "2025-11-20" for r in body["results"])
    assert set(WIND_FARM) <= shown_urls(body)
    windowed = search(client, q="wind farm", as_of="2025-11-20", when="30d")
    assert windowed["time_range"]["origin"] == "when" and windowed["time_range"]["start"] == "2025-10-21"
    off = search(client, q="wind farm this week", as_of="2025-11-20", time_words="false")
    assert off["time_range"] is None


def test_newest_first_lists_the_matching_articles_with_facets(client):
    body = search(client, q="wind farm", sort="newest", facets="true", k=50)
    assert body["sort"] == "newest" and body["recency"] == "default"
    days = [r["published"][:10] for r in body["results"] if r["published"]]
    assert days == sorted(days, reverse=True)
    assert set(WIND_FARM) <= shown_urls(body)
    titles = " ".join(r["title"] for r in body["results"]).lower()
    assert "wind" in titles and "mariners" not in titles  # neither everything nor nothing
    facets = body["facets"]
    assert set(facets) == {"total", "sources", "interval", "dates", "undated"}
    articles = len(body["results"]) + sum(len(r["also"]) for r in body["results"])
    assert facets["total"] == articles == sum(s["count"] for s in facets["sources"])
    assert facets["interval"] in ("day", "week", "month")
    assert sum(b["count"] for b in facets["dates"]) + facets["undated"] == facets["total"]


def test_results_carry_snippets_without_meaningless_highlights(client):
    body = search(client, q="how much is the new heat pump rebate for older homes", k=3)
    for result in body["results"]:
        assert result["snippet"] and len(result["snippet"]) <= 360
        marked = {result["snippet"][s:e].lower() for s, e in result["snippet_highlights"]}
        assert not marked & {"how", "much", "new", "the", "is", "for"}
    assert {"heat", "pump"} <= {
        body["results"][0]["snippet"][s:e].lower() for s, e in body["results"][0]["snippet_highlights"]
    }


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"as_of": "yesterday"}, "YYYY-MM-DD (the end of that day, UTC) or an ISO 8601 datetime"),
        ({"as_of": "2020-02-30"}, "YYYY-MM-DD"),
        ({"as_of": "2020-03-13T25:00"}, "ISO 8601 datetime"),
        ({"when": "a week"}, "<n>h, <n>d or <n>w, such as 24h, 7d or 30d"),
        ({"when": "99999d"}, "24h, 7d or 30d"),
        ({"sort": "oldest"}, "'relevance' or 'newest'"),
        ({"recency": "strongest"}, "'off'"),
    ],
)
def test_bad_time_values_are_422_naming_the_accepted_forms(client, params, named):
    response = client.get("/api/search", params={"q": "wind farm", **params})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["status"] == 422 and named in error["message"]


def test_the_schema_documents_the_time_parameters_and_fields(client):
    schema = client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/search"]["get"]["parameters"]}
    for name in ("as_of", "when", "sort", "recency", "time_words", "facets"):
        assert parameters[name].get("description"), name
    assert "YYYY-MM-DD" in parameters["as_of"]["description"]
    assert "matches when" in parameters["sort"]["description"]
    assert parameters["sort"]["schema"]["enum"] == ["relevance", "newest"]
    components = schema["components"]["schemas"]
    assert {"as_of", "sort", "recency", "time_range", "facets"} <= set(components["SearchResponse"]["properties"])
    assert {"snippet", "snippet_highlights"} <= set(components["SearchResult"]["properties"])


# --- CLI -----------------------------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_search_takes_the_time_options(sample_index):
    index = str(sample_index)
    found = run("search", "wind farm this week", "--index", index, "--as-of", "2025-11-20", "--json")
    assert found.exit_code == 0, found.output
    payload = json.loads(found.output)
    assert payload["as_of"] == "2025-11-20T23:59:59.999999+00:00"
    assert payload["time_range"]["words"] == "this week" and payload["recency"] == "default"
    off = run("search", "wind farm", "--index", index, "--as-of", "2025-11-20", "--recency", "off", "--json")
    assert json.loads(off.output)["recency"] == "off"
    newest = json.loads(run("search", "wind farm", "--index", index, "--sort", "newest", "--json").output)
    days = [r["published"][:10] for r in newest["results"] if r["published"]]
    assert newest["sort"] == "newest" and days == sorted(days, reverse=True)
    shown = run("search", "wind farm", "--index", index, "--facets", "--when", "30d", "--as-of", "2025-11-20")
    assert "matching articles" in shown.output and "dates: past 30 days" in shown.output
    ignored = json.loads(run("search", "wind farm this week", "--index", index, "--no-time-words", "--json").output)
    assert ignored["time_range"] is None


@pytest.mark.parametrize(
    ("option", "value", "named"), [("--as-of", "soon", "YYYY-MM-DD"), ("--when", "fortnight", "24h, 7d or 30d")]
)
def test_cli_refuses_bad_time_values_naming_the_forms(sample_index, option, value, named):
    result = CliRunner().invoke(main, ["search", "wind", "--index", str(sample_index), option, value])
    assert result.exit_code == 2 and named in result.output


def test_eval_asks_dated_questions_on_their_date_and_prints_both_tables(sample_index, tmp_path):
    dated = [{**q, "date": "2026/03/31"} for q in SAMPLE_QUESTIONS]
    questions = write_jsonl(tmp_path / "dated.jsonl", dated)
    shown = run("eval", str(questions), "--index", str(sample_index), "--mode", "hybrid")
    assert shown.exit_code == 0, shown.output
    assert "with dates" in shown.output and "without dates" in shown.output
    payload = json.loads(run("eval", str(questions), "--index", str(sample_index), "--mode", "hybrid", "--json").output)
    assert [s["dated"] for s in payload["scores_with_dates"]] == [True]
    assert [s["dated"] for s in payload["scores"]] == [False]
    assert payload["scores_with_dates"][0]["recall_at_10"] >= 0.9  # asked after every article: all there
    timeless = run("eval", str(questions), "--index", str(sample_index), "--mode", "hybrid", "--no-dates")
    assert "with dates" not in timeless.output
    assert "without dates" not in timeless.output and "hybrid" in timeless.output
