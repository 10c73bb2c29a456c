"""Related-article ranking: distinctive terms for the more-like-this query, and the fusion of the dense
ranking, the lexical ranking and time proximity, over a real FTS5 table and real BM25 postings."""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from index.lexical import FTS_TOKENIZER, LexicalIndex, QueryStemmer, read_postings
from search.related_ranking import RelatedSettings, distinctive_terms, fuse_related, published_day
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
    """BM25 postings of an FTS5 table with the index's tokenizer: one passage per article."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE passages_fts USING fts5(title, text, tokenize='{FTS_TOKENIZER}')")
    owner = {}
    for passage_id, (article_id, (title, text)) in enumerate(ARTICLES.items(), start=1):
        db.execute("INSERT INTO passages_fts(rowid, title, text) VALUES (?, ?, ?)", (passage_id, title, text))
        owner[passage_id] = article_id
    return LexicalIndex(read_postings(db)), owner


def more_like_this(index: LexicalIndex, owner: dict[int, str], article_id: str, settings: RelatedSettings):
    """The lexical ranking of related articles as the searcher builds it: terms, counts, BM25, articles."""
    title, text = ARTICLES[article_id]
    stemmer = QueryStemmer()
    title_terms, text_terms = stemmer.terms(title), stemmer.terms(text)
    own = np.array([pid for pid, aid in owner.items() if aid == article_id])
    others = index.passage_counts({*title_terms, *text_terms}, own)
    chosen = distinctive_terms(title_terms, text_terms, others, index.documents, settings)
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
    related = fuse_related(["everyday", "names"], ranking, {}, None, settings)
    assert [r.article_id for r in related][:2] == ["names", "everyday"]


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


def test_a_same_week_article_outranks_a_years_apart_one_of_equal_similarity():
    origin = date(2020, 3, 13)
    published = {"a-years-apart": date(2017, 3, 13), "b-same-week": origin - timedelta(days=2)}
    equal = RelatedSettings(dense_weight=1.0, lexical_weight=1.0)
    dense, lexical = ["a-years-apart", "b-same-week"], ["b-same-week", "a-years-apart"]
    timeless = fuse_related(dense, lexical, published, origin, replace(equal, time_weight=0.0))
    assert timeless[0].score == timeless[1].score and timeless[0].article_id == "a-years-apart"  # id order
    timed = fuse_related(dense, lexical, published, origin, equal)
    assert [r.article_id for r in timed] == ["b-same-week", "a-years-apart"]
    # ... and by default it also passes one that is a place more similar.
    ahead = fuse_related(
        ["a-years-apart", "b-same-week"], ["a-years-apart", "b-same-week"], published, origin, RelatedSettings()
    )
    assert [r.article_id for r in ahead] == ["b-same-week", "a-years-apart"]
    assert ahead[0].days_apart == 2 and ahead[1].days_apart == 365 * 3 + 1


def test_undated_candidates_sit_where_the_settings_put_them_and_an_undated_article_ignores_time():
    origin = date(2020, 3, 13)
    published = {"same-day": origin, "month-apart": origin - timedelta(days=30), "undated": None}
    dense = ["month-apart", "undated", "same-day"]
    settings = RelatedSettings(undated_days_apart=3.0)
    order = [r.article_id for r in fuse_related(dense, [], published, origin, settings)]
    assert order == ["same-day", "undated", "month-apart"]
    assert fuse_related(dense, [], published, origin, settings)[1].days_apart is None
    no_origin = fuse_related(dense, [], published, None, settings)
    assert [r.article_id for r in no_origin] == dense


def test_weights_of_zero_reduce_to_the_dense_order():
    dense = ["d1", "d2", "d3", "d4"]
    lexical = ["d4", "x1", "d3"]
    published = {"d1": date(2010, 1, 1), "d2": None, "d3": date(2020, 1, 1), "d4": date(2020, 1, 2), "x1": None}
    off = RelatedSettings(lexical_weight=0.0, time_weight=0.0)
    related = fuse_related(dense, lexical, published, date(2020, 1, 2), off)
    assert [r.article_id for r in related] == dense
    assert [r.dense_rank for r in related] == [1, 2, 3, 4]
    fused = fuse_related(dense, lexical, published, date(2020, 1, 2), RelatedSettings())
    assert fused[0].article_id == "d4", "with their default weights, the lexical ranking and the date count"


def test_bad_settings_say_which_value_is_wrong():
    with pytest.raises(ValueError, match="time_weight must be between 0 and 1"):
        RelatedSettings(time_weight=1.5)
    with pytest.raises(ValueError, match="terms and lexical_depth must be at least 1"):
        RelatedSettings(terms=0)
    assert published_day("2020-03-13T08:00:00+00:00") == date(2020, 3, 13)
    assert published_day("8/11/18") is None and published_day(None) is None


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
