"""Grid-search the hybrid fusion settings on a questions file, through the real Searcher, with cross-validation.

    python scripts/tune_fusion.py [--index var/rtqa] [--questions ../shared/data/eval/questions_dev.jsonl]
                                  [--dense-weights ...] [--rrf-k ...] [--depth ...] [--folds 5]

Prints recall@10 and MRR@10 for each setting on all questions, best MRR@10 first. A setting picked as
the best on the very questions it is then scored on flatters itself, so the grid is also cross-validated:
the questions are dealt into `--folds` folds (by a hash of their id, so the split is stable), each fold is
scored with the setting that was best on the other folds, and the pooled held-out MRR@10 / R@10 of that
procedure is printed beside the settings currently in search/settings.py on the same questions. Query
vectors are cached after the first pass, so each further setting costs only the two lookups; a new BM25
title weight re-opens the postings with it (about a second), so settings run grouped by title weight.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.errors import NewsdeskError  # noqa: E402
from search.evaluate import mean_reciprocal_rank, open_with_questions, question_ranks  # noqa: E402
from search.searcher import Searcher  # noqa: E402

DATA = REPO.parent / "shared" / "data"


@dataclass(frozen=True)
class Setting:
    dense_weight: float
    rrf_k: float
    depth: int
    title_weight: float

    def __str__(self) -> str:
        return (
            f"dense_weight={self.dense_weight:<5} rrf_k={self.rrf_k:<4} depth={self.depth:<4} "
            f"title_weight={self.title_weight}"
        )


def recall(ranks: list[int | None]) -> float:
    return sum(r is not None for r in ranks) / len(ranks)


def fold_of(record: dict, folds: int) -> int:
    key = str(record.get("qid") or record["question"]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % folds


def ranks_for(searcher: Searcher, base, setting: Setting, records: list[dict]) -> list[int | None]:
    """Each question's rank under `setting`; the searcher reads its settings at every search."""
    searcher.settings = base.model_copy(
        update={
            "dense_weight": setting.dense_weight,
            "lexical_weight": 1.0,
            "rrf_k": setting.rrf_k,
            "depth": setting.depth,
            "bm25_title_weight": setting.title_weight,
        }
    )
    return question_ranks(searcher, records, "hybrid")[0]


def cross_validate(ranks: dict[Setting, list[int | None]], folds: list[int], count: int) -> list[int | None]:
    """Each question's rank under the setting that scored best (MRR@10, then R@10) on the other folds."""
    held_out: list[int | None] = [None] * len(folds)
    for fold in range(count):
        train = [i for i, f in enumerate(folds) if f != fold]
        best = max(
            ranks,
            key=lambda s: (mean_reciprocal_rank(ranks[s][i] for i in train), recall([ranks[s][i] for i in train])),
        )
        test = [i for i, f in enumerate(folds) if f == fold]
        for i in test:
            held_out[i] = ranks[best][i]
        scored = [ranks[best][i] for i in test]
        print(
            f"  fold {fold}: {len(test):>3} questions, best on the other {len(train)}: {best}  → held out "
            f"MRR@10 {mean_reciprocal_rank(scored):.3f} R@10 {recall(scored):.3f}"
        )
    return held_out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "var" / "rtqa")
    parser.add_argument("--questions", type=Path, default=DATA / "eval" / "questions_dev.jsonl")
    parser.add_argument("--dense-weights", type=float, nargs="+", default=[0.5, 0.6, 0.75, 1.0, 1.25])
    parser.add_argument("--rrf-k", type=float, nargs="+", default=[5, 10, 30, 60])
    parser.add_argument("--depth", type=int, nargs="+", default=[100, 200])
    parser.add_argument("--title-weight", type=float, nargs="+", default=[1.0])
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds; 1 turns it off")
    args = parser.parse_args()
    try:
        searcher, records = open_with_questions(args.index, args.questions)
    except NewsdeskError as exc:
        print(f"skipped: {exc}")
        return 0
    base = searcher.settings
    current = Setting(base.dense_weight, base.rrf_k, base.depth, base.bm25_title_weight)
    grid = [
        Setting(*values) for values in itertools.product(args.dense_weights, args.rrf_k, args.depth, args.title_weight)
    ]
    ranks: dict[Setting, list[int | None]] = {}
    for setting in sorted(dict.fromkeys([current, *grid]), key=lambda s: s.title_weight):
        ranks[setting] = ranks_for(searcher, base, setting, records)
        print(
            f"{setting}  R@10 {recall(ranks[setting]):.3f}  MRR@10 {mean_reciprocal_rank(ranks[setting]):.3f}",
            flush=True,
        )

    print(f"\nbest by MRR@10 on all {len(records)} questions (chosen and scored on the same questions):")
    by_score = sorted(grid, key=lambda s: (mean_reciprocal_rank(ranks[s]), recall(ranks[s])), reverse=True)
    for setting in by_score[:5]:
        print(f"  MRR@10 {mean_reciprocal_rank(ranks[setting]):.3f}  R@10 {recall(ranks[setting]):.3f}  {setting}")
    if args.folds > 1:
        print(f"\n{args.folds}-fold cross-validation of picking the best setting:")
        held_out = cross_validate({s: ranks[s] for s in grid}, [fold_of(r, args.folds) for r in records], args.folds)
        print(
            f"held out, pooled: MRR@10 {mean_reciprocal_rank(held_out):.3f} R@10 {recall(held_out):.3f}; "
            f"settings.py ({current}): MRR@10 {mean_reciprocal_rank(ranks[current]):.3f} "
            f"R@10 {recall(ranks[current]):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
