"""The benchmark peers (scripts/peers.py) index what newsdesk embedded and are scored per article like newsdesk."""

from __future__ import annotations

from index import layout
from index.store import Store
from tests.conftest import load_script


def test_exported_passages_are_the_encoder_inputs(sample_index, tmp_path):
    peers = load_script("peers")
    # newsdesk_passages refuses to export a text whose hash differs from the stored encoder-input hash.
    passages = peers.newsdesk_passages(sample_index)
    store = Store(layout.live_generation(sample_index).sqlite, readonly=True)
    titles = {a.id: a.title for a in store.articles({p.article for p in passages}).values()}
    assert len(passages) == store.counts()["passages"]
    store.close()
    assert all(p.text.startswith(titles[p.article].strip()[:20]) for p in passages)  # the title leads, as embedded
    path = tmp_path / "passages.jsonl"
    peers.write_passages(passages, path)
    assert peers.read_passages(path) == passages


def test_passage_hits_become_distinct_articles_in_first_occurrence_order(sample_index):
    peers = load_script("peers")
    passages = peers.newsdesk_passages(sample_index)
    ranker = peers.ArticleRanker(passages, first_pool=2)
    order = [p.id for p in sorted(passages, key=lambda p: (p.article, p.id))]  # an article's passages in a row

    def search(_query: str, limit: int) -> list[int]:
        return order[:limit]

    urls = ranker.top_articles(search, "any question", k=3)
    assert len(urls) == len(set(urls)) == 3  # the pool grew past the first article's passages
    first = ranker.url_of[order[0]]
    assert urls[0] == first
    assert peers.rank_of(urls, {urls[2]}) == 3
    assert peers.rank_of(urls, {"https://example.com/not-there"}) is None
