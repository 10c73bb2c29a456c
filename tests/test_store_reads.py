"""The store's reads for the query path, on a tiny index built with the fake encoder."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np
import pytest

from index.snapshot import Snapshot
from index.store import IN_CHUNK, Store
from tests.tiny_index import article, build_tiny_index

ARTICLES = [
    article(1, "tram", "Harbor Times", "2026-01-05"),
    article(2, "tram", "Harbor Times", "2026-01-06T22:15:00-05:00"),
    article(3, "bridge", "Valley Courier", "2026-01-07"),
    {**article(4, "bridge", "Nobody", None), "source": None},  # no date; the URL's host stands in as source
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    index_dir = build_tiny_index(tmp_path_factory.mktemp("store"), ARTICLES)
    snapshot = Snapshot.open(index_dir)  # the store as a searcher has it: passage vectors from the segments
    yield snapshot.store
    snapshot.close()


def _ids_by_url(store: Store) -> dict[str, str]:
    return {a["url"]: store.resolve_id(a["url"]) for a in ARTICLES}


def test_reads_of_many_keys_are_chunked_and_unknown_keys_left_out(store):
    ids = list(_ids_by_url(store).values())
    unknown = [f"missing-{i}" for i in range(3 * IN_CHUNK)]
    found = store.articles([*unknown[:IN_CHUNK], ids[0], *unknown[IN_CHUNK:], *ids[1:]])
    assert sorted(found) == sorted(ids)
    assert store.story_ids([*unknown, *ids]).keys() == set(ids)


def test_filtered_passage_ids_take_sources_and_whole_days(store):
    by_url = _ids_by_url(store)
    owners = store.passage_owners()
    owner_of = dict(zip(owners.passage_ids.tolist(), owners.article_ids, strict=True))

    def articles_of(passage_ids: np.ndarray) -> set[str]:
        return {owner_of[p] for p in passage_ids.tolist()}

    harbor = {by_url[a["url"]] for a in ARTICLES[:2]}
    assert articles_of(store.passage_ids_where(sources=["Harbor Times"])) == harbor
    day = date(2026, 1, 6)
    assert articles_of(store.passage_ids_where(published_from=day, published_to=day)) == {by_url[ARTICLES[1]["url"]]}
    dated = articles_of(store.passage_ids_where(published_from=date(2000, 1, 1)))
    assert by_url[ARTICLES[3]["url"]] not in dated and len(dated) == 3  # undated: outside any range
    assert articles_of(store.passage_ids_where()) == set(by_url.values())


def test_passages_read_back_by_id_and_vectors_in_passage_order(store):
    tram = _ids_by_url(store)[ARTICLES[0]["url"]]
    passages = store.passages_of(tram)
    owners = store.passage_owners()
    ids = [p for p, a in zip(owners.passage_ids.tolist(), owners.article_ids, strict=True) if a == tram]
    by_id = store.passages_by_id(ids)
    assert [by_id[i].text for i in ids] == [p.text for p in passages]
    vectors = store.passage_vectors(tram)
    assert vectors.shape[0] == len(passages) == 4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert store.passage_vectors("no-such-article").shape[0] == 0


def test_stats_reads(store):
    per_source = store.articles_per_source()
    assert list(per_source.items()) == [("Harbor Times", 2), ("Valley Courier", 1), ("nobody.example", 1)]
    assert tuple(store.published_range()) == ("2026-01-05", "2026-01-07")


def test_one_snapshot_connection_serves_many_threads_alike(store):
    """A searcher's threads share its snapshot's one connection (a connection each would see different
    moments): concurrent reads must answer exactly as sequential ones."""
    ids = list(_ids_by_url(store).values())
    passage_ids = [int(p) for p in store.passage_ids_where()]

    def reads() -> tuple:
        articles = store.articles(ids)
        return (
            sorted((a.id, a.text, tuple(a.urls)) for a in articles.values()),
            sorted((pid, p.text) for pid, p in store.passages_by_id(passage_ids).items()),
            store.story_ids(ids),
            [p.text for p in store.passages_of(ids[0])],
        )

    expected = reads()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: reads(), range(200)))
    assert all(result == expected for result in results)


def test_time_reads_publication_dates_and_counts_over_chunked_ids(store):
    by_url = _ids_by_url(store)
    ids = [by_url[a["url"]] for a in ARTICLES]
    assert store.published_dates() == {ids[0]: "2026-01-05", ids[1]: "2026-01-06T22:15:00-05:00", ids[2]: "2026-01-07"}
    unknown = [f"missing-{i}" for i in range(2 * IN_CHUNK)]
    many = [*unknown[:IN_CHUNK], ids[0], *unknown[IN_CHUNK:], *ids[1:], ids[0]]  # a repeat counts once
    assert list(store.count_by_source(many).items()) == [
        ("Harbor Times", 2),
        ("Valley Courier", 1),
        ("nobody.example", 1),
    ]
    assert store.count_by_day(many) == {"2026-01-05": 1, "2026-01-06": 1, "2026-01-07": 1, None: 1}
    assert store.count_by_source([]) == {} and store.count_by_day([]) == {}
