"""Fusion and story folding as pure functions: weights, RRF's k, ties, keys missing from one list."""

from __future__ import annotations

import pytest

from search.candidates import Candidate
from search.fusion import ArticleScore, FusionWeights, fuse, more_passages, reciprocal_rank_fusion
from search.grouping import fold_stories


def test_rrf_sums_weighted_reciprocal_ranks_and_absent_keys_get_nothing_from_that_list():
    scores = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], [1.0, 0.5], k=10)
    assert scores == pytest.approx({"a": 1 / 11, "b": 1 / 12 + 0.5 / 11, "c": 0.5 / 12})


def test_rrf_k_flattens_the_gap_between_ranks():
    steep = reciprocal_rank_fusion([["a", "b"]], [1.0], k=1)
    flat = reciprocal_rank_fusion([["a", "b"]], [1.0], k=100)
    assert steep["a"] / steep["b"] > flat["a"] / flat["b"] > 1


def test_a_zero_weight_list_contributes_no_keys():
    assert reciprocal_rank_fusion([["a"], ["b"]], [1.0, 0.0]) == {"a": pytest.approx(1 / 61)}


def _dense(*pairs: tuple[int, str]) -> list[Candidate]:
    return [Candidate(pid, aid, 1.0 - i / 10) for i, (pid, aid) in enumerate(pairs)]


def test_an_article_ranks_where_its_best_passage_ranks_in_each_list():
    # Article A has three passages at the top of the dense list; B tops the lexical list. Counting each
    # article once per list, A and B tie under equal weights; a lower dense weight puts B first.
    dense = _dense((1, "A"), (2, "A"), (3, "A"), (4, "B"))
    lexical = _dense((5, "B"), (1, "A"))
    even = fuse(dense, lexical, FusionWeights(1.0, 1.0, k=5))
    assert [a.article_id for a in even.articles] == ["A", "B"]  # equal scores: by article id
    assert even.articles[0].score == pytest.approx(even.articles[1].score)
    favoured = fuse(dense, lexical, FusionWeights(0.5, 1.0, k=5))
    assert [a.article_id for a in favoured.articles] == ["B", "A"]


def test_the_best_passage_is_chosen_by_passage_level_fusion():
    # Passage 2 of A is second in dense but first in lexical: it beats passage 1 (first in dense only).
    dense = _dense((1, "A"), (2, "A"))
    lexical = _dense((2, "A"))
    fused = fuse(dense, lexical, FusionWeights(1.0, 1.0, k=5))
    assert fused.best["A"].passage_id == 2
    assert fused.passage_scores[2] > fused.passage_scores[1]


def test_one_retriever_modes_keep_the_retrievers_own_scores():
    dense = [Candidate(1, "A", 0.9), Candidate(2, "B", 0.4)]
    fused = fuse(dense, [], FusionWeights.for_mode("dense", 0.6, 1.0, 5.0))
    assert fused.articles == [ArticleScore("A", 0.9), ArticleScore("B", 0.4)]
    lexical = [Candidate(3, "C", 12.5)]
    assert fuse([], lexical, FusionWeights.for_mode("lexical", 0.6, 1.0, 5.0)).articles == [ArticleScore("C", 12.5)]
    hybrid = FusionWeights.for_mode("hybrid", 0.6, 1.0, 5.0)
    assert (hybrid.dense, hybrid.lexical, hybrid.k, hybrid.retriever_scores) == (0.6, 1.0, 5.0, False)


def test_an_article_found_by_one_retriever_only_still_ranks():
    fused = fuse(_dense((1, "A")), _dense((2, "B")), FusionWeights(0.6, 1.0, k=5))
    assert [a.article_id for a in fused.articles] == ["B", "A"]


def test_more_passages_are_the_shown_articles_other_passages_best_first():
    dense = _dense((1, "A"), (2, "B"), (3, "A"), (4, "A"), (5, "A"))
    lexical = _dense((5, "A"))
    fused = fuse(dense, lexical, FusionWeights(1.0, 1.0, k=5))
    assert fused.best["A"].passage_id == 5  # in both lists
    candidates = [*dense, *lexical]
    assert more_passages(fused, candidates, {"A"}, limit=5) == {"A": [1, 3, 4]}  # the best is not repeated
    assert more_passages(fused, candidates, {"A"}, limit=1) == {"A": [1]}
    assert more_passages(fused, candidates, {"A", "B"}, limit=5)["A"] == [1, 3, 4]  # B has no other passage


def test_story_folding_keeps_rank_order_and_the_best_member_leads():
    ranked = [ArticleScore(a, s) for a, s in [("a1", 0.9), ("b1", 0.8), ("a2", 0.7), ("c1", 0.6), ("a3", 0.5)]]
    stories = {"a1": "story-a", "a2": "story-a", "a3": "story-a", "b1": None}  # c1 unknown: its own story
    groups = fold_stories(ranked, stories)
    assert [g.lead.article_id for g in groups] == ["a1", "b1", "c1"]
    assert [c.article_id for c in groups[0].copies] == ["a2", "a3"]
    assert groups[0].lead.score == 0.9 and groups[1].copies == []
    assert [a for g in groups for a in g.article_ids] == ["a1", "a2", "a3", "b1", "c1"]
