"""BM25 from the segments' postings must be FTS5's own bm25(): same passages, same scores (for one segment
without deletions exactly; across segments with the live statistics, deleted passages never scored)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from index.build import writing
from index.lexical import FTS_TOKENIZER, LexicalIndex, QueryStemmer
from index.maintenance import compact, remove
from index.snapshot import Snapshot
from search.highlight import query_terms
from tests.test_writer import articles
from tests.tiny_index import article, build_tiny_index, fake_encoder

QUERIES = [
    "offshore wind farm output",
    "central bank interest rates inflation",
    "election results in the capital",
    "featured featuring features",  # one stem three times: FTS5 scores each occurrence
    "vaccine",
    "zzzunknownword",
]


@contextmanager
def snapshot_of(index_dir: Path) -> Iterator[Snapshot]:
    snapshot = Snapshot.open(index_dir)
    try:
        yield snapshot
    finally:
        snapshot.close()


def fts5_of(snapshot: Snapshot) -> sqlite3.Connection:
    """An FTS5 table over the snapshot's live passages (title and text, as the build tokenizes them)."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE passages_fts USING fts5(title, text, tokenize='{FTS_TOKENIZER}')")
    db.executemany(
        "INSERT INTO passages_fts(rowid, title, text) VALUES (?, ?, ?)",
        [(p.id, p.title, p.text) for p in snapshot.store.passages_with_titles()],
    )
    return db


def fts5_bm25(db: sqlite3.Connection, query: str, weights: tuple[float, float] = (1.0, 1.0)) -> dict[int, float]:
    match = " OR ".join(f'"{word}"' for word in query_terms(query))
    rows = db.execute(
        "SELECT rowid, -bm25(passages_fts, ?, ?) FROM passages_fts WHERE passages_fts MATCH ?", [*weights, match]
    )
    return dict(rows)


def ours(lexical: LexicalIndex, query: str) -> dict[int, float]:
    ids, scores = lexical.search(QueryStemmer().terms(" ".join(query_terms(query))), depth=100_000)
    assert list(scores) == sorted(scores, reverse=True)
    return dict(zip(ids.tolist(), scores.tolist(), strict=True))


@pytest.mark.parametrize("weights", [(1.0, 1.0), (2.5, 1.0)])
def test_scores_equal_fts5_bm25(sample_index: Path, weights) -> None:
    with snapshot_of(sample_index) as snapshot:
        assert len(snapshot.parts.lexical) == 1, "a fresh build of the sample is one segment"
        db = fts5_of(snapshot)
        lexical = snapshot.lexical(*weights)
        checked = 0
        for query in QUERIES:
            expected = fts5_bm25(db, query, weights)
            assert ours(lexical, query) == pytest.approx(expected, rel=1e-5)
            checked += len(expected)
    assert checked > 20, "the queries must match something in the sample corpus"


def test_depth_keeps_the_best_and_filters_keep_only_allowed(sample_index: Path) -> None:
    with snapshot_of(sample_index) as snapshot:
        lexical = snapshot.lexical()
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


TOPICS = ["tram", "bridge", "ferry", "harbor"]


def test_segments_and_deletions_score_the_live_passages_and_compaction_makes_it_exact(tmp_path: Path) -> None:
    records = [article(n, TOPICS[n % 4], "Harbor Times", "2026-01-05", mentions=1 + n % 3) for n in range(12)]
    index_dir = build_tiny_index(tmp_path, records[:10])
    encoder = fake_encoder()
    with writing(index_dir, encoder) as writer:  # a second segment, small enough to stay beside the first
        writer.add(articles(*records[10:]))
    remove(index_dir, [records[1]["url"], records[11]["url"]])  # deleted passages in both segments
    queries = ["tram report", "bridge committee budget", "ferry harbor item3x1", "online comment month"]
    with snapshot_of(index_dir) as snapshot:
        assert len(snapshot.parts.lexical) == 2 and len(snapshot.parts.dead) > 0
        db = fts5_of(snapshot)
        for query in queries:
            expected, found = fts5_bm25(db, query), ours(snapshot.lexical(), query)
            assert found.keys() == expected.keys()  # deleted passages are never scored
            # idf and N are the live index's; each segment keeps its own average length until compaction.
            assert found == pytest.approx(expected, rel=0.05)
    compact(index_dir)
    with snapshot_of(index_dir) as snapshot:
        assert len(snapshot.parts.lexical) == 1 and len(snapshot.parts.dead) == 0
        db = fts5_of(snapshot)
        for query in queries:
            assert ours(snapshot.lexical(), query) == pytest.approx(fts5_bm25(db, query), rel=1e-5)


def test_an_empty_collection_has_empty_postings() -> None:
    lexical = LexicalIndex([], np.empty(0, dtype=np.int64))
    ids, scores = lexical.search({"anything": 1}, depth=10)
    assert len(ids) == 0 and len(scores) == 0
