"""The recency prior inside a search: the recent pass that makes the articles just before `as_of`
candidates, and the prior (search.recency: its form, presets and figures) re-scoring the fused articles.

A relevance search takes its first few hundred passages per retriever; the handful of articles of the
week before as_of may rank below them and would then never meet the prior. So a search with the prior on
also retrieves the passages of the `RECENT_DAYS` days up to as_of (within the search's other filters),
and each retriever's two lists are united into one, ordered by the retriever's own score as a deeper
list would be, before fusion. scripts/tune_recency.py tuned the presets on exactly these candidates
(`candidates_in_time`): depth 200 and a 14-day pass. With the prior off there is no pass: the ranking is
the one before issue 13.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np

from search.candidates import Candidate
from search.fusion import ArticleScore
from search.published import PublicationTimes
from search.query import Filters
from search.recency import RecencyPrior, apply_recency
from search.retrieval import BM25Weights, Candidates, Retriever

RECENT_DAYS = 14  # the recent pass's days up to as_of (scripts/tune_recency.py --window)
# Passages per retriever from those days. On rtqa-5k that is every one of them (a 14-day window holds a few
# hundred, about 34 articles a week), as the presets were tuned; a busy archive's fortnight is cut to its
# best. Measured on questions_dev: 100, 200, 400 or all of them give the same R@10 / MRR@10 (0.965 / 0.895).
RECENT_DEPTH = 1000

# Re-scores fused articles (best first in, best first out): the recency prior's place in the ranking.
Prior = Callable[[list[ArticleScore]], list[ArticleScore]]


def recent_filters(filters: Filters, as_of: datetime, days: int = RECENT_DAYS) -> Filters:
    """`filters` narrowed to the `days` calendar days ending on as_of's day."""
    last = as_of.date()
    first = last - timedelta(days=days - 1)
    date_from = max(filters.date_from, first) if filters.date_from else first
    date_to = min(filters.date_to, last) if filters.date_to else last
    return Filters(filters.sources, date_from, date_to, filters.until)


def recent_candidates(
    retriever: Retriever,
    query: str,
    mode: str,
    filters: Filters,
    bm25_weights: BM25Weights,
    as_of: datetime,
    days: int = RECENT_DAYS,
) -> Candidates:
    """The passages of the recent days that a retriever finds for `query`, however deep they rank overall
    (up to `RECENT_DEPTH` of them per retriever)."""
    return retriever.candidates(query, mode, RECENT_DEPTH, recent_filters(filters, as_of, days), bm25_weights)


def united(first: Candidates, second: Candidates) -> Candidates:
    """Both sets of candidates as one, each retriever's passages once, best score first (ties by passage id)."""

    def one_list(a: list[Candidate], b: list[Candidate]) -> list[Candidate]:
        unique = {c.passage_id: c for c in (*a, *b)}.values()
        return sorted(unique, key=lambda c: (-c.score, c.passage_id))

    return Candidates(one_list(first.dense, second.dense), one_list(first.lexical, second.lexical), first.exhausted)


def candidates_in_time(
    retriever: Retriever,
    query: str,
    mode: str,
    depth: int,
    filters: Filters,
    bm25_weights: BM25Weights,
    as_of: datetime | None,
    days: int = RECENT_DAYS,
) -> Candidates:
    """`depth` passages per retriever within `filters`, united with the recent pass over the `days` up to
    `as_of` (none when as_of is None): the candidates the recency prior is applied to."""
    found = retriever.candidates(query, mode, depth, filters, bm25_weights)
    if as_of is None:
        return found
    return united(found, recent_candidates(retriever, query, mode, filters, bm25_weights, as_of, days))


def prior_over(prior: RecencyPrior, times: PublicationTimes, as_of: datetime) -> Prior | None:
    """The `Prior` re-scoring fused articles by `prior` relative to `as_of`; None when it is off."""
    if not prior.active:
        return None

    def rescore(articles: list[ArticleScore]) -> list[ArticleScore]:
        ids = [article.article_id for article in articles]
        scores = np.array([article.score for article in articles], dtype=np.float64)
        ranked = apply_recency(ids, scores, times.published_array(ids), as_of, prior)
        return [ArticleScore(aid, float(score)) for aid, score in zip(ranked.article_ids, ranked.scores, strict=True)]

    return rescore
