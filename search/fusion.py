"""Rank fusion: the two retrievers' candidates into one article ranking, by weighted reciprocal rank.

Pure functions over `Candidate`s: no index, no I/O, so every rule here has a unit test of its own
(tests/test_fusion.py).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from search.candidates import Candidate

Key = TypeVar("Key", bound=Hashable)


def first_occurrence_ranking(keys: Sequence[Key]) -> list[Key]:
    """Collapse a ranked list with repeats (passages of one article) to each key's best rank."""
    return list(dict.fromkeys(keys))


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Key]], weights: Sequence[float], k: float = 60.0
) -> dict[Key, float]:
    """score(key) = Σ weight_i / (k + rank_i(key)), ranks from 1; keys absent from a list get nothing from it."""
    scores: dict[Key, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if weight == 0:
            continue
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return scores


class ArticleScore(NamedTuple):
    article_id: str
    score: float


@dataclass(slots=True, frozen=True)
class FusionWeights:
    """How the two rankings count: a weight each, RRF's k, and whether articles keep the retriever's own
    score (one retriever alone: a cosine or a BM25 says more than a reciprocal rank)."""

    dense: float
    lexical: float
    k: float
    retriever_scores: bool = False

    @classmethod
    def for_mode(cls, mode: str, dense_weight: float, lexical_weight: float, k: float) -> FusionWeights:
        """Hybrid mode weighs both rankings; dense and lexical use one of them, scored by the retriever."""
        if mode == "dense":
            return cls(1.0, 0.0, k, retriever_scores=True)
        if mode == "lexical":
            return cls(0.0, 1.0, k, retriever_scores=True)
        return cls(dense_weight, lexical_weight, k)


@dataclass(slots=True)
class Fused:
    """Articles best first (equal scores by article id), each article's best passage, and every
    candidate passage's own fused score."""

    articles: list[ArticleScore]
    best: dict[str, Candidate]
    passage_scores: dict[int, float]


def fuse(dense: Sequence[Candidate], lexical: Sequence[Candidate], weights: FusionWeights) -> Fused:
    """Articles ranked by weighted RRF over each retriever's article ranking (an article ranks where its
    best passage ranks), and each article's best passage by passage-level RRF."""
    pair = (weights.dense, weights.lexical)
    article_rankings = [
        first_occurrence_ranking([c.article_id for c in dense]),
        first_occurrence_ranking([c.article_id for c in lexical]),
    ]
    scores = reciprocal_rank_fusion(article_rankings, pair, weights.k)
    passage_rankings = [[c.passage_id for c in dense], [c.passage_id for c in lexical]]
    passage_scores = reciprocal_rank_fusion(passage_rankings, pair, weights.k)
    best: dict[str, Candidate] = {}
    for candidate in (*dense, *lexical):
        current = best.get(candidate.article_id)
        # Strictly better only: of equal passages the first seen (dense before lexical) stays.
        if current is None or passage_scores.get(candidate.passage_id, 0.0) > passage_scores.get(
            current.passage_id, 0.0
        ):
            best[candidate.article_id] = candidate
    if weights.retriever_scores:
        scores = {aid: candidate.score for aid, candidate in best.items()}
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return Fused([ArticleScore(aid, score) for aid, score in ranked], best, passage_scores)


def more_passages(
    fused: Fused, candidates: Iterable[Candidate], articles: Collection[str], limit: int
) -> dict[str, list[int]]:
    """Up to `limit` further passages of each of `articles`, beside its best one, best fused score first."""
    owner = {c.passage_id: c.article_id for c in candidates}
    extras: dict[str, list[int]] = {}
    for passage_id in sorted(fused.passage_scores, key=lambda pid: -fused.passage_scores[pid]):
        article_id = owner[passage_id]
        if article_id in articles and passage_id != fused.best[article_id].passage_id:
            extras.setdefault(article_id, []).append(passage_id)
    return {article_id: ids[:limit] for article_id, ids in extras.items()}
