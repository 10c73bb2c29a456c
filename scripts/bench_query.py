"""Query latency per mode on the dev questions, query embedding included (no vector cache hits).

    python scripts/bench_query.py [--index var/rtqa] [--questions ../shared/data/eval/questions_dev.jsonl]

Prints p50 / p95 / p99 milliseconds per mode plus recall@10 and MRR@10 of the same runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.errors import NewsdeskError  # noqa: E402
from index.normalize import canonical_url  # noqa: E402
from search.evaluate import load_jsonl, rank_of_relevant  # noqa: E402
from search.searcher import Searcher  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "var" / "rtqa")
    parser.add_argument("--questions", type=Path, default=DATA / "eval" / "questions_dev.jsonl")
    parser.add_argument("--modes", nargs="+", default=["hybrid", "dense", "lexical"])
    parser.add_argument("--rounds", type=int, default=1, help="passes over the questions per mode")
    args = parser.parse_args()
    if not args.questions.is_file():
        print(f"skipped: {args.questions} not found (bench needs ../shared/data)")
        return 0
    try:
        searcher = Searcher.open(args.index)
    except NewsdeskError as exc:
        print(f"skipped: {exc}")
        return 0
    questions = load_jsonl(args.questions)
    searcher.search("warm up the encoder and the caches", k=10)
    print(f"index {args.index}: {searcher.stats().passages} passages; {len(questions)} questions")
    print(f"{'mode':<8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'R@10':>6} {'MRR@10':>7}")
    for mode in args.modes:
        timings, reciprocal, hits = [], 0.0, 0
        for _ in range(args.rounds):
            searcher.clear_query_cache()  # every query embedded afresh
            for record in questions:
                relevant = {canonical_url(u) for u in record["relevant_urls"]}
                started = time.perf_counter()
                results = searcher.search(record["question"], k=10, mode=mode).results
                timings.append((time.perf_counter() - started) * 1000)
                rank = rank_of_relevant(results, relevant)
                hits += rank is not None
                reciprocal += 1 / rank if rank else 0.0
        n = len(questions) * args.rounds
        print(
            f"{mode:<8} {statistics.median(timings):>8.1f} {percentile(timings, 0.95):>8.1f} "
            f"{percentile(timings, 0.99):>8.1f} {hits / n:>6.3f} {reciprocal / n:>7.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
