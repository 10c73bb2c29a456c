"""Tune how related articles are ranked (dense centroid + lexical more-like-this + time proximity) on a
stories file, with cross-validation by story.

    python scripts/tune_related.py [--index var/allsides8k] [--stories ../shared/data/eval/stories_dev.jsonl]
                                   [--terms 20 40] [--title-boost 3] [--rrf-k 10 30 60] [--folds 5] ...

Each member article's candidates are fetched once (`extract_candidates`: the dense centroid's articles,
and a more-like-this BM25 ranking per term-selection setting, with every candidate's date); every grid
point of `search.related_ranking.RelatedSettings` is then scored offline, as `newsdesk eval` scores
related lists: for each (member, other member) pair, found when the other member is among the first k
related results or folded into one of them as a story copy (a story copy of the member itself counts as
found). The table gives, per family of settings (dense only as today, + more-like-this, + time, both),
the best in-sample figure and the cross-validated one: stories are dealt into `--folds` folds by a hash
of their headline, each fold is scored with the setting best on the others (recall@10, then recall@5),
and the held-out pairs are pooled. Also printed: each fold's choice, RelatedSettings' defaults, and the
time the more-like-this pass took per article.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.errors import ArticleNotFoundError, NewsdeskError  # noqa: E402
from search.evaluate import load_jsonl  # noqa: E402
from search.related_ranking import (  # noqa: E402
    RelatedSettings,
    fused_scores,
)
from search.searcher import Filters, Searcher  # noqa: E402

DATA = REPO.parent / "shared" / "data"
KS = (5, 10)
DEFAULTS = RelatedSettings()


@dataclass
class Candidates:
    """What the fusion of one article's related list needs, fetched from the index."""

    article_id: str
    origin: int | None  # the article's own day (search.published day number)
    dense: list[str]  # article ids by best passage against the centroid; itself and story copies removed
    lexical: dict[tuple[int, float], list[str]]  # per (terms, title boost): the more-like-this ranking
    published: dict[str, int | None] = field(default_factory=dict)  # every candidate's day
    story: dict[str, str] = field(default_factory=dict)  # every candidate's story (its own id if alone)
    copies: set[str] = field(default_factory=set)  # the article's story copies (shown with it)
    mlt_seconds: float = 0.0  # the more-like-this pass of the default term setting, fetch to ranking


def extract_candidates(
    searcher: Searcher,
    article_id: str,
    selections: list[tuple[int, float]],
    dense_depth: int = DEFAULTS.dense_depth,
    known: dict[str, str] | None = None,
) -> Candidates:
    """One article's candidates through the searcher's own retrieval (`Retriever.nearest` and
    `Retriever.more_like_this`, as `Searcher.related` calls them).

    `selections`: the (terms, title boost) settings to run a more-like-this query for. `known`: a memo of
    the story of each article id, shared between calls so each article is read once.
    """
    store, retriever, times = searcher.store, searcher.retriever, searcher.times
    article = store.article(article_id)
    if article is None:
        raise ArticleNotFoundError(article_id)
    copies = set(searcher.story_copies(article))
    excluded = {article.id, *copies}
    matrix = store.passage_vectors(article.id)
    centroid = matrix.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    dense = [c.article_id for c in retriever.nearest(centroid, dense_depth, Filters()).dense]

    own = store.passage_ids_of(article.id)
    bm25_weights = (searcher.settings.bm25_title_weight, searcher.settings.bm25_text_weight)
    lexical, seconds = {}, {}
    for terms, title_boost in selections:
        started = time.perf_counter()
        settings = RelatedSettings(terms=terms, title_boost=title_boost)
        alike = retriever.more_like_this(article.title, article.text, own, settings, Filters(), bm25_weights)
        lexical[(terms, title_boost)] = _articles([c.article_id for c in alike], excluded)
        seconds[(terms, title_boost)] = time.perf_counter() - started
    default = (DEFAULTS.terms, DEFAULTS.title_boost)

    found = Candidates(article.id, times.day(article.id), _articles(dense, excluded), lexical)
    found.copies = copies
    found.mlt_seconds = seconds.get(default, next(iter(seconds.values()), 0.0))
    known = {} if known is None else known
    everyone = {*found.dense, *(i for ranking in lexical.values() for i in ranking)}
    for other in store.articles(everyone - set(known)).values():
        known[other.id] = other.story_id or other.id
    for other in everyone:
        found.published[other], found.story[other] = times.day(other), known[other]
    return found


def _articles(ids: list[str], excluded: set[str]) -> list[str]:
    """Article ids in first-occurrence order, the excluded ones removed."""
    return [i for i in dict.fromkeys(ids) if i not in excluded]


@dataclass
class Pairs:
    """All members' candidates as flat arrays, scored for any settings at once."""

    member: np.ndarray  # per candidate: which member's list it is in
    dense_rank: np.ndarray
    lexical_rank: dict[tuple[int, float], np.ndarray]
    days_apart: np.ndarray
    origin_dated: np.ndarray
    group: np.ndarray  # per candidate: its (member, story) group, numbered in candidate order
    group_member: np.ndarray
    tie: np.ndarray  # per group: its smallest article id's order, the searcher's tie-break
    target: np.ndarray  # per (member, other) pair: the other's group, -1 when not a candidate
    found_anyway: np.ndarray  # per pair: the other is a story copy of the member
    story_of_pair: list[str]  # per pair: the story's headline, for the folds


def flatten(candidates: list[Candidates], stories: list[tuple[str, list[str]]]) -> Pairs:
    """`stories`: (headline, member ids) per story; `candidates`: one per member, by article id."""
    by_id = {c.article_id: c for c in candidates}
    selections = list(candidates[0].lexical) if candidates else []
    member, dense, lexical, apart, dated, group = [], [], {s: [] for s in selections}, [], [], []
    group_of: dict[tuple[int, str], int] = {}
    tie: list[str] = []
    target, anyway, story_of_pair = [], [], []
    position = 0
    for headline, members in stories:
        for article_id in members:
            found = by_id[article_id]
            dense_ranks = {a: r for r, a in enumerate(found.dense, start=1)}
            lexical_ranks = {s: {a: r for r, a in enumerate(found.lexical[s], start=1)} for s in selections}
            union = list(dict.fromkeys([*found.dense, *(a for s in selections for a in found.lexical[s])]))
            for other in union:
                member.append(position)
                dense.append(dense_ranks.get(other, np.inf))
                for s in selections:
                    lexical[s].append(lexical_ranks[s].get(other, np.inf))
                day = found.published.get(other)
                apart.append(np.nan if day is None or found.origin is None else abs(day - found.origin))
                dated.append(found.origin is not None)
                key = (position, found.story.get(other, other))
                if key not in group_of:
                    group_of[key] = len(group_of)
                    tie.append(other)
                tie[group_of[key]] = min(tie[group_of[key]], other)
                group.append(group_of[key])
            for other in members:
                if other == article_id:
                    continue
                story_of_pair.append(headline)
                anyway.append(other in found.copies)
                in_list = other in found.story and other not in found.copies
                target.append(group_of[(position, found.story[other])] if in_list else -1)
            position += 1
    order = {a: i for i, a in enumerate(sorted(set(tie)))}
    return Pairs(
        member=np.array(member, dtype=np.int64),
        dense_rank=np.array(dense, dtype=np.float64),
        lexical_rank={s: np.array(v, dtype=np.float64) for s, v in lexical.items()},
        days_apart=np.array(apart, dtype=np.float64),
        origin_dated=np.array(dated, dtype=bool),
        group=np.array(group, dtype=np.int64),
        group_member=np.array([m for m, _ in group_of], dtype=np.int64),
        tie=np.array([order[a] for a in tie], dtype=np.int64),
        target=np.array(target, dtype=np.int64),
        found_anyway=np.array(anyway, dtype=bool),
        story_of_pair=story_of_pair,
    )


class Ranker:
    """Each pair's rank (1-based, among its member's story groups) under any scores, in one numpy pass."""

    def __init__(self, pairs: Pairs) -> None:
        self.pairs = pairs
        groups = len(pairs.group_member)
        self.shared = np.bincount(pairs.group, minlength=groups)[pairs.group] > 1
        # Groups are numbered member by member: each member's groups are one contiguous run.
        first = np.searchsorted(pairs.group_member, pairs.group_member, side="left")
        last = np.searchsorted(pairs.group_member, pairs.group_member, side="right")
        self.live = np.flatnonzero(pairs.target >= 0)
        targets = pairs.target[self.live]
        lengths = (last - first)[targets]
        self.pair_of = np.repeat(np.arange(len(self.live)), lengths)
        offsets = np.arange(len(self.pair_of)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        self.rival = np.repeat(first[targets], lengths) + offsets

    def ranks(self, scores: np.ndarray) -> np.ndarray:
        pairs = self.pairs
        best = np.full(len(pairs.group_member), -np.inf)
        best[pairs.group[~self.shared]] = scores[~self.shared]
        np.maximum.at(best, pairs.group[self.shared], scores[self.shared])  # a story shows as its best member
        mine = pairs.target[self.live][self.pair_of]
        ahead = (best[self.rival] > best[mine]) | (
            (best[self.rival] == best[mine]) & (pairs.tie[self.rival] < pairs.tie[mine])
        )
        ranks = np.full(len(pairs.target), np.iinfo(np.int64).max)
        ranks[self.live] = np.bincount(self.pair_of, weights=ahead, minlength=len(self.live)).astype(np.int64) + 1
        return np.where(pairs.found_anyway, 0, ranks)


def fold_of(headline: str, folds: int) -> int:
    return int.from_bytes(hashlib.sha256(headline.encode()).digest()[:4], "big") % folds


def recall(ranks: np.ndarray, k: int) -> float:
    return float((ranks <= k).mean()) if len(ranks) else 0.0


def cross_validate(
    hits: dict[RelatedSettings, np.ndarray], folds: np.ndarray, count: int, verbose: bool = True
) -> np.ndarray:
    """Each pair's rank under the setting best (recall@10, then @5) on the other folds; `hits` holds ranks."""
    held_out = np.zeros(len(folds), dtype=np.int64)
    for fold in range(count):
        train, test = folds != fold, folds == fold
        best = max(hits, key=lambda s: (recall(hits[s][train], 10), recall(hits[s][train], 5)))
        held_out[test] = hits[best][test]
        if verbose:
            print(
                f"    fold {fold}: {test.sum():>4} pairs, chose {describe(best)} → held out "
                f"R@5 {recall(hits[best][test], 5):.3f} R@10 {recall(hits[best][test], 10):.3f}"
            )
    return held_out


def describe(s: RelatedSettings) -> str:
    text = f"k={s.rrf_k} lexical={s.lexical_weight}"
    if s.lexical_weight:
        text = f"terms={s.terms} title_boost={s.title_boost} " + text
    if s.time_weight:
        text += f" time={s.time_weight} half_life={s.time_half_life_days}d undated={s.undated_days_apart}d"
    return text


def family(s: RelatedSettings) -> str:
    lexical, timed = s.lexical_weight > 0, s.time_weight > 0
    return {
        (False, False): "dense only (today)",
        (True, False): "dense + more-like-this",
        (False, True): "dense + time",
        (True, True): "dense + more-like-this + time",
    }[(lexical, timed)]


def grid(args: argparse.Namespace) -> list[RelatedSettings]:
    base = RelatedSettings()
    settings = []
    for terms, boost, k, lexical in itertools.product(args.terms, args.title_boost, args.rrf_k, args.lexical_weight):
        plain = replace(base, terms=terms, title_boost=boost, rrf_k=k, lexical_weight=lexical, time_weight=0.0)
        settings.append(plain)
        for weight, half_life, undated in itertools.product(args.time_weight, args.half_life, args.undated_days):
            settings.append(
                replace(plain, time_weight=weight, time_half_life_days=half_life, undated_days_apart=undated)
            )
    return list(dict.fromkeys(settings))


def load_stories(searcher: Searcher, path: Path) -> tuple[list[tuple[str, list[str]]], int]:
    """(headline, member ids) of each story with two members or more in the index, and URLs not found."""
    stories, missing = [], 0
    for record in load_jsonl(path):
        ids = []
        for url in record["urls"]:
            try:
                ids.append(searcher.resolve(url))
            except ArticleNotFoundError:
                missing += 1
        ids = list(dict.fromkeys(ids))
        if len(ids) > 1:
            stories.append((record.get("headline") or record.get("story") or ids[0], ids))
    return stories, missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=REPO / "var" / "allsides8k")
    parser.add_argument("--stories", type=Path, default=DATA / "eval" / "stories_dev.jsonl")
    parser.add_argument(
        "--dense-depth", type=int, default=DEFAULTS.dense_depth, help="passages of the dense search"
    )
    parser.add_argument("--terms", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--title-boost", type=float, nargs="+", default=[3.0])
    parser.add_argument("--rrf-k", type=float, nargs="+", default=[10, 30, 60])
    parser.add_argument("--lexical-weight", type=float, nargs="+", default=[0.0, 0.5, 0.75, 1.0])
    parser.add_argument("--time-weight", type=float, nargs="+", default=[0.5, 0.75, 0.9, 1.0])
    parser.add_argument("--half-life", type=float, nargs="+", default=[1, 2, 3, 7])
    parser.add_argument("--undated-days", type=float, nargs="+", default=[1, 3, 7, 30])
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds; 1 turns it off")
    args = parser.parse_args()
    if not args.stories.is_file():
        print(f"skipped: {args.stories} not found")
        return 0
    try:
        searcher = Searcher.open(args.index)
    except NewsdeskError as exc:
        print(f"skipped: {exc}")
        return 0
    stories, missing = load_stories(searcher, args.stories)
    selections = list(dict.fromkeys((t, b) for t in args.terms for b in args.title_boost))
    members = list(dict.fromkeys(m for _, ids in stories for m in ids))
    print(f"{len(stories)} stories, {len(members)} member articles ({missing} URLs not in the index)", flush=True)
    started = time.perf_counter()
    known: dict[str, str] = {}
    candidates = [extract_candidates(searcher, m, selections, args.dense_depth, known) for m in members]
    mlt_ms = sorted(c.mlt_seconds * 1000 for c in candidates)
    print(
        f"candidates fetched in {time.perf_counter() - started:.0f} s; more-like-this pass per article: "
        f"p50 {statistics.median(mlt_ms):.1f} ms, p95 {mlt_ms[int(0.95 * (len(mlt_ms) - 1))]:.1f} ms",
        flush=True,
    )
    started = time.perf_counter()
    pairs = flatten(candidates, stories)
    ranker = Ranker(pairs)
    settings = grid(args)
    current = RelatedSettings()
    hits: dict[RelatedSettings, np.ndarray] = {}
    for s in dict.fromkeys([current, *settings]):
        if (s.terms, s.title_boost) not in pairs.lexical_rank:
            continue
        scores = fused_scores(
            pairs.dense_rank, pairs.lexical_rank[(s.terms, s.title_boost)], pairs.days_apart, pairs.origin_dated, s
        )
        hits[s] = ranker.ranks(scores)
    folds = np.array([fold_of(h, args.folds) for h in pairs.story_of_pair])
    print(
        f"\n{len(pairs.target)} (member, other member) pairs, {len(pairs.member)} candidates; "
        f"{len(hits)} settings scored in {time.perf_counter() - started:.0f} s"
    )
    print(f"{'family':<32} {'in-sample best R@5 / R@10':>26}   {'held out R@5 / R@10':>20}")
    for name in dict.fromkeys(family(s) for s in settings):
        members_of = {s: hits[s] for s in settings if family(s) == name and s in hits}
        best = max(members_of, key=lambda s: (recall(members_of[s], 10), recall(members_of[s], 5)))
        held = cross_validate(members_of, folds, args.folds, verbose=False) if args.folds > 1 else members_of[best]
        print(
            f"{name:<32} {recall(members_of[best], 5):>12.3f} / {recall(members_of[best], 10):.3f}"
            f"   {recall(held, 5):>10.3f} / {recall(held, 10):.3f}   best: {describe(best)}"
        )
    everything = {s: hits[s] for s in settings if s in hits}
    print("\nbest ten in-sample:")
    for s in sorted(everything, key=lambda s: (recall(everything[s], 10), recall(everything[s], 5)), reverse=True)[:10]:
        print(f"  R@5 {recall(everything[s], 5):.3f} R@10 {recall(everything[s], 10):.3f}  {describe(s)}")
    if args.folds > 1:
        print(f"\n{args.folds}-fold cross-validation (folds by story headline) over the whole grid:")
        held = cross_validate(everything, folds, args.folds)
        print(f"held out, pooled: R@5 {recall(held, 5):.3f} R@10 {recall(held, 10):.3f}")
    if current in hits:
        print(
            f"RelatedSettings defaults ({describe(current)}): R@5 {recall(hits[current], 5):.3f} "
            f"R@10 {recall(hits[current], 10):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
