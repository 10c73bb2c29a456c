"""Search in time (issue 13) on a tiny index built with the fake encoder: as_of, time words and `when`,
newest first over the matching articles, facets, snippets. The real model's part is in test_time_api.py."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from index.build import build
from index.errors import InvalidQueryError, InvalidTimeError
from index.maintenance import remove
from search.facets import date_buckets
from search.fusion import FusionWeights, fuse
from search.grouping import fold_stories
from search.moments import parse_as_of
from search.published import read_published
from search.query import RECENCY_PRESETS, Filters
from search.recency import PRESETS
from tests.conftest import write_jsonl
from tests.tiny_index import article, build_tiny_index, fake_encoder, open_tiny

AS_OF = "2020-03-13"
TIMETABLE = [  # ferry timetable coverage: the question's two content words in every article
    ("Harbour Times", "2020-03-13T09:00:00+00:00"),
    ("Harbour Times", "2020-03-13T20:00:00+00:00"),  # after as_of=2020-03-13T12:00Z, before the end of the day
    ("Valley Courier", "2020-03-12T21:30:00-05:00"),  # the 12th as written, the 13th in UTC
    ("Valley Courier", "2020-03-11"),
    ("Metro Wire", "2020-03-09"),
    ("Metro Wire", "2020-03-02"),
    ("Harbour Times", "2019-06-01"),
    ("Valley Courier", "2018-05-05"),
    ("Metro Wire", "2020-03-20"),  # after as_of
    ("Valley Courier", None),
]
FARES = [("Metro Wire", "2020-03-12"), ("Harbour Times", "2020-03-10"), ("Valley Courier", "2020-02-20")]
ORCHARD = [("Metro Wire", "2020-03-12"), ("Harbour Times", "2020-03-11"), ("Valley Courier", "2019-09-09")]
ARTICLES = (
    [article(n, "ferry timetable", source, day) for n, (source, day) in enumerate(TIMETABLE)]
    + [article(100 + n, "ferry fares", source, day) for n, (source, day) in enumerate(FARES)]
    + [article(200 + n, "orchard harvest", source, day) for n, (source, day) in enumerate(ORCHARD)]
)
PUBLISHED = {a["url"]: a["published"] for a in ARTICLES}
QUESTION = "ferry timetable"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return build_tiny_index(tmp_path_factory.mktemp("time"), ARTICLES)


@pytest.fixture(scope="module")
def searcher(index_dir):
    return open_tiny(index_dir)


def instants(response) -> list[datetime | None]:
    return [moment(r.published) for r in response.results]


def moment(published: str | None) -> datetime | None:
    read = read_published(published)
    return None if read is None else datetime.fromtimestamp(read.instant, UTC)


def every(searcher, question: str, **options):
    """All results of one search (the tiny index holds fewer than a page of 50)."""
    response = searcher.search(question, k=50, **options)
    assert not response.has_more
    return response


# --- as_of ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
@pytest.mark.parametrize("sort", ["relevance", "newest"])
@pytest.mark.parametrize(
    "as_of", ["2020-03-13", "2020-03-13T12:00:00Z", "2020-03-12T20:00:00-05:00", "2020-03-01", "2019-01-01"]
)
def test_nothing_published_after_as_of_is_returned(searcher, mode, sort, as_of):
    cut = parse_as_of(as_of)
    response = every(searcher, "ferry timetable fares orchard", mode=mode, sort=sort, as_of=as_of)
    shown = instants(response)
    assert all(when <= cut for when in shown if when is not None)
    # Everything else that holds the words and existed then is there, the undated article too.
    existed = {url for url, day in PUBLISHED.items() if moment(day) is None or moment(day) <= cut}
    if sort == "relevance" and mode == "lexical":
        assert {r.url for r in response.results} == existed
    assert None in shown or sort == "newest"


def test_as_of_compares_the_time_when_the_date_has_one(searcher):
    urls = {r.url: r.published for r in every(searcher, QUESTION, as_of="2020-03-13T12:00:00Z").results}
    assert "2020-03-13T09:00:00+00:00" in urls.values()
    assert "2020-03-13T20:00:00+00:00" not in urls.values()  # later that day
    assert "2020-03-12T21:30:00-05:00" in urls.values()  # 02:30 UTC on the 13th
    end_of_day = {r.published for r in every(searcher, QUESTION, as_of=AS_OF).results}
    assert "2020-03-13T20:00:00+00:00" in end_of_day
    # An offset is a moment: 21:30 on the 12th in New York is after 01:00 UTC on the 13th.
    morning = {r.published for r in every(searcher, QUESTION, as_of="2020-03-13T01:00:00Z").results}
    assert "2020-03-12T21:30:00-05:00" not in morning and "2020-03-13T09:00:00+00:00" not in morning
    assert "2020-03-11" in morning


def test_a_date_without_a_time_counts_from_the_start_of_its_day(searcher):
    early = {r.published for r in every(searcher, QUESTION, as_of="2020-03-11T00:00:00Z").results}
    assert "2020-03-11" in early
    before = {r.published for r in every(searcher, QUESTION, as_of="2020-03-10T23:59:59Z").results}
    assert "2020-03-11" not in before


def test_as_of_filters_inside_retrieval_so_a_shallow_search_still_finds_the_old_articles(index_dir):
    shallow = open_tiny(index_dir, depth=2)
    old = every(shallow, QUESTION, mode="lexical", as_of="2019-12-31", time_words=False)
    assert sorted(r.published or "" for r in old.results) == ["", "2018-05-05", "2019-06-01"]


def test_the_response_echoes_as_of_in_utc(searcher):
    assert searcher.search(QUESTION, as_of="2020-03-13T18:00:00+02:00").as_of == "2020-03-13T16:00:00+00:00"
    assert searcher.search(QUESTION, as_of=AS_OF).as_of == "2020-03-13T23:59:59.999999+00:00"
    now = datetime.fromisoformat(searcher.search(QUESTION).as_of)
    assert abs(now - datetime.now(UTC)) < timedelta(hours=1)


def test_without_as_of_nothing_is_left_out(searcher):
    assert len(every(searcher, QUESTION, mode="lexical", time_words=False).results) == len(TIMETABLE) + len(FARES)


# --- time words and `when` -------------------------------------------------------------------------


def test_time_words_filter_the_dates_and_are_echoed(searcher):
    response = every(searcher, "ferry timetable this week", as_of=AS_OF)
    assert response.time_range is not None
    assert (response.time_range.start, response.time_range.end) == ("2020-03-06", AS_OF)
    assert (response.time_range.words, response.time_range.label, response.time_range.origin) == (
        "this week",
        "this week",
        "question",
    )
    days = {r.published[:10] for r in response.results}
    assert days and all("2020-03-06" <= day <= AS_OF for day in days)
    assert {r.url for r in response.results} >= {
        url for url, day in PUBLISHED.items() if "timetable" in url and day and "2020-03-06" <= day[:10] <= AS_OF
    }
    # The words are not searched for, nor highlighted.
    top = response.results[0]
    assert not any(top.passage[s:e].lower() in ("this", "week") for s, e in top.highlights)


def test_time_words_intersect_the_date_filters(searcher):
    narrowed = every(searcher, "ferry timetable this week", as_of=AS_OF, filters=Filters(date_to=date(2020, 3, 9)))
    assert {r.published for r in narrowed.results} == {"2020-03-09"}


def test_a_past_range_reaches_from_its_start_up_to_as_of(searcher):
    response = every(searcher, "ferry timetable in 2019", as_of=AS_OF)
    assert response.time_range is not None
    assert (response.time_range.start, response.time_range.end) == ("2019-01-01", AS_OF)
    assert response.time_range.label == "since 2019" and response.time_range.words == "in 2019"
    days = {(r.published or "")[:10] for r in response.results}
    assert "2019-06-01" in days and "2020-03-11" in days  # coverage of 2019 published later counts
    assert "2018-05-05" not in days and "" not in days


def test_a_past_range_without_a_start_is_not_read(searcher):
    response = searcher.search("ferry timetable before 2019", as_of=AS_OF)
    assert response.time_range is None


def test_time_words_false_ignores_them(searcher):
    response = every(searcher, "ferry timetable this week", as_of=AS_OF, time_words=False)
    assert response.time_range is None
    assert "2019-06-01" in {r.published for r in response.results}


def test_when_is_a_window_ending_at_as_of_and_wins_over_time_words(searcher):
    response = every(searcher, "ferry timetable in 2019", as_of=AS_OF, when="72h")
    assert response.time_range is not None
    assert (response.time_range.start, response.time_range.end, response.time_range.origin) == (
        "2020-03-10",
        AS_OF,
        "when",
    )
    assert response.time_range.label == "past 72 hours" and response.time_range.words == "72h"
    assert all("2020-03-10" <= r.published[:10] <= AS_OF for r in response.results)


def test_a_question_of_nothing_but_time_words_lists_the_range_newest_first(searcher):
    response = every(searcher, "this week", as_of=AS_OF)
    expected = sorted(
        (day for day in PUBLISHED.values() if day and "2020-03-06" <= day[:10] <= AS_OF),
        key=lambda day: moment(day),
        reverse=True,
    )
    assert [r.published for r in response.results] == expected  # every topic, newest first


# --- newest first and what matches -------------------------------------------------------------------


def test_newest_lists_the_matching_articles_newest_first_undated_last(searcher):
    newest = every(searcher, QUESTION, sort="newest", as_of="2020-03-31", time_words=False)
    assert newest.sort == "newest"
    # Matching: both content words. Every timetable article, no fares article (one word of two) …
    assert {r.url for r in newest.results} == {url for url in PUBLISHED if "timetable" in url}
    shown = instants(newest)
    assert shown[-1] is None and None not in shown[:-1]
    assert shown[:-1] == sorted(shown[:-1], reverse=True)
    # … though relevance ranks those too, below: a ranking has no end, a match set does.
    ranked = every(searcher, QUESTION, as_of="2020-03-31", time_words=False)
    assert {url for url in PUBLISHED if "fares" in url} <= {r.url for r in ranked.results}


def test_a_dense_match_needs_the_cosine_of_the_settings(index_dir):
    # The fake encoder's cosines are low; at a threshold of -1 every dense candidate matches.
    everything = open_tiny(index_dir, match_cosine=-1.0)
    newest = every(everything, "ferry fares", sort="newest", mode="dense", as_of="2020-03-31")
    assert len(newest.results) == sum(1 for day in PUBLISHED.values() if not day or day[:10] <= "2020-03-31")
    strict = every(open_tiny(index_dir, match_cosine=0.99), "ferry fares", sort="newest", mode="dense")
    assert strict.results == []


def test_newest_follows_the_filters(searcher):
    filtered = every(searcher, QUESTION, sort="newest", filters=Filters(sources=("Metro Wire",)), time_words=False)
    assert filtered.results and {r.source for r in filtered.results} == {"Metro Wire"}


# --- facets ------------------------------------------------------------------------------------------


def direct_counts(searcher, question: str, **options) -> tuple[Counter, Counter]:
    """Sources and days of the matching articles, read article by article from the newest-first list."""
    listed = every(searcher, question, sort="newest", **options).results
    ids = [r.id for r in listed] + [c.id for r in listed for c in r.also]
    articles = searcher.store.articles(ids)
    return (
        Counter(a.source or "" for a in articles.values()),
        Counter(a.published[:10] if a.published else None for a in articles.values()),
    )


@pytest.mark.parametrize("question", [QUESTION, "ferry timetable this week", "orchard harvest", "this week"])
def test_facet_counts_equal_a_direct_count_of_the_matching_articles(searcher, question):
    facets = searcher.search(question, as_of=AS_OF, facets=True).facets
    assert facets is not None
    sources, days = direct_counts(searcher, question, as_of=AS_OF)
    assert {s.value: s.count for s in facets.sources} == sources
    assert [s.count for s in facets.sources] == sorted(sources.values(), reverse=True)
    assert facets.undated == days.pop(None, 0)
    assert {b.start: b.count for b in facets.dates if b.count} == days or facets.interval != "day"
    assert sum(b.count for b in facets.dates) + facets.undated == facets.total == sum(sources.values())
    for bucket in facets.dates:  # each bucket holds the days between its ends
        inside = sum(n for day, n in days.items() if bucket.start <= day <= bucket.end)
        assert bucket.count == inside


def test_outlet_counts_ignore_the_outlet_filter_and_dates_ignore_the_date_filters(searcher):
    plain = searcher.search(QUESTION, as_of=AS_OF, facets=True).facets
    by_outlet = searcher.search(QUESTION, as_of=AS_OF, facets=True, filters=Filters(sources=("Metro Wire",))).facets
    assert by_outlet.sources == plain.sources  # the other outlets stay in view
    assert by_outlet.total == dict((s.value, s.count) for s in plain.sources)["Metro Wire"]
    week = Filters(date_from=date(2020, 3, 9), date_to=date(2020, 3, 15))
    by_week = searcher.search(QUESTION, as_of=AS_OF, facets=True, filters=week)
    assert by_week.facets.dates == plain.dates and by_week.facets.interval == plain.interval
    assert by_week.facets.sources != plain.sources
    assert all("2020-03-09" <= r.published[:10] <= "2020-03-15" for r in by_week.results)


def test_no_facets_unless_asked(searcher):
    assert searcher.search(QUESTION).facets is None


def test_date_buckets_follow_the_span_and_leave_no_gaps():
    interval, buckets, undated = date_buckets({"2020-03-02": 1, "2020-03-05": 2, None: 3, "sometime": 1})
    assert interval == "day" and undated == 4
    assert [(b.start, b.end, b.count) for b in buckets] == [
        ("2020-03-02", "2020-03-02", 1),
        ("2020-03-03", "2020-03-03", 0),
        ("2020-03-04", "2020-03-04", 0),
        ("2020-03-05", "2020-03-05", 2),
    ]
    interval, buckets, _ = date_buckets({"2020-03-04": 1, "2020-04-20": 2})  # Wednesday to Monday
    assert interval == "week"
    assert (buckets[0].start, buckets[0].end, buckets[-1].start, buckets[-1].end) == (
        "2020-03-02",
        "2020-03-08",
        "2020-04-20",
        "2020-04-26",
    )
    assert [b.count for b in buckets] == [1, 0, 0, 0, 0, 0, 0, 2]
    interval, buckets, _ = date_buckets({"2019-12-31": 1, "2020-02-29": 1, "2020-07-01": 1})
    assert interval == "month"
    assert [(b.start, b.end) for b in buckets][:3] == [
        ("2019-12-01", "2019-12-31"),
        ("2020-01-01", "2020-01-31"),
        ("2020-02-01", "2020-02-29"),
    ]
    assert len(buckets) == 8 and sum(b.count for b in buckets) == 3
    assert date_buckets({None: 2}) == ("day", [], 2)


# --- deleted passages (format 2: still in their segment until a compaction) ----------------------------


def test_removed_and_corrected_articles_leave_no_trace_in_the_time_features(tmp_path):
    index_dir = build_tiny_index(tmp_path, ARTICLES)
    removed, corrected = ARTICLES[0], ARTICLES[3]  # timetable articles of 2020-03-13 and 2020-03-11
    remove(index_dir, [removed["url"]])
    # The same URL (the same article) now about the orchard: its old passages still hold "timetable".
    correction = {**article(3, "orchard harvest", "Valley Courier", "2020-03-11"), "url": corrected["url"]}
    build([write_jsonl(tmp_path / "correction.jsonl", [correction])], index_dir, fake_encoder())
    searcher = open_tiny(index_dir)
    assert len(searcher.snapshot.parts.dead) == 8, "the deleted passages are still in the segments"
    timetable = {url for url in PUBLISHED if "timetable" in url} - {removed["url"], corrected["url"]}

    newest = every(searcher, QUESTION, sort="newest", as_of="2020-03-31", time_words=False)
    assert {r.url for r in newest.results} == timetable
    facets = searcher.search(QUESTION, as_of="2020-03-31", time_words=False, facets=True).facets
    assert facets is not None and facets.total == len(timetable)
    week = every(searcher, "this week", as_of=AS_OF)
    assert removed["url"] not in {r.url for r in week.results}
    assert [r.title for r in week.results if r.url == corrected["url"]] == ["Orchard harvest report number 3"]
    for mode in ("hybrid", "dense", "lexical"):
        found = every(searcher, QUESTION, mode=mode, as_of=AS_OF, recency="strong", time_words=False)
        assert removed["url"] not in {r.url for r in found.results}


# --- snippets and errors -------------------------------------------------------------------------------


def test_results_carry_a_snippet_of_their_passage_with_its_highlights(searcher):
    for result in searcher.search("ferry timetable this week", mode="lexical", as_of=AS_OF).results:
        assert result.snippet and len(result.snippet) <= 360
        assert result.snippet_highlights
        assert {result.snippet[s:e].lower() for s, e in result.snippet_highlights} <= {"ferry", "timetable"}


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"as_of": "yesterday"}, "YYYY-MM-DD"),
        ({"as_of": "2020-02-30"}, "YYYY-MM-DD"),
        ({"when": "7 days"}, "24h, 7d or 30d"),
        ({"when": "0h"}, "24h, 7d or 30d"),
        ({"sort": "oldest"}, "choose from relevance, newest"),
        ({"recency": "max"}, "choose from off, mild, default, strong"),
    ],
)
def test_bad_time_values_are_refused_naming_the_accepted_forms(searcher, options, named):
    with pytest.raises(InvalidQueryError, match=named) as raised:
        searcher.search(QUESTION, **options)
    if "as_of" in options or "when" in options:
        assert isinstance(raised.value, InvalidTimeError)


def test_recency_off_ranks_as_before_issue_13(searcher):
    # Today's order: the two retrievers' candidates fused and folded, no recent pass, no prior.
    retriever, settings = searcher.retriever, searcher.settings
    weights = FusionWeights.for_mode("hybrid", settings.dense_weight, settings.lexical_weight, settings.rrf_k)
    bm25 = (settings.bm25_title_weight, settings.bm25_text_weight)
    for options in ({}, {"as_of": "2030-01-01"}, {"as_of": AS_OF}):
        shown = searcher.search("ferry timetable fares", k=20, time_words=False, recency="off", **options)
        filters = Filters(until=parse_as_of(options["as_of"])) if options.get("as_of") == AS_OF else Filters()
        found = retriever.candidates("ferry timetable fares", "hybrid", settings.depth, filters, bm25)
        fused = fuse(found.dense, found.lexical, weights).articles
        folded = fold_stories(fused, searcher.store.story_ids([a.article_id for a in fused]))
        assert [(r.id, r.score) for r in shown.results] == [(g.lead.article_id, round(g.lead.score, 6)) for g in folded]


def test_recency_presets_are_the_priors_presets():
    assert tuple(PRESETS) == RECENCY_PRESETS


# --- the recency prior ---------------------------------------------------------------------------------

PRIOR_AS_OF = datetime(2021, 6, 30, 12, tzinfo=UTC)
TWINS = [  # pairs of equally relevant articles (same words, same lengths), one of each a month older
    ("kestrel", "2021-06-29", "2021-05-30"),
    ("kestrel", "2021-05-30", "2021-06-29"),
    ("osprey", "2021-06-29", "2021-05-30"),
    ("osprey", "2021-05-30", "2021-06-29"),
]


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    records = []
    for n, (topic, first, second) in enumerate(TWINS):
        records += [
            article(300 + 2 * n, topic, "Valley Courier", first),
            article(301 + 2 * n, topic, "Metro Wire", second),
        ]
    records += [article(400 + n, "kestrel", "Harbour Times", "2021-05-01", mentions=3) for n in range(6)]
    return open_tiny(build_tiny_index(tmp_path_factory.mktemp("twins"), records))


def test_the_newer_of_two_equally_relevant_articles_comes_first_with_the_prior(twins):
    def twins_order(topic: str, preset: str) -> list[str | None]:
        shown = every(twins, topic, mode="lexical", as_of=PRIOR_AS_OF, recency=preset).results
        return [r.published for r in shown if r.published != "2021-05-01"]  # the twins: equally relevant

    newest_first = ["2021-06-29", "2021-06-29", "2021-05-30", "2021-05-30"]
    # Without the prior, equal scores go by article id, which puts an older twin first for one bird.
    assert any(twins_order(topic, "off") != newest_first for topic in ("kestrel", "osprey"))
    for preset in ("mild", "default", "strong"):
        for topic in ("kestrel", "osprey"):
            assert twins_order(topic, preset) == newest_first, (topic, preset)


def test_a_stronger_preset_lifts_a_new_article_over_more_relevant_old_ones(twins):
    def rank_of_newest(preset: str) -> int:
        ranked = every(twins, "kestrel", mode="lexical", as_of=PRIOR_AS_OF, recency=preset).results
        return next(i for i, r in enumerate(ranked) if r.published == "2021-06-29")

    ranks = [rank_of_newest(preset) for preset in ("off", "mild", "default", "strong")]
    assert ranks == sorted(ranks, reverse=True) and ranks[-1] < ranks[0]
    assert ranks[0] >= 6  # without the prior, the six articles naming the birds three times come first
    assert ranks[-1] == 0


def test_the_recent_pass_brings_articles_of_the_last_days_into_a_shallow_search(tmp_path):
    # 30 old articles rank above the one of last week; a search 2 passages deep sees only old ones, but
    # with the prior on every passage of the recent days is a candidate too.
    records = [article(500 + n, "heron survey", "Valley Courier", "2021-01-01", mentions=3) for n in range(30)]
    records.append(article(600, "heron survey", "Metro Wire", "2021-06-28"))
    shallow = open_tiny(build_tiny_index(tmp_path, records), depth=2)
    off = shallow.search("heron survey", k=3, mode="lexical", as_of=PRIOR_AS_OF, recency="off").results
    assert "2021-06-28" not in {r.published for r in off}
    lifted = shallow.search("heron survey", k=3, mode="lexical", as_of=PRIOR_AS_OF, recency="strong").results
    assert lifted[0].published == "2021-06-28"
