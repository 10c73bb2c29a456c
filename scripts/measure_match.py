"""How definitions of "the articles that match a question" trade recall for size (search.matches chose one).

    python scripts/measure_match.py [--index var/rtqa] [--questions ../shared/data/eval/questions_dev.jsonl]

Each question is asked on its `date` (as_of, its time words) as `newsdesk eval` asks it. Per definition:
the share of questions whose relevant article is in the set ("kept"), the set's size (mean, median, 90th
percentile, smallest), and recall@10 / MRR@10 of the set listed newest first (what sort=newest shows).
The definitions: search.matches' rule at several thresholds and with one side only, and two relative
ones for comparison (a share of the best fused score; both retrievers' top N).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.errors import NewsdeskError  # noqa: E402
from search.evaluate import Relevant, asked_on, mean_reciprocal_rank, open_with_questions, relevant_keys  # noqa: E402
from search.fusion import FusionWeights, fuse  # noqa: E402
from search.matches import MatchRule, find_matches  # noqa: E402
from search.query import Filters  # noqa: E402
from search.time_scope import resolve_time  # noqa: E402

DATA = REPO.parent / "shared" / "data"
RULES = {  # name: (cosine, share of content words); None = that side does not count
    "cosine >= 0.5 or 60 % of the words (default)": (0.5, 0.6),
    "cosine >= 0.45 or 60 % of the words": (0.45, 0.6),
    "cosine >= 0.5 or 50 % of the words": (0.5, 0.5),
    "cosine >= 0.55 or 75 % of the words": (0.55, 0.75),
    "60 % of the words alone": (None, 0.6),
    "50 % of the words alone": (None, 0.5),
    "cosine >= 0.5 alone": (0.5, None),
}


@dataclass(slots=True)
class Tally:
    name: str
    kept: int = 0
    sizes: list[int] = field(default_factory=list)
    ranks: list[int | None] = field(default_factory=list)

    def add(self, matched: list[str], relevant: Relevant, newest: Callable[[list[str]], list[str]]) -> None:
        self.kept += bool(relevant & set(matched))
        self.sizes.append(len(matched))
        top = newest(matched)[:10]
        self.ranks.append(next((i for i, a in enumerate(top, start=1) if a in relevant), None))

    def line(self) -> str:
        n, sizes = len(self.sizes), sorted(self.sizes)
        recall = sum(r is not None for r in self.ranks) / n
        return (
            f"{self.name:<46} {self.kept / n:>5.3f} {statistics.mean(sizes):>6.1f} {statistics.median(sizes):>6.1f} "
            f"{sizes[int(0.9 * (n - 1))]:>5} {sizes[0]:>4}   {recall:>5.3f} {mean_reciprocal_rank(self.ranks):>6.3f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "var" / "rtqa")
    parser.add_argument("--questions", type=Path, default=DATA / "eval" / "questions_dev.jsonl")
    args = parser.parse_args()
    try:
        searcher, records = open_with_questions(args.index, args.questions)
    except NewsdeskError as exc:
        print(f"skipped: {exc}")
        return 0
    settings, retriever, times = searcher.settings, searcher.retriever, searcher.times
    weights = FusionWeights.for_mode("hybrid", settings.dense_weight, settings.lexical_weight, settings.rrf_k)
    bm25 = (settings.bm25_title_weight, settings.bm25_text_weight)
    tallies = {name: Tally(name) for name in RULES}
    relative = {f"fused score >= {x:.0%} of the best": x for x in (0.1, 0.2, 0.3, 0.5)}
    both = {f"in both retrievers' top {n}": n for n in (10, 20, 50)}
    tallies |= {name: Tally(name) for name in (*relative, *both)}
    for record in records:
        scope = resolve_time(record["question"], asked_on(record).as_of)
        filters = scope.narrow(Filters(), times.cuts(scope.as_of))
        query = scope.query or record["question"]
        relevant = relevant_keys(searcher, record["relevant_urls"])
        for name, (cosine, share) in RULES.items():
            rule = MatchRule(cosine or 0.0, share or 0.0, dense=cosine is not None, lexical=share is not None)
            matched = find_matches(retriever, query, filters, rule, weights, bm25).article_ids
            tallies[name].add(matched, relevant, times.newest_first)
        candidates = retriever.candidates(query, "hybrid", settings.depth, filters, bm25)
        ranked = fuse(candidates.dense, candidates.lexical, weights).articles
        for name, share in relative.items():
            best = ranked[0].score if ranked else 0.0
            tallies[name].add([a.article_id for a in ranked if a.score >= share * best], relevant, times.newest_first)
        dense = list(dict.fromkeys(c.article_id for c in candidates.dense))
        lexical = list(dict.fromkeys(c.article_id for c in candidates.lexical))
        for name, n in both.items():
            tallies[name].add(sorted(set(dense[:n]) & set(lexical[:n])), relevant, times.newest_first)
    print(f"{len(records)} questions from {args.questions}, each asked on its date; index {args.index}")
    print(f"{'definition':<46} {'kept':>5} {'mean':>6} {'median':>6} {'p90':>5} {'min':>4}   newest R@10 MRR@10")
    for tally in tallies.values():
        print(tally.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
