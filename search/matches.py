"""Which articles match a question: the set `sort=newest` lists newest first and `facets=true` counts.

A relevance ranking has no end: every article gets a place in it. "Newest first" and "who covered this"
need a set instead, and it must be neither everything nor nothing. An article **matches** a question when

- a passage of it is close in meaning to the question: cosine ≥ `Settings.match_cosine` (0.5), or
- it holds at least `Settings.match_terms` (60 %) of the question's distinct content words, as BM25 stems
  them, in its title or text (any passage): 2 of 2 or 3, 3 of 4 or 5, 6 of 10.

Both sides are absolute (the ranking's reciprocal-rank scores are not: they would give every question about
the same number of matches), so a narrow question matches a few articles and a broad one many. Neither
stops at a page's depth: the words are counted over every article from the BM25 postings, and the dense
retriever is read from `MATCH_DEPTH` passages, four times deeper while its last one is still close enough
(its cosines come in order; up to retrieval.MAX_DEPTH). With one retriever (`mode=dense|lexical`) only
its side counts.

Measured on questions_dev.jsonl over rtqa-5k, each question asked on its `date` (scripts/measure_match.py):
the set holds a relevant article for 0.975 of the 202 questions, with 24 articles at the median (mean 76,
p90 194, fewest 1), and listed newest first it has a relevant article in its top 10 for 0.950 of them.
Alternatives measured: a cut at 30 % of the best fused score kept 0.970 but 14 articles for about any
question (p90 17), broad or narrow; the articles in both retrievers' top 20 kept 0.936; 60 % of the words
alone 0.911 (median 20.5); cosine ≥ 0.5 alone 0.866 (median 2); cosine ≥ 0.45 instead of 0.5, the same
0.975 with a few more articles (median 29.5); 50 % of the words or cosine 0.5 kept 0.980 with three times
the articles (median 80.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search.fusion import Fused, FusionWeights, fuse
from search.query import Filters
from search.retrieval import MAX_DEPTH, BM25Weights, Candidates, Retriever

MATCH_DEPTH = 1000  # passages per retriever a match search starts from


@dataclass(frozen=True, slots=True)
class MatchRule:
    """The thresholds of a match (see the module docstring), and which retrievers count."""

    cosine: float
    term_share: float
    dense: bool = True
    lexical: bool = True

    @classmethod
    def for_mode(cls, mode: str, cosine: float, term_share: float) -> MatchRule:
        return cls(cosine, term_share, dense=mode != "lexical", lexical=mode != "dense")


@dataclass(slots=True)
class Matches:
    """The matching articles (in no particular order), the fusion of the first candidates (the best passage
    and score of most of them; `Retriever.best_passages` finds the others'), and those candidates."""

    article_ids: list[str]
    fused: Fused
    candidates: Candidates
    _scores: dict[str, float] | None = None

    def within(self, retriever: Retriever, filters: Filters) -> list[str]:
        """The matching articles `filters` allows."""
        times = retriever.times
        allowed = times.articles_in(retriever.allowed_mask(filters))
        positions = times.positions(self.article_ids)
        return [a for a, at in zip(self.article_ids, positions.tolist(), strict=True) if at >= 0 and allowed[at]]

    def score(self, article_id: str) -> float:
        """The article's fused score (0 for one found beyond the fused candidates)."""
        if self._scores is None:
            self._scores = {article.article_id: article.score for article in self.fused.articles}
        return self._scores.get(article_id, 0.0)


def find_matches(
    retriever: Retriever,
    query: str,
    filters: Filters,
    rule: MatchRule,
    weights: FusionWeights,
    bm25_weights: BM25Weights,
    depth: int = MATCH_DEPTH,
) -> Matches:
    """The articles within `filters` that match `query` by `rule`; with no query (a question of nothing but
    time words), every article within them."""
    times = retriever.times
    if not query:
        allowed = np.flatnonzero(times.articles_in(retriever.allowed_mask(filters)))
        return Matches(times.ids_at(allowed), Fused([], {}, {}), Candidates([], [], True))
    matched: set[str] = set()
    if rule.lexical:  # counted over every article, from the postings: no depth to run out of
        coverage = retriever.term_coverage(query)
        if coverage.terms:
            holds = coverage.counts >= rule.term_share * coverage.terms - 1e-9
            holds &= times.articles_in(retriever.allowed_mask(filters))
            matched.update(times.ids_at(np.flatnonzero(holds)))
    mode = "hybrid" if rule.dense and rule.lexical else "dense" if rule.dense else "lexical"
    candidates = retriever.candidates(query, mode, depth, filters, bm25_weights)
    fused = fuse(candidates.dense, candidates.lexical, weights)
    if rule.dense:
        dense = candidates.dense
        matched.update(c.article_id for c in dense if c.score >= rule.cosine)
        exhausted = len(dense) < depth
        while dense and dense[-1].score >= rule.cosine and not exhausted and depth < MAX_DEPTH:
            depth *= 4  # the cosines are in order: deeper passages may still be close enough
            deeper = retriever.nearest(retriever.query_vector(query), depth, filters)
            dense, exhausted = deeper.dense, deeper.exhausted
            for candidate in dense:
                if candidate.score >= rule.cosine:
                    matched.add(candidate.article_id)
                    fused.best.setdefault(candidate.article_id, candidate)
    return Matches(list(matched), fused, candidates)
