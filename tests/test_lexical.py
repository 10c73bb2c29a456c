"""BM25 from the exported postings must be FTS5's own bm25(): same passages, same scores."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index import layout
from index.lexical import LexicalIndex, QueryStemmer, postings
from index.store import Store
from search.highlight import query_terms
from search.searcher import Filters, Searcher

QUERIES = [
    "offshore wind farm output",
    "central bank interest rates inflation",
    "election results in the capital",
    "featured featuring features",  # one stem three times: FTS5 scores each occurrence
    "vaccine",
    "zzzunknownword",
]


def _fts5_bm25(db: sqlite3.Connection, query: str, weights: tuple[float, float]) -> dict[int, float]:
    match = " OR ".join(f'"{word}"' for word in query_terms(query))
    rows = db.execute(
        "SELECT rowid, -bm25(passages_fts, ?, ?) FROM passages_fts WHERE passages_fts MATCH ?", [*weights, match]
    )
    return dict(rows)


@pytest.fixture(scope="module")
def live_db(sample_index: Path) -> sqlite3.Connection:
    generation = layout.live_generation(sample_index)
    return sqlite3.connect(f"file:{generation.sqlite}?mode=ro", uri=True)


@pytest.mark.parametrize("weights", [(1.0, 1.0), (2.5, 1.0)])
def test_scores_equal_fts5_bm25(sample_index: Path, live_db: sqlite3.Connection, weights) -> None:
    generation = layout.live_generation(sample_index)
    assert generation.lexical.is_file(), "the build exports the postings beside the FAISS file"
    lexical = LexicalIndex.load(generation.lexical, *weights)
    stemmer = QueryStemmer()
    checked = 0
    for query in QUERIES:
        expected = _fts5_bm25(live_db, query, weights)
        ids, scores = lexical.search(stemmer.terms(" ".join(query_terms(query))), depth=10_000)
        assert dict(zip(ids.tolist(), scores.tolist(), strict=True)) == pytest.approx(expected, rel=1e-5)
        assert list(scores) == sorted(scores, reverse=True)
        checked += len(expected)
    assert checked > 20, "the queries must match something in the sample corpus"


def test_depth_keeps_the_best_and_filters_keep_only_allowed(sample_index: Path, live_db) -> None:
    lexical = LexicalIndex.load(layout.live_generation(sample_index).lexical)
    terms = QueryStemmer().terms("wind energy power prices")
    all_ids, _ = lexical.search(terms, depth=10_000)
    assert len(all_ids) > 5
    top_ids, _ = lexical.search(terms, depth=3)
    assert top_ids.tolist() == all_ids[:3].tolist()
    allowed = all_ids[1::2]
    kept, _ = lexical.search(terms, depth=10_000, allowed=lexical.allowed_mask(allowed))
    assert sorted(kept.tolist()) == sorted(allowed.tolist())


def test_query_words_are_stemmed_by_fts5_and_counted() -> None:
    assert QueryStemmer().terms("Running runs RUN elections") == {"run": 3, "elect": 1}


def test_a_generation_without_exported_postings_searches_the_same(sample_index: Path, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(sample_index, copy)
    layout.live_generation(copy).lexical.unlink()  # as written by a build before postings were exported
    fresh, older = Searcher.open(sample_index), Searcher.open(copy)
    found = 0
    for query in QUERIES[:3]:
        for filters in (Filters(), Filters(sources=("Harbor City Times",))):
            got = older.search(query, k=5, mode="lexical", filters=filters).results
            want = fresh.search(query, k=5, mode="lexical", filters=filters).results
            assert [(r.id, r.score) for r in got] == [(r.id, r.score) for r in want]
            assert all(r.source == "Harbor City Times" for r in got if filters.sources)
            found += len(got)
    assert found > 5


def test_an_empty_collection_has_empty_postings(tmp_path: Path) -> None:
    store = Store(tmp_path / "empty.sqlite")
    lexical = LexicalIndex(postings(store.term_instances()))
    store.close()
    ids, scores = lexical.search({"anything": 1}, depth=10)
    assert len(ids) == 0 and len(scores) == 0
    assert np.isfinite(lexical.impacts).all()
