"""Segments: postings merged batch by batch equal postings made at once, a merge keeps exactly the live
passages, and a VectorSet over several segments answers as exact search over the live vectors would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index import vectors
from index.lexical import LexicalIndex, LexicalSegment
from index.merging import compact, tiered
from index.postings import Postings, from_instances, keep_documents, merge
from index.segments import Segment, SegmentWriter, merge_segments
from index.tokens import tokenize

DIMENSION = 16
WORDS = [
    "tram",
    "harbor",
    "bridge",
    "council",
    "vote",
    "ferry",
    "fares",
    "island",
    "budget",
    "grid",
    "heat",
    "power",
    "seeds",
    "library",
]


def documents(first: int, count: int, seed: int) -> list[tuple[int, str, str]]:
    rng = np.random.default_rng(seed)
    return [
        (first + n, f"{WORDS[n % len(WORDS)]} report {n}", " ".join(rng.choice(WORDS, size=int(rng.integers(0, 12)))))
        for n in range(count)
    ]


def postings_of(docs: list[tuple[int, str, str]]) -> Postings:
    return from_instances(tokenize(docs), np.array([d[0] for d in docs], dtype=np.int64))


def same(a: Postings, b: Postings) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("terms", "indptr", "docs", "tf_title", "tf_text", "doc_ids", "doc_lengths")
    )


def test_postings_merged_batch_by_batch_equal_postings_made_at_once():
    docs = [*documents(1, 60, seed=1), (61, "", "— … —")]  # the last has no token at all: still a document
    batches = [docs[:7], docs[7:30], docs[30:31], docs[31:]]
    assert same(merge([postings_of(b) for b in batches]), postings_of(docs))
    assert postings_of(docs).doc_lengths[-1] == 0 and len(postings_of(docs).doc_ids) == 61


def test_dropping_documents_equals_tokenizing_only_the_others():
    docs = documents(10, 40, seed=2)
    keep = np.array([n % 3 != 0 for n in range(len(docs))])
    kept = [d for d, k in zip(docs, keep, strict=True) if k]
    assert same(keep_documents(postings_of(docs), keep), postings_of(kept))


def write_segment(
    folder: Path, docs: list[tuple[int, str, str]], matrix: np.ndarray, kind: str | None = None
) -> Segment:
    ids = np.array([d[0] for d in docs], dtype=np.int64)
    writer = SegmentWriter(folder.with_name(f".tmp-{folder.name}"), DIMENSION)
    half = len(docs) // 2
    writer.add(ids[:half], [f"a{i // 3:015d}" for i in ids[:half]], matrix[:half], postings_of(docs[:half]))
    writer.add(ids[half:], [f"a{i // 3:015d}" for i in ids[half:]], matrix[half:], postings_of(docs[half:]))
    writer.finish(folder, kind)
    return Segment(folder)


def unit(rows: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).standard_normal((rows, DIMENSION)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.fixture
def two_segments(tmp_path: Path) -> tuple[list[Segment], np.ndarray, dict[int, np.ndarray]]:
    first_docs, second_docs = documents(1, 80, seed=3), documents(200, 30, seed=4)
    first_vectors, second_vectors = unit(80, 5), unit(30, 6)
    segments = [
        write_segment(tmp_path / "a", first_docs, first_vectors, vectors.HNSW),
        write_segment(tmp_path / "b", second_docs, second_vectors),
    ]
    stored = {
        d[0]: v for d, v in zip(first_docs + second_docs, np.vstack([first_vectors, second_vectors]), strict=True)
    }
    dead = np.array([3, 4, 5, 40, 201, 229], dtype=np.int64)
    return segments, dead, stored


def test_a_vector_set_returns_the_exact_nearest_live_passages(two_segments):
    segments, dead, stored = two_segments
    found = vectors.VectorSet([s.index for s in segments], [s.ids for s in segments], dead)
    assert found.ntotal == 110 - len(dead) and found.kind == vectors.HNSW
    live = np.array(sorted(set(stored) - set(dead.tolist())), dtype=np.int64)
    matrix = np.stack([stored[i] for i in live.tolist()])
    for seed in range(5):
        query = unit(1, 100 + seed)[0]
        for allowed in (None, live[::3]):
            scores = matrix @ query
            if allowed is not None:
                scores[~np.isin(live, allowed)] = -np.inf
            expected = live[np.argsort(-scores)[:10]]
            hits = vectors.search(found, query, 10, allowed)
            assert hits.ids.tolist() == expected.tolist()
            assert not set(hits.ids.tolist()) & set(dead.tolist())
    assert np.array_equal(found.vectors_of(np.array([201, 2])), np.stack([stored[201], stored[2]]))


def test_merging_segments_keeps_exactly_the_live_passages(two_segments, tmp_path):
    segments, dead, stored = two_segments
    merge_segments(segments, dead, tmp_path / ".tmp-m", tmp_path / "m")
    merged = Segment(tmp_path / "m")
    live = sorted(set(stored) - set(dead.tolist()))
    assert merged.ids.tolist() == live and merged.info.kind == vectors.FLAT  # 104 passages: flat
    assert np.array_equal(merged.vectors_at(np.arange(len(live))), np.stack([stored[i] for i in live]))
    assert merged.articles[0] == f"a{live[0] // 3:015d}".encode()
    # BM25 over the merged segment matches BM25 over the two with their dead passages masked: the same
    # passages scored, by the same idf (the average lengths differ a little until the merge).
    ids = np.concatenate([s.ids for s in segments])
    separate = LexicalIndex([s.lexical for s in segments], ids, np.isin(ids, dead))
    alone = LexicalIndex([merged.lexical], np.asarray(merged.ids))
    assert alone.documents == separate.documents == len(live)
    for terms in ({"tram": 1}, {"ferri": 1, "budget": 2}, {"report": 1}):
        want, got = separate.search(terms, 1000), alone.search(terms, 1000)
        assert sorted(want.ids.tolist()) == sorted(got.ids.tolist()) and len(got.ids)
        assert dict(zip(got.ids.tolist(), got.scores.tolist(), strict=True)) == pytest.approx(
            dict(zip(want.ids.tolist(), want.scores.tolist(), strict=True)), rel=0.1
        )


def test_tiered_merges_keep_sizes_falling_and_compaction_leaves_one_clean_segment(tmp_path):
    made = []

    def merge_fn(group, dead, kind):
        name = tmp_path / f"m{len(made)}"
        info = merge_segments(group, dead, tmp_path / f".tmp-m{len(made)}", name, kind)
        made.append(name)
        return Segment(name) if info else None

    sizes = [64, 10, 2, 3]
    segments, first = [], 1
    for n, size in enumerate(sizes):
        segments.append(write_segment(tmp_path / f"s{n}", documents(first, size, seed=n), unit(size, n)))
        first += size
    result = tiered(segments, np.empty(0, dtype=np.int64), merge_fn)
    # 2 + 3 merge (3 * 4 >= 2), then 5 + 10 (5 * 4 >= 10); 15 stays beside 64 (15 * 4 < 64).
    assert [len(s.ids) for s in result.segments] == [64, 15] and len(made) == 2
    dead = np.arange(1, 11, dtype=np.int64)
    cleaned = compact(result.segments, dead, merge_fn)
    assert [len(s.ids) for s in cleaned.segments] == [69] and len(cleaned.dead) == 0
    assert compact(cleaned.segments, cleaned.dead, merge_fn).segments[0] is cleaned.segments[0]  # nothing to do


def test_a_segment_without_passages_is_written_and_read(tmp_path):
    writer = SegmentWriter(tmp_path / ".tmp-e", DIMENSION)
    writer.finish(tmp_path / "e")
    segment = Segment(tmp_path / "e")
    assert len(segment.ids) == 0 and segment.index.ntotal == 0
    assert LexicalSegment.load(tmp_path / "e").terms.find("tram") == -1
