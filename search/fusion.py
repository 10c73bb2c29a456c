"""Rank fusion: several ranked lists of keys into one, by weighted reciprocal rank."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def first_occurrence_ranking(keys: Sequence[Hashable]) -> list[Hashable]:
    """Collapse a ranked list with repeats (passages of one article) to each key's best rank."""
    return list(dict.fromkeys(keys))


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hashable]], weights: Sequence[float], k: float = 60.0
) -> dict[Hashable, float]:
    """score(key) = Σ weight_i / (k + rank_i(key)), ranks from 1; keys absent from a list get nothing from it."""
    scores: dict[Hashable, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if weight == 0:
            continue
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return scores
