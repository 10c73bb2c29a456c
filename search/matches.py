"""Which articles match a question: the set `sort=newest` lists newest first and `facets=true` counts.

A relevance ranking has no end: every article gets a place in it. "Newest first" and "who covered this"
need a set instead, and it must be neither everything nor nothing. An article **matches** a question when

- a passage of it is close in meaning to the question: cosine ≥ `Settings.match_cosine` (0.5), or
- it holds at least `Settings.match_terms` (60 %) of the question's distinct content words, as BM25 stems
  them, in its title or text (any passage): 2 of 2 or 3, 3 of 4 or 5, 6 of 10.

Both sides are absolute (the ranking's reciprocal-rank scores are not: they would give every question about
the same number of matches), so a narrow question matches a few articles and a broad one many. Each
retriever is searched from `MATCH_DEPTH` passages, four times deeper while its last candidate still
matches (up to retrieval.MAX_DEPTH), so the set does not stop at a page's depth. With one retriever
(`mode=dense|lexical`) only its side counts.

Measured on questions_dev.jsonl over rtqa-5k, each question asked on its `date` (scripts/measure_match.py):
the set holds a relevant article for 0.975 of the 202 questions, with 23.5 articles at the median (mean 68,
p90 183, fewest 1), and listed newest first it has a relevant article in its top 10 for 0.950 of them.
Alternatives measured: a cut at 30 % of the best fused score kept 0.970 but 14 articles for about any
question (p90 17), broad or narrow; the articles in both retrievers' top 20 kept 0.936; 60 % of the words
alone 0.911 (median 20); cosine ≥ 0.5 alone 0.866 (median 2); cosine ≥ 0.45 instead of 0.5, the same
0.975 with a few more articles (median 29); 50 % of the words or cosine 0.5 kept 0.980 with three times the
articles (median 72).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from search.candidates import Candidate
from search.fusion import Fused, FusionWeights, fuse
from search.query import Filters
from search.retrieval import MAX_DEPTH, BM25Weights, Candidates, Retriever, TermCoverage

MATCH_DEPTH = 1000  # passages per retriever a match search starts from

Check = Callable[[Candidate], bool]


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
    """The matching articles in fused-relevance order, the fusion that gives each its best passage, and
    the candidates it was made of (for more passages of an article)."""

    article_ids: list[str]
    fused: Fused
    candidates: Candidates


def find_matches(
    retriever: Retriever,
    query: str,
    filters: Filters,
    rule: MatchRule,
    weights: FusionWeights,
    bm25_weights: BM25Weights,
    depth: int = MATCH_DEPTH,
) -> Matches:
    """The articles within `filters` that match `query` by `rule`."""
    coverage = retriever.term_coverage(query) if rule.lexical else TermCoverage(np.zeros(0, dtype=np.int32), 0)
    needed = rule.term_share * coverage.terms - 1e-9
    position = retriever.times.position

    def by_words(candidate: Candidate) -> bool:
        return coverage.terms > 0 and coverage.counts[position[candidate.article_id]] >= needed

    def by_meaning(candidate: Candidate) -> bool:
        return candidate.score >= rule.cosine

    mode = "hybrid" if rule.dense and rule.lexical else "dense" if rule.dense else "lexical"
    while True:
        candidates = retriever.candidates(query, mode, depth, filters, bm25_weights)
        if candidates.exhausted or depth >= MAX_DEPTH or not _last_matches(candidates, by_meaning, by_words):
            break
        depth *= 4
    fused = fuse(candidates.dense, candidates.lexical, weights)
    matched = {c.article_id for c in candidates.dense if by_meaning(c)}
    matched |= {c.article_id for c in candidates.lexical if by_words(c)}
    return Matches([a.article_id for a in fused.articles if a.article_id in matched], fused, candidates)


def _last_matches(candidates: Candidates, by_meaning: Check, by_words: Check) -> bool:
    """Whether a retriever's weakest candidate still matches: then deeper ones may too."""
    return bool(
        (candidates.dense and by_meaning(candidates.dense[-1]))
        or (candidates.lexical and by_words(candidates.lexical[-1]))
    )
