"""Pages, deepening, filters and story folding on a tiny index built with the fake encoder (fast)."""

from __future__ import annotations

from datetime import date

import pytest

from index.errors import InvalidQueryError
from search.candidates import Candidate
from search.fusion import ArticleScore, Fused
from search.grouping import StoryGroup
from search.query import MODES, Filters
from search.retrieval import MAX_DEPTH, Candidates, Ranking, deepen
from tests.tiny_index import article, build_tiny_index, open_tiny, paragraphs

FERRY_SOURCES = ("Harbor Times", "Valley Courier", "Metro Wire")
FERRY = [
    article(n, "ferry", FERRY_SOURCES[n % 3], f"2026-02-{n + 1:02d}", count=5, mentions=1 + n % 3) for n in range(18)
]
GAZETTE = [
    article(100, "ferry", "Tiny Gazette", "2026-03-05"),
    article(101, "ferry", "Tiny Gazette", "2026-03-06T23:30:00"),
    article(102, "ferry", "Tiny Gazette", None),
]
ORCHARD = [article(200 + n, "orchard", "Valley Courier", "2026-01-10") for n in range(6)]
# One story told by three outlets: the same body, each with a line of its own (a new content hash).
STORY_BODY = paragraphs("ferry", 300, 4, 2) + "\n\nThe ferry strike story continues with talks planned for Friday."
STORY = [
    {
        "title": f"Ferry strike halts crossings ({source})",
        "text": f"{STORY_BODY}\n\nReported by {source}.",
        "url": f"https://{source.lower().replace(' ', '')}.example/ferry-strike",
        "source": source,
        "published": "2026-02-20",
    }
    for source in FERRY_SOURCES
]
STORY_URLS = {a["url"] for a in STORY}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("tiny"), FERRY + GAZETTE + ORCHARD + STORY)


@pytest.fixture(scope="module")
def shallow(index_dir):
    """Retrieval starts at a few passages, so every page but the first few needs deeper retrieval."""
    return open_tiny(index_dir, depth=1)


def _ranking(groups: int, exhausted: bool = False) -> Ranking:
    members = [StoryGroup([ArticleScore(f"a{i}", 1.0)]) for i in range(groups)]
    return Ranking(Candidates([], [], exhausted), Fused([], {}, {}), members)


def test_deepening_grows_fourfold_until_the_page_is_full():
    asked: list[int] = []

    def rank(depth: int) -> Ranking:
        asked.append(depth)
        return _ranking(depth // 10)  # ten passages per story group, as when articles have many passages

    assert len(deepen(30, 11, rank).groups) >= 11
    assert asked == [30, 120]


def test_deepening_stops_when_the_retrievers_run_out_or_at_the_cap():
    asked: list[int] = []

    def exhausted(depth: int) -> Ranking:
        asked.append(depth)
        return _ranking(2, exhausted=depth >= 48)

    assert len(deepen(3, 10, exhausted).groups) == 2 and asked == [3, 12, 48]
    asked.clear()
    deepen(3, 10, lambda depth: asked.append(depth) or _ranking(0))
    assert asked[-1] >= MAX_DEPTH and asked[-2] < MAX_DEPTH


@pytest.mark.parametrize("mode", ["dense", "lexical"])  # one retriever: scores do not depend on depth
def test_pages_join_up_whatever_depth_each_needed(shallow, mode):
    everything = shallow.search("ferry crossings", k=100, mode=mode)
    assert not everything.has_more
    pages = [shallow.search("ferry crossings", k=2, offset=offset, mode=mode) for offset in range(0, 40, 2)]
    joined = [r.id for page in pages for r in page.results]
    assert joined == [r.id for r in everything.results]
    assert len(joined) == len(set(joined)) >= 20  # the 18 + 3 ferry articles, the story once (+ dense: more)
    last = max(i for i, page in enumerate(pages) if page.results)
    assert all(page.has_more for page in pages[:last]) and not pages[last].has_more


def test_lexical_search_finds_every_matching_article_from_a_shallow_start(shallow):
    response = shallow.search("ferry", k=25, mode="lexical")  # 22 articles, five times as many passages
    urls = {u for r in response.results for u in (r.url, *(c.url for c in r.also))}
    expected = {a["url"] for a in FERRY + GAZETTE + STORY}
    assert urls == expected  # every passage of each article matches: only deepening reaches them all


@pytest.mark.parametrize("mode", MODES)
def test_a_filter_that_leaves_few_articles_returns_all_of_them_and_no_more(shallow, mode):
    response = shallow.search("ferry", k=10, mode=mode, filters=Filters(sources=("Tiny Gazette",)))
    assert sorted(r.url for r in response.results) == sorted(a["url"] for a in GAZETTE)
    assert not response.has_more
    second = shallow.search("ferry", k=2, offset=2, mode=mode, filters=Filters(sources=("Tiny Gazette",)))
    assert len(second.results) == 1 and not second.has_more


def test_date_filters_take_whole_days_and_leave_undated_articles_out(shallow):
    day = date(2026, 3, 6)
    response = shallow.search("ferry", k=10, filters=Filters(date_from=day, date_to=day))
    assert [r.url for r in response.results] == [GAZETTE[1]["url"]]  # published 23:30 that day
    later = shallow.search("ferry", k=10, filters=Filters(date_from=date(2026, 3, 1)))
    assert {r.url for r in later.results} == {GAZETTE[0]["url"], GAZETTE[1]["url"]}


def test_copies_of_a_story_fold_into_the_best_ranked_one(shallow):
    response = shallow.search("ferry strike talks Friday", k=10, mode="lexical")
    story = [r for r in response.results if r.url in STORY_URLS]
    assert len(story) == 1, "three outlets' copies are one result"
    assert {c.url for c in story[0].also} == STORY_URLS - {story[0].url}
    shown = [u for r in response.results for u in (r.url, *(c.url for c in r.also))]
    assert len(shown) == len(set(shown))


def test_more_passages_are_other_passages_of_the_same_article(shallow):
    top = shallow.search("ferry", k=1, mode="lexical", passages=3).results[0]
    view = shallow.article(top.id)
    texts = [p.text for p in view.passages]
    assert 1 <= len(top.more_passages) <= 3
    assert all(p.text in texts and p.text != top.passage for p in top.more_passages)
    scores = [p.score for p in top.more_passages]
    assert scores == sorted(scores, reverse=True)


def test_related_pages_join_up_and_leave_out_the_article_and_its_story(shallow):
    source = STORY[0]["url"]
    everything = shallow.related(source, k=100)
    ids = [r.id for r in everything.results]
    pages = [shallow.related(source, k=3, offset=offset) for offset in range(0, 30, 3)]
    assert [r.id for page in pages for r in page.results] == ids
    shown = {u for r in everything.results for u in (r.url, *(c.url for c in r.also))}
    assert not shown & STORY_URLS
    assert len(ids) == len(FERRY + GAZETTE + ORCHARD)


def test_related_checks_only_the_page_limits(index_dir):
    # A query-length limit shorter than any word once refused every related request (it was checked
    # against a made-up query); related has no query text.
    strict = open_tiny(index_dir, max_query_chars=3)
    assert strict.related(FERRY[0]["url"], k=2).results
    with pytest.raises(InvalidQueryError, match="k must be between 1 and 100"):
        strict.related(FERRY[0]["url"], k=0)
    with pytest.raises(InvalidQueryError, match="offset must be between 0 and 1000"):
        strict.related(FERRY[0]["url"], offset=1001)


def test_candidates_without_some_articles_keep_whether_retrieval_ran_out():
    candidates = Candidates([Candidate(1, "a"), Candidate(2, "b")], [Candidate(3, "a")], exhausted=True)
    rest = candidates.without({"a"})
    assert [c.passage_id for c in rest.dense] == [2] and rest.lexical == [] and rest.exhausted
