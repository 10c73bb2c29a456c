"""Vector index types: exact results and filters for every kind, the size threshold, `newsdesk reindex-vectors`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import faiss
import numpy as np
import pytest

from index import layout, vectors
from index.snapshot import Snapshot
from search.searcher import Filters, Searcher
from tests.conftest import REPO

DIMENSION = 32
CLUSTERS, PER_CLUSTER = 40, 200


@pytest.fixture(scope="module")
def points() -> tuple[np.ndarray, np.ndarray]:
    """Well-separated clusters of unit vectors, with sparse ids (as passage ids become after deletions)."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((CLUSTERS, DIMENSION))
    matrix = np.repeat(centres, PER_CLUSTER, axis=0) + 0.3 * rng.standard_normal((CLUSTERS * PER_CLUSTER, DIMENSION))
    matrix = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)
    ids = 10 + 3 * np.arange(len(matrix), dtype=np.int64)
    return ids, matrix


@pytest.fixture(scope="module", params=vectors.KINDS)
def written(request, points, tmp_path_factory) -> faiss.Index:
    """An index of each kind, built in two batches, written and read back as the searcher reads it."""
    ids, matrix = points
    half = len(ids) // 2
    index = vectors.build_index(DIMENSION, [(ids[:half], matrix[:half]), (ids[half:], matrix[half:])], request.param)
    path = tmp_path_factory.mktemp(request.param) / "vectors.faiss"
    vectors.write_index(index, path)
    return vectors.read_index(path)


def exact(points, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    ids, matrix = points
    scores = matrix @ query
    if allowed is not None:
        scores[~np.isin(ids, allowed)] = -np.inf
    order = np.argsort(-scores)[:k]
    return ids[order[np.isfinite(scores[order])]]


def queries(points, count: int = 20) -> list[np.ndarray]:
    """Stored vectors nudged a little: each has a clear nearest neighbour and a clear cluster."""
    rng = np.random.default_rng(3)
    _, matrix = points
    picked = matrix[rng.choice(len(matrix), count, replace=False)] + 0.05 * rng.standard_normal((count, DIMENSION))
    return list((picked / np.linalg.norm(picked, axis=1, keepdims=True)).astype(np.float32))


def test_each_kind_is_written_as_itself(written, points):
    assert vectors.index_type(written) in vectors.KINDS
    assert written.ntotal == len(points[0])


def test_each_kind_returns_the_exact_top_results(written, points):
    for query in queries(points):
        hits = vectors.search(written, query, 10)
        assert hits.ids.tolist() == exact(points, query, 10).tolist()
        ids, matrix = points
        true_scores = matrix[np.searchsorted(ids, hits.ids)] @ query
        assert np.allclose(hits.scores, true_scores, atol=1e-5)  # full vectors: scores are true cosines


@pytest.mark.parametrize("share", [0.003, 0.05, 0.3, 0.7, 1.0])
def test_filters_keep_to_the_allowed_ids_and_lose_none(written, points, share):
    """From a handful of ids (an exact scan) to most of them (the graph walk), every kind returns
    min(k, allowed) passages, all allowed, the best of them first."""
    ids, _ = points
    rng = np.random.default_rng(int(share * 1000))
    allowed = np.sort(rng.choice(ids, max(3, round(share * len(ids))), replace=False))
    ef = max(vectors.HNSW_EF_SEARCH, vectors.HNSW_EF_PER_RESULT * 20)
    walks = len(allowed) ** 2 / len(ids) >= vectors.HNSW_SCAN_FACTOR * ef
    assert walks == (share >= 0.7)  # HNSW scans the small filters and walks the graph for the large ones
    for query in queries(points, 8):
        found = vectors.search(written, query, 20, allowed).ids
        expected = exact(points, query, 20, allowed)
        assert len(found) == min(20, len(allowed)) and set(found.tolist()) <= set(allowed.tolist())
        # The nearest allowed ones sit in the query's own cluster, far ahead of the rest: exact for every kind.
        assert found[:5].tolist() == expected[:5].tolist()


def test_filters_that_match_nothing_in_the_index_return_nothing(written):
    query = np.ones(DIMENSION, dtype=np.float32) / np.sqrt(DIMENSION)
    assert len(vectors.search(written, query, 10, np.array([], dtype=np.int64)).ids) == 0
    assert len(vectors.search(written, query, 10, np.array([11, 12], dtype=np.int64)).ids) == 0  # ids not stored


def test_choose_index_type_flips_at_the_threshold():
    assert vectors.choose_index_type(0) == vectors.FLAT
    assert vectors.choose_index_type(vectors.HNSW_FROM - 1) == vectors.FLAT
    assert vectors.choose_index_type(vectors.HNSW_FROM) == vectors.HNSW
    with pytest.raises(ValueError, match="choose from flat, hnsw"):
        vectors.new_index("ivf", DIMENSION)


# --- newsdesk reindex-vectors --------------------------------------------------------------------

# Reindexes through the real command line, then reports which encoder libraries the process loaded.
REINDEX = """
import json, sys
from search.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
heavy = ("torch", "sentence_transformers", "transformers", "onnxruntime")
print(json.dumps({"status": status, "loaded": [m for m in heavy if m in sys.modules]}), file=sys.stderr)
"""


def reindex(index_dir: Path, *args: str) -> tuple[dict, dict]:
    run = subprocess.run(
        [sys.executable, "-c", REINDEX, "reindex-vectors", "--index", str(index_dir), "--json", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    outcome = json.loads(run.stderr.strip().splitlines()[-1])
    return (json.loads(run.stdout) if outcome["status"] == 0 else {}), outcome


def stored_vectors(index_dir: Path) -> bytes:
    """Every live passage's vector, in passage id order, as the segments hold them."""
    snapshot = Snapshot.open(index_dir)
    try:
        return snapshot.vectors.vectors_of(snapshot.live_passage_ids()).tobytes()
    finally:
        snapshot.close()


def answers(searcher: Searcher) -> list[list[tuple[str, float]]]:
    source = next(name for name in searcher.stats().sources if name)
    return [
        [(r.id, round(r.score, 5)) for r in searcher.search(query, k=8, mode=mode, filters=filters).results]
        for query in ("district heating prices", "a court ruling on liability for AI systems", "a football match")
        for mode in ("dense", "hybrid")
        for filters in (Filters(), Filters(sources=(source,)))
    ]


def test_reindex_vectors_switches_type_in_a_new_generation_without_embedding(sample_index, tmp_path, encoder):
    index_dir = tmp_path / "idx"
    shutil.copytree(sample_index, index_dir)
    before = layout.read_manifest(index_dir)
    vectors_before = stored_vectors(index_dir)
    expected = answers(Searcher.open(index_dir, encoder=encoder))
    assert before["vector_index"] == vectors.FLAT

    report, outcome = reindex(index_dir, "--type", "hnsw")
    assert outcome == {"status": 0, "loaded": []}  # no encoder was even imported
    manifest = layout.read_manifest(index_dir)
    assert report["previous"] == "flat" and report["kind"] == manifest["vector_index"] == "hnsw"
    assert report["generation"] == manifest["generation"] == before["generation"] + 1
    assert report["passages"] == before["counts"]["passages"] and manifest["last_build"]["embedded"] == 0
    assert stored_vectors(index_dir) == vectors_before
    searcher = Searcher.open(index_dir, encoder=encoder)
    assert vectors.index_type(searcher.vector_index) == vectors.HNSW
    assert answers(searcher) == expected

    # Without --type the size decides: a sample this small goes back to exact search.
    report, outcome = reindex(index_dir)
    assert outcome["status"] == 0 and (report["previous"], report["kind"]) == ("hnsw", "flat")
    assert layout.read_manifest(index_dir)["generation"] == before["generation"] + 2
    assert answers(Searcher.open(index_dir, encoder=encoder)) == expected


def test_reindex_vectors_refuses_an_unknown_type_and_a_missing_index(sample_index, tmp_path):
    index_dir = tmp_path / "idx"
    shutil.copytree(sample_index, index_dir)
    generation = layout.read_manifest(index_dir)["generation"]
    run = subprocess.run(
        [sys.executable, "-m", "search.cli", "reindex-vectors", "--index", str(index_dir), "--type", "ivf"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr.strip() == "error: unknown vector index type 'ivf'; choose from flat, hnsw"
    assert layout.read_manifest(index_dir)["generation"] == generation
    _, outcome = reindex(tmp_path / "none")
    assert outcome["status"] == 1
