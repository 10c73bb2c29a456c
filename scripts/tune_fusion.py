"""Grid-search the hybrid fusion settings on a questions file, through the real Searcher.

    python scripts/tune_fusion.py [--index var/rtqa] [--questions ../shared/data/eval/questions_dev.jsonl]

Prints recall@10 and MRR@10 for each setting, best MRR@10 first. Query vectors are cached after the
first pass, so each further setting costs only the FAISS + FTS5 lookups.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.errors import NewsdeskError  # noqa: E402
from search.evaluate import evaluate_questions, load_jsonl  # noqa: E402
from search.searcher import Searcher  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "var" / "rtqa")
    parser.add_argument("--questions", type=Path, default=DATA / "eval" / "questions_dev.jsonl")
    parser.add_argument("--dense-weights", type=float, nargs="+", default=[0.6, 0.8, 1.0, 1.25, 1.5])
    parser.add_argument("--rrf-k", type=float, nargs="+", default=[10, 30, 60])
    parser.add_argument("--depth", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--title-weight", type=float, nargs="+", default=[1.0])
    args = parser.parse_args()
    if not args.questions.is_file():
        print(f"skipped: {args.questions} not found")
        return 0
    try:
        searcher = Searcher.open(args.index)
    except NewsdeskError as exc:
        print(f"skipped: {exc}")
        return 0
    records = load_jsonl(args.questions)
    base = searcher.settings
    rows = []
    for dense_weight, rrf_k, depth, title_weight in itertools.product(
        args.dense_weights, args.rrf_k, args.depth, args.title_weight
    ):
        searcher.settings = base.model_copy(
            update={
                "dense_weight": dense_weight,
                "lexical_weight": 1.0,
                "rrf_k": rrf_k,
                "depth": depth,
                "bm25_title_weight": title_weight,
            }
        )
        (scores,) = evaluate_questions(searcher, records, ["hybrid"])
        rows.append(
            (scores.mrr_at_10, scores.recall_at_10, scores.recall_at_1, dense_weight, rrf_k, depth, title_weight)
        )
        print(
            f"dense_weight={dense_weight:<5} rrf_k={rrf_k:<4} depth={depth:<4} title_weight={title_weight:<4} "
            f"R@1 {scores.recall_at_1:.3f}  R@10 {scores.recall_at_10:.3f}  MRR@10 {scores.mrr_at_10:.3f}",
            flush=True,
        )
    print("\nbest by MRR@10:")
    for mrr, recall, r1, dense_weight, rrf_k, depth, title_weight in sorted(rows, reverse=True)[:5]:
        print(
            f"  MRR@10 {mrr:.3f}  R@10 {recall:.3f}  R@1 {r1:.3f}  dense_weight={dense_weight} rrf_k={rrf_k} "
            f"depth={depth} title_weight={title_weight}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
