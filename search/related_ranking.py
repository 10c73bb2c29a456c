"""How related articles are ranked: the dense centroid's neighbours, a lexical more-like-this and time
proximity to the article's own date, fused into one order. Pure functions; the searcher fetches.

Coverage of one story by several outlets shares names (people, places, bills, companies) and is
published within days. The dense centroid of an article's passages finds articles *about the same
kind of thing*; names it blurs. So beside it runs a more-like-this query: BM25 over the article's most
distinctive terms (tf-idf from its title and text, the title counted more), and the two article
rankings are fused by weighted reciprocal rank. Then each article's fused score is scaled by how close
its date is to the article's own: a story's coverage sits within a day or two, a look-alike from another
year does not.

What the searcher does for a related request (filters apply inside both retrievals, as for a search):
1. dense: the centroid of the article's passage vectors → nearest passages → articles by best passage;
2. more-like-this: the article's title and text as FTS5 terms with counts (`QueryStemmer.terms`, so the
   chosen terms are the postings' own); per term, the passages *of other articles* holding it
   (`LexicalIndex.passage_counts(terms, excluding=the article's passage ids)`) and `LexicalIndex.documents`;
   `distinctive_terms(...)`; then `LexicalIndex.search({term: 1 for each chosen}, lexical_depth)` →
   articles by best passage;
3. both rankings without the article and its story copies, the published day of every candidate
   (`published_day`) and of the article, into `fuse_related(...)`; then story grouping and the page as
   today, the score shown being `RelatedArticle.score`.

Defaults were chosen on stories_dev over allsides-8k by scripts/tune_related.py (5 folds by story
headline, the held-out figure reported): see `RelatedSettings`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True, slots=True)
class RelatedSettings:
    """How related articles are found and ordered.

    Chosen on stories_dev over allsides-8k (1,136 stories, 3,936 member pairs) by scripts/tune_related.py,
    5 folds by story headline; 4 of 5 folds chose exactly these values, the fifth lexical_weight 0.5.
    Related recall@5 / @10 (held out): dense only (before) 0.794 / 0.865; + more-like-this 0.828 / 0.889;
    + time 0.901 / 0.950; both 0.914 / 0.959 (in-sample 0.914 / 0.960). See docs/evaluation.md.
    """

    # The more-like-this query: 40 terms beat 20 by 0.002 R@10; 60-80 terms, a title boost of 5 or 10, or
    # query terms weighted by their tf-idf were within 0.003 of these; log tf was lower (research runs).
    terms: int = 40  # distinctive terms in the query
    # Passages the query takes (about 400 articles on allsides-8k). Tuned with 1,000 from the dense side
    # too; the dense side at the searcher's usual 200 passages scored R@10 0.957 instead of 0.959.
    lexical_depth: int = 1000
    title_boost: float = 3.0  # a title occurrence of a term counts as this many body occurrences
    # Fusion: relevance = dense_weight / (rrf_k + dense rank) + lexical_weight / (rrf_k + lexical rank).
    # Equal weights and k=30 (of 10/30/60): the more-like-this ranking alone (R@10 0.84) is nearly as good
    # as the dense one (0.865), and they err on different articles.
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    rrf_k: float = 30.0
    # Time proximity: relevance times (1 - time_weight) + time_weight * 0.5 ** (days apart / half-life).
    # 95% of stories_dev's dated member pairs are published the same day or the next (65% the same day).
    # At these values an article a day apart keeps 0.55 of its score, a week or more apart about 0.1.
    # Gentler settings still help (time_weight 0.5, half-life 2 days: R@10 0.939) and are a request away.
    time_weight: float = 0.9  # 0 turns time off
    time_half_life_days: float = 1.0
    # An undated candidate of a dated article is scaled as if it were this many days apart: "unknown" sits
    # between near and far (1 day: R@10 0.942, 3: 0.959, 30 or never: 0.944). An undated article leaves
    # every score as fusion made it (19% of stories_dev's members are undated; their R@10 is 0.892).
    undated_days_apart: float = 3.0

    def __post_init__(self) -> None:
        if self.terms < 1 or self.lexical_depth < 1:
            raise ValueError(f"terms and lexical_depth must be at least 1, got {self.terms}, {self.lexical_depth}")
        if min(self.title_boost, self.dense_weight, self.lexical_weight, self.rrf_k) < 0:
            raise ValueError("title_boost, dense_weight, lexical_weight and rrf_k must not be negative")
        if not 0.0 <= self.time_weight <= 1.0:
            raise ValueError(f"time_weight must be between 0 and 1, got {self.time_weight}")
        if self.time_half_life_days <= 0 or self.undated_days_apart < 0:
            raise ValueError("time_half_life_days must be positive and undated_days_apart not negative")


class DistinctiveTerm(NamedTuple):
    term: str
    weight: float  # tf-idf: (body count + title_boost * title count) * idf over other articles' passages


def distinctive_terms(
    title_terms: Mapping[str, int],
    text_terms: Mapping[str, int],
    other_documents: Mapping[str, int],
    documents: int,
    settings: RelatedSettings,
) -> list[DistinctiveTerm]:
    """The article's `settings.terms` most distinctive terms, best first.

    `title_terms` / `text_terms`: the article's FTS5 terms with counts. `other_documents`: per term, the
    passages of *other* articles holding it (a term missing or at 0 cannot find anything but the article
    itself, so it is never chosen). `documents`: passages in the index, for the idf.
    """
    scored = []
    for term in set(title_terms) | set(text_terms):
        other = other_documents.get(term, 0)
        if other <= 0:
            continue
        idf = math.log((documents - other + 0.5) / (other + 0.5))
        if idf <= 0:  # in half the passages or more: says nothing about this article
            continue
        count = text_terms.get(term, 0) + settings.title_boost * title_terms.get(term, 0)
        scored.append(DistinctiveTerm(term, count * idf))
    scored.sort(key=lambda t: (-t.weight, t.term))
    return scored[: settings.terms]


class RelatedArticle(NamedTuple):
    article_id: str
    score: float
    dense_rank: int | None  # 1-based place in the dense ranking, None when it was not there
    lexical_rank: int | None
    days_apart: int | None  # None when either article is undated


def fuse_related(
    dense: Sequence[str],
    lexical: Sequence[str],
    published: Mapping[str, date | None],
    origin: date | None,
    settings: RelatedSettings,
) -> list[RelatedArticle]:
    """Every candidate of either ranking, best first (equal scores in article id order).

    `dense`, `lexical`: article ids best first, the article itself and its story copies already removed
    (an id repeated keeps its first place). `published`: each candidate's date (missing or None:
    undated). `origin`: the article's own date (None: time plays no part).
    """
    # A ranking of weight 0 brings no candidates either: the other's order is then returned as it is.
    dense_ranks = _ranks(dense if settings.dense_weight else [])
    lexical_ranks = _ranks(lexical if settings.lexical_weight else [])
    ids = list(dict.fromkeys([*dense_ranks, *lexical_ranks]))
    apart: list[int | None] = [_days_apart(published.get(i), origin) for i in ids]
    scores = fused_scores(
        np.array([dense_ranks.get(i, math.inf) for i in ids], dtype=np.float64),
        np.array([lexical_ranks.get(i, math.inf) for i in ids], dtype=np.float64),
        np.array([math.nan if d is None else d for d in apart], dtype=np.float64),
        origin is not None,
        settings,
    )
    ranked = [
        RelatedArticle(i, float(s), dense_ranks.get(i), lexical_ranks.get(i), d)
        for i, s, d in zip(ids, scores.tolist(), apart, strict=True)
    ]
    ranked.sort(key=lambda r: (-r.score, r.article_id))
    return ranked


def fused_scores(
    dense_rank: np.ndarray,
    lexical_rank: np.ndarray,
    days_apart: np.ndarray,
    origin_dated: bool | np.ndarray,
    settings: RelatedSettings,
) -> np.ndarray:
    """The fused score of candidates given as arrays (scripts/tune_related.py scores thousands at once).

    Ranks are 1-based, `inf` where a ranking did not hold the candidate; `days_apart` is NaN for an
    undated candidate; `origin_dated` is one flag, or one per candidate when several articles' candidates
    are scored together.
    """
    k = settings.rrf_k
    relevance = settings.dense_weight / (k + dense_rank) + settings.lexical_weight / (k + lexical_rank)
    if settings.time_weight == 0:
        return relevance
    apart = np.where(np.isnan(days_apart), settings.undated_days_apart, days_apart)
    proximity = 0.5 ** (apart / settings.time_half_life_days)
    factor = (1.0 - settings.time_weight) + settings.time_weight * proximity
    # An undated article cannot say which candidates are near it: its order is fusion's alone.
    return relevance * np.where(origin_dated, factor, 1.0)


def published_day(published: str | None) -> date | None:
    """The calendar day of a stored `published` value (ISO 8601, maybe with a time); None if absent or unreadable."""
    if not published:
        return None
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None


def _ranks(ids: Sequence[str]) -> dict[str, int]:
    ranks: dict[str, int] = {}
    for article_id in ids:
        ranks.setdefault(article_id, len(ranks) + 1)
    return ranks


def _days_apart(day: date | None, origin: date | None) -> int | None:
    if day is None or origin is None:
        return None
    return abs((day - origin).days)
