"""The HTTP API over a fixture index: every endpoint, every error case, filters, paging, grouping."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from index.errors import (
    ArticleNotFoundError,
    EncoderMismatchError,
    IndexBusyError,
    IndexFormatError,
    IndexMissingError,
    InvalidQueryError,
    LimitExceededError,
    ModelIntegrityError,
    NewsdeskError,
)
from search.api import create_app
from search.settings import Settings
from tests.conftest import REPO, read_jsonl

WIND_FARM = read_jsonl(REPO / "data" / "eval" / "sample_stories.jsonl")[0]["urls"]


@pytest.fixture(scope="module")
def client(sample_index, encoder):
    app = create_app(Settings(index=sample_index))
    with TestClient(app) as test_client:
        yield test_client


def assert_error(response, status: int, fragment: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "type", "message"}
    assert body["error"]["status"] == status
    assert fragment in body["error"]["message"]


def test_search_returns_articles_with_links_passages_and_highlights(client):
    body = client.get("/api/search", params={"q": "heat pump rebate older homes", "k": 3}).json()
    assert body["query"] == "heat pump rebate older homes" and len(body["results"]) == 3
    top = body["results"][0]
    assert {
        "id",
        "title",
        "url",
        "source",
        "published",
        "authors",
        "passage",
        "score",
        "highlights",
        "passage_start",
        "passage_end",
        "also",
    } <= set(top)
    assert top["url"].startswith("https://")
    start, end = top["highlights"][0]
    assert top["passage"][start:end].lower() in {"heat", "pump", "pumps", "rebate", "older", "homes"}


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_search_modes(client, mode):
    body = client.get("/api/search", params={"q": "wind farm", "mode": mode}).json()
    assert body["mode"] == mode and body["results"]


def test_source_and_date_filters(client):
    by_source = client.get(
        "/api/search", params=[("q", "wind farm"), ("source", "Valley Courier"), ("source", "Metro Wire")]
    ).json()
    assert by_source["results"] and {r["source"] for r in by_source["results"]} <= {"Valley Courier", "Metro Wire"}
    dated = client.get("/api/search", params={"q": "transport", "from": "2026-02-10", "to": "2026-02-10"}).json()
    assert dated["results"] and all(r["published"].startswith("2026-02-10") for r in dated["results"])


def test_pagination_is_stable_without_overlaps_or_gaps(client):
    whole = [r["id"] for r in client.get("/api/search", params={"q": "city council", "k": 9}).json()["results"]]
    paged = []
    for offset in (0, 3, 6):
        paged += [
            r["id"]
            for r in client.get("/api/search", params={"q": "city council", "k": 3, "offset": offset}).json()["results"]
        ]
    assert paged == whole and len(set(paged)) == 9


def test_story_copies_are_collapsed_into_one_result(client):
    results = client.get("/api/search", params={"q": "Gannet Ridge wind farm output", "k": 10}).json()["results"]
    leads = [r for r in results if r["url"] in WIND_FARM]
    assert len(leads) == 1
    assert {c["url"] for c in leads[0]["also"]} == set(WIND_FARM) - {leads[0]["url"]}


def test_article_and_related(client):
    lead = client.get("/api/search", params={"q": "Gannet Ridge wind farm"}).json()["results"][0]
    article = client.get(f"/api/articles/{lead['id']}").json()
    assert article["id"] == lead["id"] and article["passages"]
    assert all(article["text"][p["start"] : p["end"]] == p["text"] for p in article["passages"])
    related = client.get(f"/api/articles/{lead['id']}/related", params={"k": 5}).json()["results"]
    assert related and len(related) <= 5
    copies = {lead["id"], *(c["id"] for c in lead["also"])}
    assert not copies & {r["id"] for r in related}


def test_stats_and_health(client):
    stats = client.get("/api/stats").json()
    assert stats["articles"] >= 40 and stats["passages"] >= stats["articles"]
    assert stats["sources"]["Harbor City Times"] >= 5
    assert stats["encoder"]["name"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert stats["date_from"] and stats["date_to"]
    assert client.get("/api/health").json()["status"] == "ok"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"q": ""}, "q"),
        ({"q": "x" * 501}, "q"),
        ({}, "q"),
        ({"q": "wind", "k": 0}, "k"),
        ({"q": "wind", "k": 101}, "k"),
        ({"q": "wind", "offset": -1}, "offset"),
        ({"q": "wind", "from": "2026-02-30"}, "from"),
        ({"q": "wind", "to": "yesterday"}, "to"),
        ({"q": "wind", "from": "2026-03-01", "to": "2026-01-01"}, "after"),
        ({"q": "wind", "mode": "fuzzy"}, "mode"),
        ({"q": "   "}, "empty"),
    ],
)
def test_bad_requests_are_422_with_one_error_shape(client, params, fragment):
    assert_error(client.get("/api/search", params=params), 422, fragment)


def test_unknown_article_is_404(client):
    assert_error(client.get("/api/articles/0000000000000000"), 404, "no article")
    assert_error(client.get("/api/articles/0000000000000000/related"), 404, "no article")
    assert_error(client.get("/api/articles/x/related", params={"k": 0}), 422, "k")


def test_no_index_is_503_naming_the_build_command(tmp_path):
    with TestClient(create_app(Settings(index=tmp_path / "missing"))) as empty:
        for path in ("/api/search?q=wind", "/api/stats", "/api/health", "/api/articles/abc"):
            assert_error(empty.get(path), 503, "newsdesk index")


def test_openapi_and_page_are_served(client):
    schema = client.get("/openapi.json").json()
    assert {
        "/api/search",
        "/api/articles/{article_id}",
        "/api/articles/{article_id}/related",
        "/api/stats",
        "/api/health",
    } <= set(schema["paths"])
    assert client.get("/docs").status_code == 200
    assert client.get("/").headers["content-type"].startswith("text/html")


# --- the one error shape, pinned for every kind ------------------------------------------------------

RAISED = {
    "missing": (IndexMissingError("var/index"), 503, "no_index"),
    "unreadable": (IndexFormatError("damaged"), 503, "index_unreadable"),
    "mismatch": (EncoderMismatchError("built with another encoder"), 503, "encoder_mismatch"),
    "unknown": (ArticleNotFoundError("abc"), 404, "not_found"),
    "invalid": (InvalidQueryError("bad query"), 422, "invalid_query"),
    "large": (LimitExceededError("too many characters"), 413, "too_large"),
    "busy": (IndexBusyError("another build holds the lock"), 409, "busy"),
    "integrity": (ModelIntegrityError("checksum differs"), 400, "bad_request"),
    "plain": (NewsdeskError("something to fix"), 400, "bad_request"),
}


@pytest.fixture(scope="module")
def raising(tmp_path_factory):
    """An app (no index needed) with a route raising each NewsdeskError, and a 100-byte body limit."""
    app = create_app(Settings(index=tmp_path_factory.mktemp("none") / "missing", max_body_bytes=100))

    @app.get("/api/raise/{name}")
    def raise_error(name: str) -> None:
        raise RAISED[name][0]

    app.router.routes.insert(0, app.router.routes.pop())  # ahead of the /api fallback
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("name", RAISED)
def test_each_newsdesk_error_leaves_with_its_status_and_type(raising, name):
    error, status, kind = RAISED[name]
    response = raising.get(f"/api/raise/{name}")
    assert response.status_code == status
    assert response.json() == {"error": {"status": status, "type": kind, "message": str(error)}}


def test_framework_errors_leave_in_the_one_shape(client, raising):
    unknown = client.get("/api/nope")
    assert unknown.json() == {"error": {"status": 404, "type": "not_found", "message": "no API route /api/nope"}}
    wrong_method = client.post("/api/search")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, HEAD"
    message = "POST is not allowed here; allowed: GET, HEAD"
    assert wrong_method.json() == {"error": {"status": 405, "type": "method_not_allowed", "message": message}}
    page = client.post("/")  # outside /api the page's own 405 keeps its Allow header
    assert page.headers["allow"] == "GET, HEAD"
    assert page.json()["error"] == {"status": 405, "type": "method_not_allowed", "message": "Method Not Allowed"}
    invalid = client.get("/api/search", params={"q": "wind", "k": 0})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["type"] == "invalid_request"
    assert invalid.json()["error"]["message"].startswith("k: ")
    too_big = raising.post("/api/search", content=b"x" * 101)
    assert too_big.json() == {
        "error": {
            "status": 413,
            "type": "too_large",
            "message": "request body is larger than the limit of 100 bytes (max_body_bytes, NEWSDESK_MAX_BODY_BYTES)",
        }
    }
    bad_length = raising.post("/api/search", content=b"x", headers={"Content-Length": "abc"})
    assert bad_length.json() == {
        "error": {"status": 400, "type": "bad_request", "message": "invalid Content-Length 'abc'"}
    }
