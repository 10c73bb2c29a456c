"""How related articles are ranked: the dense centroid's neighbours, a lexical more-like-this and time
proximity to the article's own date, fused into one order. Pure functions; the searcher fetches.

Coverage of one story by several outlets shares names (people, places, bills, companies) and is
published within days. The dense centroid of an article's passages finds articles *about the same
kind of thing*; names it blurs. So beside it runs a more-like-this query: BM25 over the article's most
distinctive terms (tf-idf from its title and text, the title counted more), and the two article
rankings are fused by weighted reciprocal rank (`search.fusion.fuse`, as a search fuses). Then each
article's fused score is scaled by how close its date is to the article's own (`closer_in_time`): a
story's coverage sits within a day or two, a look-alike from another year does not.

What the searcher does for a related request (filters apply inside both retrievals, as for a search):
1. dense: the centroid of the article's passage vectors → its `dense_depth` nearest passages;
2. more-like-this (`Retriever.more_like_this`): the article's title and text as FTS5 terms with counts;
   per term, the passages *of other articles* holding it (`LexicalIndex.passage_counts`);
   `distinctive_terms(...)`; a BM25 query of the chosen terms → its `lexical_depth` best passages;
3. both without the article and its story copies, fused with `RelatedSettings`' weights and k, re-scored
   by `closer_in_time` relative to the article's day; then story grouping and the page as for a search.

Defaults were chosen on stories_dev over allsides-8k by scripts/tune_related.py (5 folds by story
headline, the held-out figure reported): see `RelatedSettings`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from index.lexical import LexicalIndex, QueryStemmer
from search.fusion import ArticleScore
from search.published import UNDATED, PublicationTimes


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
    dense_depth: int = 1000  # passages of the dense search (about 400 articles; 200 scored R@10 0.957)
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
        if min(self.terms, self.lexical_depth, self.dense_depth) < 1:
            raise ValueError(
                "terms, lexical_depth and dense_depth must be at least 1, "
                f"got {self.terms}, {self.lexical_depth}, {self.dense_depth}"
            )
        if min(self.title_boost, self.dense_weight, self.lexical_weight, self.rrf_k) < 0:
            raise ValueError("title_boost, dense_weight, lexical_weight and rrf_k must not be negative")
        if not 0.0 <= self.time_weight <= 1.0:
            raise ValueError(f"time_weight must be between 0 and 1, got {self.time_weight}")
        if self.time_half_life_days <= 0 or self.undated_days_apart < 0:
            raise ValueError("time_half_life_days must be positive and undated_days_apart not negative")


def more_like_this_terms(
    index: LexicalIndex,
    stemmer: QueryStemmer,
    title: str,
    text: str,
    own_passages: np.ndarray,
    settings: RelatedSettings,
) -> list[DistinctiveTerm]:
    """The terms of an article's more-like-this query: its title and text as FTS5 terms, counted elsewhere
    in `index` (its own passages, ids `own_passages`, left out), the most distinctive kept."""
    title_terms, text_terms = stemmer.terms(title), stemmer.terms(text)
    elsewhere = index.passage_counts({*title_terms, *text_terms}, excluding=own_passages)
    return distinctive_terms(title_terms, text_terms, elsewhere, index.documents, settings)


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
    k = settings.rrf_k  # search.fusion's reciprocal rank fusion, over arrays
    relevance = settings.dense_weight / (k + dense_rank) + settings.lexical_weight / (k + lexical_rank)
    if settings.time_weight == 0:
        return relevance
    # An undated article cannot say which candidates are near it: its order is fusion's alone.
    return relevance * np.where(origin_dated, time_factor(days_apart, settings), 1.0)


def time_factor(days_apart: np.ndarray, settings: RelatedSettings) -> np.ndarray:
    """What a candidate `days_apart` from the article keeps of its score (NaN: an undated candidate)."""
    apart = np.where(np.isnan(days_apart), settings.undated_days_apart, days_apart)
    proximity = 0.5 ** (apart / settings.time_half_life_days)
    return (1.0 - settings.time_weight) + settings.time_weight * proximity


def closer_in_time(
    articles: Sequence[ArticleScore], days: np.ndarray, origin: int, settings: RelatedSettings
) -> list[ArticleScore]:
    """`articles` (fused, best first) re-scored by their publication `days` (day numbers, `UNDATED` for
    an undated one) against the related article's own day `origin`; best first, equal scores by id."""
    days = np.asarray(days, dtype=np.int64)
    dated = days != UNDATED
    apart = np.full(len(days), np.nan)
    apart[dated] = np.abs(days[dated] - origin)
    scores = np.array([a.score for a in articles], dtype=np.float64) * time_factor(apart, settings)
    ranked = [ArticleScore(a.article_id, float(s)) for a, s in zip(articles, scores.tolist(), strict=True)]
    ranked.sort(key=lambda a: (-a.score, a.article_id))
    return ranked


def time_prior(
    times: PublicationTimes, origin: int | None, settings: RelatedSettings
) -> Callable[[list[ArticleScore]], list[ArticleScore]] | None:
    """The re-scoring `closer_in_time` does, as the searcher's prior for one article of day `origin`;
    None when time plays no part (an undated article, or time_weight 0)."""
    if origin is None or settings.time_weight == 0:
        return None

    def rescore(articles: list[ArticleScore]) -> list[ArticleScore]:
        return closer_in_time(articles, times.days([a.article_id for a in articles]), origin, settings)

    return rescore
