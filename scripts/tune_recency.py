"""Tune the recency prior on a dated questions file, with cross-validation blocked by question date.

    python scripts/tune_recency.py [--index var/rtqa] [--questions ../shared/data/eval/questions_dev.jsonl]
                                   [--forms multiply add rank window] [--depth 200] [--window 14] [--folds 5]

Each question is asked at the end of its `date` (as_of): articles published after it are never
candidates. The candidates of every question are extracted once (`extract_candidates`: the fused
articles of a dated hybrid search, deepened by a recent pass over the last `--window` days), then every
prior of the grid re-ranks them in memory through search/recency.py, the code searches use.

Printed: recall@10 / MRR@10 without dates, with as_of alone, the best settings of each form, and the
presets; then the cross-validation. Questions are sorted by date and cut into `--folds` contiguous blocks
(a date is never split): a prior is always scored on weeks of news it was not chosen on, as it will be
in use. Each fold is scored with the setting that was best (MRR@10, then R@10) on the other folds; the
pooled held-out figure is printed beside the in-sample best, per form and over all forms.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from tune_fusion import cross_validate, recall  # noqa: E402

from index.errors import NewsdeskError  # noqa: E402
from search.evaluate import load_jsonl, mean_reciprocal_rank, relevant_keys  # noqa: E402
from search.fusion import FusionWeights, fuse  # noqa: E402
from search.query import Filters, clean_query  # noqa: E402
from search.recency import PRESETS, RecencyPrior, apply_recency, published_times  # noqa: E402
from search.recent import RECENT_DAYS, candidates_in_time  # noqa: E402
from search.searcher import Searcher  # noqa: E402
from search.time_scope import resolve_time  # noqa: E402

DATA = REPO.parent / "shared" / "data"
OFF = PRESETS["off"]


@dataclass(frozen=True, slots=True)
class QuestionCandidates:
    """One question's fused candidates, as the searcher hands them to the prior, and what counts as found."""

    as_of: datetime
    article_ids: np.ndarray  # str
    fused: np.ndarray
    published: np.ndarray  # datetime64[s], NaT when undated
    stories: np.ndarray  # story id (or the article's own id) per candidate, for folding as results do
    relevant: frozenset[str]  # ids of the articles the index holds at the question's relevant URLs


def question_as_of(record: dict) -> datetime | None:
    """The end of the day the question was asked (`date`: YYYY/MM/DD or YYYY-MM-DD), None when it has none."""
    text = str(record.get("date") or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError as exc:
        raise NewsdeskError(f"question {record.get('qid')}: date {text!r} is not YYYY/MM/DD or YYYY-MM-DD") from exc
    return datetime.combine(day + timedelta(days=1), time())


def extract_candidates(
    searcher: Searcher, record: dict, as_of: datetime | None, depth: int, window: int, time_words: bool = False
) -> QuestionCandidates:
    """The one place that talks to the searcher: the fused candidates of a hybrid search as of `as_of`,
    before the prior, as `Searcher.search` gathers them (search.recent.candidates_in_time): dense + lexical
    at `depth` over articles published up to as_of (and, with `time_words`, within the dates the question's
    words name), united with a recent pass over the `window` days before it (all of its passages, so the
    few articles of that week are candidates however deep they rank overall; each passage keeps the
    retriever's score, so the union is ordered as one deeper list would be), then fused.
    """
    query = clean_query(record["question"], searcher.settings)
    # The searcher's as_of for that date is the end of it: an article dated the next day, which counts from
    # that day's first moment, must not be a candidate.
    end_of_day = as_of - timedelta(microseconds=1) if as_of else None
    scope = resolve_time(query, end_of_day, time_words=time_words and as_of is not None)
    filters = scope.narrow(Filters(), searcher.times.cuts(scope.as_of))
    settings = searcher.settings
    bm25 = (settings.bm25_title_weight, settings.bm25_text_weight)
    recent = as_of if as_of is not None and window else None
    candidates = candidates_in_time(
        searcher.retriever, scope.query or query, "hybrid", depth, filters, bm25, recent, days=window or RECENT_DAYS
    )
    weights = FusionWeights.for_mode("hybrid", settings.dense_weight, settings.lexical_weight, settings.rrf_k)
    fused = fuse(candidates.dense, candidates.lexical, weights).articles
    ids = sorted(article.article_id for article in fused)
    score = {article.article_id: article.score for article in fused}
    articles = searcher.store.articles(ids)
    stories = searcher.store.story_ids(ids)
    # Found as `newsdesk eval` counts it: the article the index holds at one of the relevant URLs.
    candidates = set(ids)
    relevant = {key for key in relevant_keys(searcher, record["relevant_urls"]) if key in candidates}
    return QuestionCandidates(
        as_of=as_of or datetime.now(),
        article_ids=np.array(ids, dtype=str),
        fused=np.array([score[i] for i in ids], dtype=np.float64),
        published=published_times([articles[i].published for i in ids]),
        stories=np.array([stories.get(i) or i for i in ids], dtype=str),
        relevant=frozenset(relevant),
    )


def rank_of_relevant(question: QuestionCandidates, prior: RecencyPrior) -> int | None:
    """1-based rank of the first result (story copies folded into it) holding a relevant article, top 10."""
    if not question.relevant:
        return None
    ranked = apply_recency(question.article_ids, question.fused, question.published, question.as_of, prior)
    position = {aid: i for i, aid in enumerate(question.article_ids.tolist())}
    stories = question.stories[[position[aid] for aid in ranked.article_ids]]
    relevant_stories = {question.stories[position[aid]] for aid in question.relevant if aid in position}
    _, first = np.unique(stories, return_index=True)
    for rank, story in enumerate(stories[np.sort(first)][:10].tolist(), start=1):
        if story in relevant_stories:
            return rank
    return None


def grid(forms: list[str]) -> list[RecencyPrior]:
    """The settings tried: each form over curves, plateaus (offset), scales and strengths."""
    offsets, scales = (0, 1, 2, 3, 4, 5, 6, 7, 8), (1, 2, 3, 5, 7, 10, 14, 30)
    strengths = {
        "multiply": (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
        "add": (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
        "rank": (0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0),
        "window": (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
    }
    settings: list[RecencyPrior] = []
    for form in forms:
        if form == "window":  # a window of `scale` days, no curve
            settings += [
                RecencyPrior("window", "linear", scale=w, strength=s)
                for w, s in itertools.product((2, 3, 4, 5, 6, 7, 8, 10, 14, 30), strengths[form])
            ]
        elif form == "rank":  # only the order by decay counts: a few scales, and the ranking's own RRF k
            settings += [
                RecencyPrior("rank", c, scale=sc, offset=o, strength=s, rank_k=k)
                for c, o, sc, s, k in itertools.product(
                    ("gauss", "exp"), offsets, (1, 3, 7), strengths[form], (1, 5, 20, 60)
                )
            ]
        else:
            settings += [
                RecencyPrior(form, c, scale=sc, offset=o, strength=s)
                for c, o, sc, s in itertools.product(("gauss", "exp", "linear"), offsets, scales, strengths[form])
            ]
    return settings


def date_blocks(as_ofs: list[datetime], folds: int) -> list[int]:
    """The fold of each question: sorted by date, cut into `folds` contiguous blocks of about equal size,
    a cut never falling inside one date."""
    order = sorted(range(len(as_ofs)), key=lambda i: as_ofs[i])
    fold_of, fold, size = [0] * len(order), 0, len(order) / folds
    for position, i in enumerate(order):
        if position >= (fold + 1) * size and fold < folds - 1 and as_ofs[i] != as_ofs[order[position - 1]]:
            fold += 1
        fold_of[i] = fold
    return fold_of


def score_line(ranks: list[int | None]) -> str:
    return f"R@10 {recall(ranks):.3f}  MRR@10 {mean_reciprocal_rank(ranks):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "var" / "rtqa")
    parser.add_argument("--questions", type=Path, default=DATA / "eval" / "questions_dev.jsonl")
    parser.add_argument("--forms", nargs="+", default=["multiply", "add", "rank", "window"])
    parser.add_argument("--depth", type=int, default=200, help="passages per retriever before fusion")
    parser.add_argument("--window", type=int, default=14, help="days of the recent pass (0: none)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--time-words",
        action="store_true",
        help="read the questions' time words as the searcher does (a range filters the candidates)",
    )
    parser.add_argument("--top", type=int, default=3, help="best settings shown per form")
    args = parser.parse_args()
    if not args.questions.is_file():
        print(f"skipped: {args.questions} not found")
        return 0
    try:
        searcher = Searcher.open(args.index)
        records = load_jsonl(args.questions)
        as_ofs = [question_as_of(r) for r in records]
    except NewsdeskError as exc:
        print(f"skipped: {exc}")
        return 0
    undated = sum(a is None for a in as_ofs)
    records = [r for r, a in zip(records, as_ofs, strict=True) if a is not None]
    dated_as_of = [a for a in as_ofs if a is not None]
    if len(records) < args.folds:
        print(f"skipped: {len(records)} dated questions ({undated} without a date); need at least {args.folds}")
        return 0
    timeless = [extract_candidates(searcher, r, None, args.depth, 0) for r in records]
    questions = [
        extract_candidates(searcher, r, a, args.depth, args.window, args.time_words)
        for r, a in zip(records, dated_as_of, strict=True)
    ]
    print(
        f"{len(records)} dated questions ({undated} without a date skipped), depth {args.depth}, "
        f"recent pass {args.window} days, time words {'read' if args.time_words else 'ignored'}"
    )
    print(f"  without dates            {score_line([rank_of_relevant(q, OFF) for q in timeless])}")
    ranks = {prior: [rank_of_relevant(q, prior) for q in questions] for prior in [OFF, *grid(args.forms)]}
    print(f"  as_of, recency off       {score_line(ranks[OFF])}")
    for name, prior in PRESETS.items():
        found = ranks.get(prior) or [rank_of_relevant(q, prior) for q in questions]
        print(f"  preset {name:<17} {score_line(found)}  ({prior})")

    def best_first(priors: list[RecencyPrior]) -> list[RecencyPrior]:
        return sorted(priors, key=lambda p: (mean_reciprocal_rank(ranks[p]), recall(ranks[p])), reverse=True)

    folds = date_blocks(dated_as_of, args.folds)
    summary = []
    for form in [*args.forms, "all"]:
        priors = [p for p in ranks if p.active and form in (p.form, "all")]
        print(f"\n{form}: {len(priors)} settings; best on all questions (chosen and scored on the same ones):")
        for prior in best_first(priors)[: args.top]:
            print(f"  {score_line(ranks[prior])}  {prior}")
        print(f"{form}: {args.folds} date-blocked folds, each scored with the best of the others:")
        held_out = cross_validate({p: ranks[p] for p in priors}, folds, args.folds)
        best = best_first(priors)[0]
        # The same questions asked today, when none of their news is recent: a prior must then do no harm.
        today = [rank_of_relevant(q, best) for q in timeless]
        summary.append((form, ranks[best], held_out, today))
    asked = f"best asked {timeless[0].as_of:%Y-%m-%d}" if timeless else "best asked today"
    print(f"\nform        in-sample best               held out (date-blocked)      {asked}, no dates")
    for form, in_sample, held_out, today in summary:
        print(f"{form:<10}  {score_line(in_sample)}  {score_line(held_out)}  {score_line(today)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
