"""Query latency per mode on the dev questions, query embedding included (no vector cache hits), against peers.

    python scripts/bench_query.py [--index var/bench/newsdesk] [--questions ../shared/data/eval/questions_dev.jsonl]
                                  [--workdir var/bench] [--peers txtai txtai-dense bm25s] [--build-peers]

Prints p50 / p95 / p99 milliseconds per system and mode plus recall@10 and MRR@10 of the same runs, then
newsdesk hybrid's p50 over each peer's. newsdesk runs in-process through its Searcher. The peers search
the same passages (WORKDIR/passages.jsonl from scripts/bench_index.py, else the index's own):

- txtai hybrid: the index scripts/bench_index.py saved to WORKDIR/txtai (--build-peers builds it here)
- txtai dense: the same index loaded without its BM25 side
- bm25s: built in this run, English stopwords, Snowball stemmer when PyStemmer is installed

Two more newsdesk hybrid rows ask in time (issue 13): every question on its `date` (as_of cuts inside
retrieval; time words ignored), and the questions whose words name a time ("this week", "last year")
on their date with the words read (the range filters retrieval). Questions without dates skip them.

Scores are per article for every system: a peer's passage hits become article urls, each counted at its
first (best) passage, top 10 distinct. newsdesk also counts a relevant other-outlet copy it folded into
a result (story grouping); the peers have no such grouping. Every system is scored by URL here, newsdesk
included: an article newsdesk stores once under two URLs (a merged duplicate) counts only under the URL it
shows, where `newsdesk eval` looks the relevant URL up in the index (one dev question: 0.005 of R@10).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from peers import (  # noqa: E402
    PASSAGES_FILE,
    TXTAI_DIR,
    ArticleRanker,
    build_bm25s,
    build_txtai,
    load_passages,
    load_txtai,
    rank_of,
    stemmer,
    txtai_search,
)

from index.encoders import bundled_model_dir  # noqa: E402
from index.errors import NewsdeskError  # noqa: E402
from index.normalize import canonical_url  # noqa: E402
from search.evaluate import TIMELESS, asked_on, mean_reciprocal_rank, open_with_questions, rank_of_relevant  # noqa: E402
from search.query import MODES  # noqa: E402
from search.searcher import Searcher  # noqa: E402
from search.time_scope import resolve_time  # noqa: E402

DATA = REPO.parent / "shared" / "data"
PEERS = ("txtai", "txtai-dense", "bm25s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass(slots=True)
class Row:
    """One system and mode over every question and round."""

    system: str
    mode: str
    timings: list[float] = field(default_factory=list)  # milliseconds
    ranks: list[int | None] = field(default_factory=list)
    note: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.timings)

    def line(self) -> str:
        n = len(self.ranks)
        hits, mrr = sum(r is not None for r in self.ranks), mean_reciprocal_rank(self.ranks)
        return (
            f"{self.system:<9} {self.mode:<8} {self.p50:>8.1f} {percentile(self.timings, 0.95):>8.1f} "
            f"{percentile(self.timings, 0.99):>8.1f} {hits / n:>6.3f} {mrr:>7.3f}  {self.note}"
        ).rstrip()


def measure(
    row: Row,
    questions: list[dict],
    rounds: int,
    ask: Callable[[str], Any],
    rank: Callable[[Any, set[str]], int | None],
    before_round: Callable[[], None] = lambda: None,
) -> Row:
    """Time `ask` alone per question; scoring its answer with `rank` is not timed."""
    for _ in range(rounds):
        before_round()
        for record in questions:
            relevant = {canonical_url(u) for u in record["relevant_urls"]}
            started = time.perf_counter()
            answer = ask(record["question"])
            row.timings.append((time.perf_counter() - started) * 1000)
            row.ranks.append(rank(answer, relevant))
    return row


def newsdesk_rows(searcher: Searcher, questions: list[dict], modes: list[str], rounds: int) -> list[Row]:
    searcher.search("warm up the encoder and the caches", k=10)
    return [
        measure(
            Row("newsdesk", mode),
            questions,
            rounds,
            # Timeless, as before issue 13 (and as the peers search): time words would be read relative to
            # today, which the archive's questions were not asked on.
            lambda question, mode=mode: (
                searcher.search(
                    question, k=10, mode=mode, time_words=TIMELESS.time_words, recency=TIMELESS.recency
                ).results
            ),
            rank_of_relevant,
            searcher.clear_query_cache,  # every query embedded afresh
        )
        for mode in modes
    ]


def newsdesk_time_rows(searcher: Searcher, questions: list[dict], rounds: int) -> list[Row]:
    """Hybrid asked in time (issue 13), every query embedded afresh: each question asked on its `date` with
    its time words ignored (the cost of as_of: a cut inside retrieval), and the questions whose words name
    a time ("this week", "last year") asked on their date (the words read, the range filtering)."""
    asked = {record["question"]: asked_on(record) for record in questions}
    worded = [r for r in questions if resolve_time(r["question"], asked[r["question"]].as_of).time_range]
    if not any(a.as_of for a in asked.values()):
        print("time rows: skipped, the questions carry no dates")
        return []

    def ask(question: str, time_words: bool) -> list:
        when = asked[question]
        return searcher.search(question, k=10, as_of=when.as_of, time_words=time_words, recency=when.recency).results

    return [
        measure(Row("newsdesk", "hybrid", note="as_of: each question on its date"), questions, rounds,
                lambda q: ask(q, False), rank_of_relevant, searcher.clear_query_cache),
        measure(Row("newsdesk", "hybrid", note=f"as_of + time words ({len(worded)} questions naming a time)"),
                worded, rounds, lambda q: ask(q, True), rank_of_relevant, searcher.clear_query_cache),
    ]  # fmt: skip


def peer_row(system: str, mode: str, search, ranker: ArticleRanker, questions: list[dict], rounds: int) -> Row:
    ranker.top_articles(search, "warm up the model and the caches")
    ranker.short = 0
    row = measure(Row(system, mode), questions, rounds, lambda q: ranker.top_articles(search, q), rank_of)
    if ranker.short:
        row.note = f"({ranker.short} queries with < 10 articles)"
    return row


def peer_rows(args: argparse.Namespace, questions: list[dict]) -> list[Row]:
    """Each peer loaded, measured and released in turn, so only one sits in memory at a time."""
    try:
        passages, origin = load_passages(args.workdir, args.index)
    except (NewsdeskError, OSError) as exc:
        print(f"peers: skipped, no passages ({exc})")
        return []
    ranker = ArticleRanker(passages, first_pool=args.pool)
    print(f"peers: {len(passages)} passages from {origin}; passage pool {args.pool} per query, ×4 while < 10 articles")
    rows: list[Row] = []
    txtai_path = args.workdir / TXTAI_DIR
    wanted_txtai = [p for p in args.peers if p.startswith("txtai")]
    if wanted_txtai and not (txtai_path / "config.json").is_file():
        if args.build_peers:
            started = time.perf_counter()
            build_txtai(passages, txtai_path, bundled_model_dir()).close()
            print(f"txtai: built {txtai_path} in {time.perf_counter() - started:.0f} s")
        else:
            print("txtai: skipped, run scripts/bench_index.py first (or give --build-peers)")
            wanted_txtai = []
    for peer in wanted_txtai:
        embeddings = load_txtai(txtai_path, dense_only=peer == "txtai-dense")
        if embeddings.count() != len(passages):
            print(f"warning: {txtai_path} holds {embeddings.count()} passages, not {len(passages)}; rebuild it")
        mode = "dense" if peer == "txtai-dense" else "hybrid"
        rows.append(peer_row("txtai", mode, txtai_search(embeddings), ranker, questions, args.rounds))
        embeddings.close()
        del embeddings
        gc.collect()
    if "bm25s" in args.peers:
        started = time.perf_counter()
        search = build_bm25s(passages)
        stemmed = "Snowball stemmer" if stemmer() else "no stemmer (install PyStemmer)"
        print(f"bm25s: indexed in {time.perf_counter() - started:.1f} s, English stopwords, {stemmed}")
        rows.append(peer_row("bm25s", "lexical", search, ranker, questions, args.rounds))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The index scripts/bench_index.py built: the peers search the passages exported from it.
    parser.add_argument("--index", type=Path, default=REPO / "var" / "bench" / "newsdesk")
    parser.add_argument("--questions", type=Path, default=DATA / "eval" / "questions_dev.jsonl")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--rounds", type=int, default=1, help="passes over the questions per mode")
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench", help="where bench_index.py wrote")
    parser.add_argument("--peers", nargs="*", choices=PEERS, default=list(PEERS), help="peers to run (none: --peers)")
    parser.add_argument("--build-peers", action="store_true", help=f"build WORKDIR/{TXTAI_DIR} when it is missing")
    parser.add_argument("--pool", type=int, default=50, help="passages first asked of a peer per query")
    args = parser.parse_args()
    try:
        searcher, questions = open_with_questions(args.index, args.questions)
    except NewsdeskError as exc:
        print(f"skipped: {exc}")
        return 0
    passages_file = args.workdir / PASSAGES_FILE
    print(
        f"index {args.index}: {searcher.stats().passages} passages; {len(questions)} questions; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.peers and passages_file.is_file() and args.index.resolve() != (args.workdir / "newsdesk").resolve():
        print(f"note: the peers search {passages_file}, exported from {args.workdir / 'newsdesk'}, not {args.index}")
    rows = newsdesk_rows(searcher, questions, args.modes, args.rounds)
    if "hybrid" in args.modes:
        rows += newsdesk_time_rows(searcher, questions, args.rounds)
    del searcher  # its model and vectors leave before a peer loads its own
    gc.collect()
    try:
        rows += peer_rows(args, questions)
    except ImportError as exc:
        print(f"peers: skipped, {exc.name} is not installed — pip install -c constraints.txt -e '.[bench]'")

    load = os.getloadavg()[0]
    if load >= (os.cpu_count() or 1) * 0.75:
        # Measured on this 2-CPU machine: with other jobs running, a 2-thread torch team waits on its
        # descheduled thread (a txtai query went from ~19 ms on one thread to ~280 ms on two).
        print(f"warning: load average {load:.2f} on {os.cpu_count()} CPUs — latencies are inflated, torch's most")
    print(f"{'system':<9} {'mode':<8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'R@10':>6} {'MRR@10':>7}")
    for row in rows:
        print(row.line())
    hybrid = next((r for r in rows if r.system == "newsdesk" and r.mode == "hybrid" and not r.note), None)
    for row in rows:
        if hybrid and row.system != "newsdesk":
            print(f"p50 newsdesk hybrid / {row.system} {row.mode}: {hybrid.p50 / row.p50:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
