"""Writing through the API: off without a token, bearer-guarded with one, and every limit a 4xx in the one shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from index import layout
from index.build import build
from index.locking import build_lock
from search.api import create_app
from search.settings import Settings
from tests.conftest import write_jsonl
from tests.test_maintenance import ARTICLES, EXTRA

TOKEN = "s3cret-write-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def index_dir(tmp_path, encoder):
    build([write_jsonl(tmp_path / "in" / "a.jsonl", ARTICLES)], tmp_path / "idx", encoder)
    return tmp_path / "idx"


def client_for(index_dir, **settings) -> TestClient:
    return TestClient(create_app(Settings(index=index_dir, **settings)))


def heat_id(client: TestClient) -> str:
    return client.get("/api/search", params={"q": "heatwave grid power", "k": 1}).json()["results"][0]["id"]


def assert_error(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "type", "message"}
    assert body["error"]["status"] == status
    for fragment in fragments:
        assert fragment in body["error"]["message"]
    return body["error"]


def test_without_a_token_the_api_is_read_only(index_dir):
    with client_for(index_dir) as client:
        assert_error(client.post("/api/articles", json=[EXTRA], headers=AUTH), 404, "no API route")
        refused = client.delete("/api/articles/anything", headers=AUTH)
        assert_error(refused, 405)
        assert refused.headers["allow"] == "GET, HEAD"
        schema = client.get("/openapi.json").json()
        assert "post" not in schema["paths"].get("/api/articles", {})
        assert "delete" not in schema["paths"]["/api/articles/{article_id}"]
    assert layout.live_generation(index_dir).number == 1


def test_write_routes_need_the_bearer_token(index_dir):
    with client_for(index_dir, write_token=TOKEN) as client:
        for call in (
            lambda headers: client.post("/api/articles", json=[EXTRA], headers=headers),
            lambda headers: client.delete(f"/api/articles/{heat_id(client)}", headers=headers),
        ):
            missing = call({})
            assert assert_error(missing, 401, "Authorization: Bearer")["type"] == "unauthorized"
            assert missing.headers["www-authenticate"] == "Bearer"
            assert_error(call({"Authorization": f"Basic {TOKEN}"}), 401)
            assert assert_error(call({"Authorization": "Bearer wrong"}), 403)["type"] == "forbidden"
            assert_error(call({"Authorization": f"Bearer {TOKEN}x"}), 403)
        schema = client.get("/openapi.json").json()
        assert schema["paths"]["/api/articles"]["post"]["security"] == [{"write token": []}]
    assert layout.live_generation(index_dir).number == 1  # nothing was written


def test_posted_articles_become_searchable_and_bad_records_are_named(index_dir):
    with client_for(index_dir, write_token=TOKEN) as client:
        posted = client.post("/api/articles", json=[EXTRA, {"title": "no body"}], headers=AUTH)
        assert posted.status_code == 200, posted.text
        report = posted.json()
        assert (report["added"], report["articles"], report["generation"]) == (1, 4, 2)
        assert (
            report["skipped"] == [{"path": "request[1]", "reason": report["skipped"][0]["reason"]}]
            and "no article text" in report["skipped"][0]["reason"]
        )
        top = client.get("/api/search", params={"q": "ferry fares frozen", "k": 1}).json()["results"][0]
        assert top["url"] == EXTRA["url"]
        assert client.get("/api/health").json()["generation"] == 2

        again = client.post("/api/articles", json=[EXTRA], headers=AUTH).json()
        assert (again["unchanged"], again["embedded"], again["generation"]) == (1, 0, 2)


def test_delete_removes_an_article_and_unknown_ids_are_404(index_dir):
    with client_for(index_dir, write_token=TOKEN) as client:
        article_id = heat_id(client)
        removed = client.delete(f"/api/articles/{article_id}", headers=AUTH)
        assert removed.status_code == 200, removed.text
        assert removed.json()["removed"] == [article_id] and removed.json()["articles"] == 2
        assert_error(client.get(f"/api/articles/{article_id}"), 404)
        assert_error(client.delete(f"/api/articles/{article_id}", headers=AUTH), 404, article_id)


def test_a_write_while_another_build_runs_is_409(index_dir):
    with client_for(index_dir, write_token=TOKEN) as client, build_lock(index_dir):
        busy = client.post("/api/articles", json=[EXTRA], headers=AUTH)
        assert assert_error(busy, 409, "another build")["type"] == "busy"


def test_every_limit_is_a_4xx_in_the_one_shape_naming_the_limit(index_dir):
    limits = {"max_articles_per_request": 2, "max_article_chars": 300, "max_body_bytes": 2000}
    with client_for(index_dir, write_token=TOKEN, **limits) as client:
        too_many = client.post("/api/articles", json=[EXTRA] * 3, headers=AUTH)
        assert_error(too_many, 422, "max_articles_per_request", "2")
        too_big = client.post("/api/articles", json=[dict(EXTRA, text="word " * 80)], headers=AUTH)
        assert assert_error(too_big, 413, "max_article_chars", "300")["type"] == "too_large"
        body = b'[{"title": "t", "text": "' + b"x" * 3000 + b'"}]'
        declared = client.post("/api/articles", content=body, headers={**AUTH, "Content-Type": "application/json"})
        assert_error(declared, 413, "max_body_bytes", "2,000")

        def chunks():  # no Content-Length: the limit applies as the body streams in
            yield b'[{"title": "t", "text": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}]'

        streamed = client.post("/api/articles", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
        assert "content-length" not in streamed.request.headers
        assert_error(streamed, 413, "max_body_bytes")
        assert_error(client.get("/api/search", params={"q": "x" * 501}), 422, "500")
        assert_error(client.get("/api/search", params={"q": "tram", "k": 101}), 422, "100")
        assert_error(client.get("/api/search", params={"q": "tram", "offset": 1001}), 422, "1000")
        assert_error(client.get("/api/search", params={"q": "tram", "passages": 11}), 422, "10")
    assert layout.live_generation(index_dir).number == 1
