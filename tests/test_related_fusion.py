"""Related-article ranking: distinctive terms for the more-like-this query, and the fusion of the dense
ranking, the lexical ranking and time proximity, over a real FTS5 table and real BM25 postings."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from index.lexical import FTS_TOKENIZER, LexicalIndex, LexicalSegment, QueryStemmer
from index.postings import from_instances
from index.tokens import tokenize
from search.fusion import ArticleScore
from search.published import UNDATED, day_number
from search.related_ranking import (
    RelatedSettings,
    closer_in_time,
    distinctive_terms,
    fused_scores,
    more_like_this_terms,
    time_prior,
)
from tests.conftest import REPO, load_script

# The article whose related list is wanted, one that covers the same event (sharing its names), one that
# shares only everyday words with it, and filler news that makes the everyday words everyday.
ARTICLES = {
    "source": (
        "Mayor Okonkwo-Valdés vetoes the Brightwater tram extension",
        "Mayor Adaeze Okonkwo-Valdés said on Tuesday that she would veto the Brightwater tram extension. "
        "Officials in the city government said people had waited years for the plan, which the council "
        "approved last week.",
    ),
    "names": (
        "Brightwater tram plan blocked",
        "The Brightwater line will not be extended after Okonkwo-Valdés blocked the tram project.",
    ),
    "everyday": (
        "Council approves budget",
        "Officials in the city government said on Tuesday that the council approved the budget last week, "
        "and people said they had waited years.",
    ),
    **{
        f"filler-{i}": (
            f"{topic} news",
            f"Officials said on Tuesday that the {topic} plan approved last week by the council would go ahead; "
            "people in the city government said they had waited years.",
        )
        for i, topic in enumerate(["harbour", "school", "hospital", "library", "bridge", "park", "water", "road"])
    },
}


@pytest.fixture(scope="module")
def lexical() -> tuple[LexicalIndex, dict[int, str]]:
    """BM25 over one segment's postings, tokenized as the index tokenizes: one passage per article; a
    second index over two segments, one passage deleted, to check the counts across segments."""
    owner = {pid: article_id for pid, article_id in enumerate(ARTICLES, start=1)}
    return one_index(owner), owner


def one_index(owner: dict[int, str], dead: set[int] = frozenset(), split: int | None = None) -> LexicalIndex:
    """A LexicalIndex over the passages of `owner`, cut into two segments at passage id `split`."""
    ids = sorted(owner)
    groups = [ids] if split is None else [[i for i in ids if i < split], [i for i in ids if i >= split]]
    segments = []
    for group in groups:
        doc_ids = np.array(group, dtype=np.int64)
        instances = tokenize((pid, *ARTICLES[owner[pid]]) for pid in group)
        segments.append(LexicalSegment.of(from_instances(instances, doc_ids)))
    doc_ids = np.array(ids, dtype=np.int64)
    return LexicalIndex(segments, doc_ids, np.isin(doc_ids, sorted(dead)))


def more_like_this(index: LexicalIndex, owner: dict[int, str], article_id: str, settings: RelatedSettings):
    """The article's more-like-this terms as the searcher chooses them, and the articles BM25 finds with them."""
    own = np.array([pid for pid, aid in owner.items() if aid == article_id])
    chosen = more_like_this_terms(index, QueryStemmer(), *ARTICLES[article_id], own, settings)
    ids, _ = index.search({t.term: 1 for t in chosen}, depth=100)
    return chosen, [owner[int(i)] for i in ids if owner[int(i)] != article_id]


def test_an_article_sharing_rare_names_ranks_above_one_sharing_only_everyday_words(lexical):
    index, owner = lexical
    settings = RelatedSettings(terms=8, time_weight=0.0)
    chosen, ranking = more_like_this(index, owner, "source", settings)
    terms = [t.term for t in chosen]
    assert {"brightwat", "tram", "okonkwo"} <= set(terms), terms
    assert not {"said", "council", "offici", "the"} & set(terms), "everyday words are not distinctive"
    assert ranking == ["names"], "sharing only everyday words, an article is not more like this one"
    # The centroid finds the everyday article a little closer; the shared names decide.
    ranks = fused_scores(np.array([1.0, 2.0]), np.array([np.inf, 1.0]), np.full(2, np.nan), False, settings)
    assert ranks[1] > ranks[0], "names: second by meaning, first by names; everyday: first by meaning only"


def test_a_term_no_other_article_uses_is_never_chosen_and_the_title_counts_more(lexical):
    index, owner = lexical
    chosen, _ = more_like_this(index, owner, "source", RelatedSettings(terms=40))
    assert "adaez" not in [t.term for t in chosen], "the mayor's first name is in no other article: it finds none"
    # Two terms equally rare, each once in the body; one is also in the title.
    boosted = distinctive_terms({"veto": 1}, {"veto": 1, "tram": 1}, {"veto": 3, "tram": 3}, 100, RelatedSettings())
    assert [t.term for t in boosted] == ["veto", "tram"] and boosted[0].weight > boosted[1].weight


def test_passage_counts_are_the_fts5_document_frequencies_without_the_articles_own(lexical):
    index, owner = lexical
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(title, text, tokenize='{FTS_TOKENIZER}')")
    db.executemany("INSERT INTO t(rowid, title, text) VALUES (?, ?, ?)", [(p, *ARTICLES[a]) for p, a in owner.items()])
    source = np.array([p for p, a in owner.items() if a == "source"])
    counts = index.passage_counts(["brightwat", "said", "adaez", "nosuchterm"], excluding=source)
    for term in ("brightwat", "said", "adaez"):
        holding = {r[0] for r in db.execute("SELECT rowid FROM t WHERE t MATCH ?", (f'"{term}"',))}
        assert counts[term] == len(holding - set(source.tolist()))
    assert counts["adaez"] == 0 and "nosuchterm" not in counts
    assert index.passage_counts(["brightwat"])["brightwat"] == counts["brightwat"] + 1
    assert index.documents == len(ARTICLES)
    # Across two segments, a deleted passage counted nowhere: the same counts but for it.
    names = next(p for p, a in owner.items() if a == "names")
    split = one_index(owner, dead={names}, split=names)
    assert split.documents == len(ARTICLES) - 1
    recount = split.passage_counts(["brightwat", "said", "adaez"], excluding=source)
    assert recount == {**counts, "brightwat": counts["brightwat"] - 1}


def days(*values: date | None) -> np.ndarray:
    return np.array([UNDATED if d is None else day_number(d) for d in values], dtype=np.int64)


def test_a_same_week_article_outranks_a_years_apart_one_of_equal_score():
    origin = day_number(date(2020, 3, 13))
    equal = [ArticleScore("a-years-apart", 0.05), ArticleScore("b-same-week", 0.05)]
    published = days(date(2017, 3, 13), date(2020, 3, 11))
    timeless = closer_in_time(equal, published, origin, replace(RelatedSettings(), time_weight=0.0))
    assert [a.article_id for a in timeless] == ["a-years-apart", "b-same-week"]  # equal: by id
    timed = closer_in_time(equal, published, origin, RelatedSettings())
    assert [a.article_id for a in timed] == ["b-same-week", "a-years-apart"]
    # Two days apart keeps 0.1 + 0.9 * 0.25 of the score; three years apart only the 0.1.
    assert timed[0].score == pytest.approx(0.05 * 0.325) and timed[1].score == pytest.approx(0.05 * 0.1)
    # ... and by default it also passes one that ranked a place higher by relevance.
    ahead = closer_in_time([ArticleScore("a-years-apart", 0.06), equal[1]], published, origin, RelatedSettings())
    assert ahead[0].article_id == "b-same-week"


def test_undated_candidates_sit_where_the_settings_put_them_and_an_undated_article_ignores_time():
    origin = date(2020, 3, 13)
    ranked = [ArticleScore("month-apart", 0.05), ArticleScore("undated", 0.049), ArticleScore("same-day", 0.048)]
    published = days(date(2020, 2, 12), None, origin)
    settings = RelatedSettings(undated_days_apart=3.0)
    order = [a.article_id for a in closer_in_time(ranked, published, day_number(origin), settings)]
    assert order == ["same-day", "undated", "month-apart"]
    assert time_prior(None, None, settings) is None, "an undated article: its related list is fusion's order"  # type: ignore[arg-type]
    assert time_prior(None, day_number(origin), replace(settings, time_weight=0.0)) is None  # type: ignore[arg-type]


def test_weights_of_zero_reduce_to_the_dense_order():
    dense = np.array([1.0, 2.0, 3.0, 4.0, np.inf])
    lexical = np.array([np.inf, np.inf, 3.0, 1.0, 2.0])
    apart = np.array([3650.0, np.nan, 30.0, 1.0, np.nan])
    off = RelatedSettings(lexical_weight=0.0, time_weight=0.0)
    scores = fused_scores(dense, lexical, apart, True, off)
    assert np.argsort(-scores, kind="stable").tolist() == [0, 1, 2, 3, 4] and scores[4] == 0
    fused = fused_scores(dense, lexical, apart, True, RelatedSettings())
    assert int(np.argmax(fused)) == 3, "with their default weights, the lexical ranking and the date count"


def test_bad_settings_say_which_value_is_wrong():
    with pytest.raises(ValueError, match="time_weight must be between 0 and 1"):
        RelatedSettings(time_weight=1.5)
    with pytest.raises(ValueError, match="terms, lexical_depth and dense_depth must be at least 1"):
        RelatedSettings(terms=0)


def test_tune_related_scores_each_fold_with_the_setting_the_other_folds_chose(capsys):
    tune = load_script("tune_related")
    good_early, good_late = RelatedSettings(rrf_k=10), RelatedSettings(rrf_k=60)
    never = 10**9
    ranks = {good_early: np.array([1, 1, never, never]), good_late: np.array([never, never, 1, 1])}
    held_out = tune.cross_validate(ranks, np.array([0, 0, 1, 1]), 2)
    assert held_out.tolist() == [never] * 4
    assert "held out R@5 0.000 R@10 0.000" in capsys.readouterr().out


def test_tune_related_runs_on_a_real_index_and_skips_without_data(sample_index, monkeypatch, capsys, tmp_path):
    tune = load_script("tune_related")
    stories = REPO / "data" / "eval" / "sample_stories.jsonl"
    grid = ["--terms", "20", "--rrf-k", "30", "--lexical-weight", "0", "1", "--time-weight", "0.9"]
    grid += ["--half-life", "1", "--undated-days", "3"]
    argv = ["tune_related.py", "--index", str(sample_index), "--stories", str(stories), "--folds", "2", *grid]
    monkeypatch.setattr(sys, "argv", argv)
    assert tune.main() == 0
    out = capsys.readouterr().out
    assert "more-like-this pass per article" in out
    assert "dense only (today)" in out and "dense + more-like-this + time" in out
    assert "held out, pooled: R@5" in out
    monkeypatch.setattr(sys, "argv", ["tune_related.py", "--stories", str(tmp_path / "absent.jsonl")])
    assert tune.main() == 0
    assert capsys.readouterr().out.startswith("skipped:")
