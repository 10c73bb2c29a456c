"""scripts/bench_scale.py at a small size: it builds its synthetic index through the public path and prints
every figure of issue 15, with a verdict against each target. Speed is the script's business, not this test's."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np

from tests.conftest import REPO, load_script

FIGURES = (
    "build s excluding embedding",
    "stand-in embedding s (excluded)",
    "build peak RSS MiB",
    "bytes/passage, whole index",
    "bytes/passage, vector index",
    "open a searcher, s",
    "open a searcher, peak RSS MiB",
    "hybrid p50 ms",
    "hybrid p95 ms",
    "of which real query embedding p50 ms",
    "recall@10 vector index vs exact",
    "add 100: s excluding embedding",
    "add 100: peak RSS MiB",
    "remove 100: s",
    "remove 100: peak RSS MiB",
)


def test_bench_scale_prints_every_figure_at_a_small_size(tmp_path):
    figures_file = tmp_path / "figures.json"
    command = [sys.executable, str(REPO / "scripts" / "bench_scale.py"), "--passages", "6000", "--queries", "20"]
    command += ["--work", str(tmp_path / "work"), "--index", str(tmp_path / "indexes"), "--json", str(figures_file)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    for label in FIGURES:
        assert label in out, f"{label!r} missing from:\n{out}"
    assert out.count("PASS") + out.count("FAIL") == 7  # one verdict per target of issue 15
    assert "STAND-IN" in out

    [figures] = json.loads(figures_file.read_text())
    assert 6000 <= figures["passages"] <= 6012  # whole articles of 8-12 passages, each paragraph one passage
    assert figures["add_child"]["added"] == 100
    assert figures["add_child"]["passages"] == figures["passages"] + figures["add_child"]["embedded"]
    # Three rounds of 100 different articles (about 600 here, at most half of them go); the median is the figure.
    removals = [figures[f"remove_child_{n}"] for n in (1, 2, 3)]
    assert [(r["removed"], r["not_found"]) for r in removals] == [(100, 0)] * 3
    assert len(figures["remove_rounds"]) == 3 and figures["remove_s"] == sorted(figures["remove_rounds"])[1]
    left = [figures["add_child"]["passages"], *(r["passages"] for r in removals)]
    assert all(8 * 100 <= before - after <= 12 * 100 for before, after in itertools.pairwise(left))
    assert figures["recall"] == 1.0  # a flat index at this size: exact
    assert figures["search_child"]["queries"] == 20
    assert figures["bytes"] > figures["vector_bytes"] >= 384 * 4  # at least the float32 vectors
    assert (tmp_path / "indexes" / "6000" / "index" / "manifest.json").is_file()  # --index keeps it

    # The corpus is cached: a second slice of it is the same files, not generated again.
    corpus = load_script("bench_corpus")
    again = corpus.corpus_slice(corpus.Corpus(0), 6000, tmp_path / "work" / "corpus-seed0")
    assert again.passages == figures["passages"]


def test_the_stand_in_is_deterministic_and_clusters_an_article():
    stand_in = load_script("bench_stand_in")
    corpus = load_script("bench_corpus").Corpus(0)
    article = corpus.article(3)
    paragraphs = str(article["text"]).split("\n\n")
    encoder = stand_in.StandInEncoder()
    vectors = encoder.encode([f"{article['title']}. {p}" for p in paragraphs])
    again = stand_in.StandInEncoder().encode([f"{article['title']}. {paragraphs[0]}"])
    assert vectors.shape == (len(paragraphs), 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.array_equal(vectors[0], again[0])  # a text's vector depends on the text alone, not its batch
    others = encoder.encode([str(corpus.article(n)["title"]) for n in range(100, 140)])
    within = (vectors @ vectors.T)[np.triu_indices(len(vectors), 1)].mean()
    assert within > (vectors @ others.T).mean() + 0.2  # an article's passages share a cluster
