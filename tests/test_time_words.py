"""Time words in a question → a date range, and the `as_of` / `when` values of a request.

One fixed moment: Friday 13 March 2020, the end of that day (UTC), as "as of 2020-03-13" means.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from index.errors import InvalidQueryError
from search.moments import InvalidTimeError, TimeRange, parse_as_of, parse_when
from search.time_words import find_time_range

AS_OF = datetime(2020, 3, 13, 23, 59, 59, 999999, tzinfo=UTC)

# question, first day, last day (None = open), the words, the question left for retrieval
FORMS = [
    ("What happened yesterday?", "2020-03-12", "2020-03-12", "yesterday", "What happened?"),
    ("Who resigned today?", "2020-03-13", "2020-03-13", "today", "Who resigned?"),
    ("What did the Fed say last week?", "2020-03-02", "2020-03-08", "last week", "What did the Fed say?"),
    ("Which league stopped this week?", "2020-03-06", "2020-03-13", "this week", "Which league stopped?"),
    ("Earlier this week, the Senate voted", "2020-03-06", "2020-03-13", "Earlier this week", "the Senate voted"),
    ("this past week in markets", "2020-03-06", "2020-03-13", "this past week", "in markets"),
    ("Which bank failed this month?", "2020-03-01", "2020-03-13", "this month", "Which bank failed?"),
    ("Which bank failed last month?", "2020-02-01", "2020-02-29", "last month", "Which bank failed?"),
    ("Who won the primary this year?", "2020-01-01", "2020-03-13", "this year", "Who won the primary?"),
    ("What will it rule later this year?", "2020-01-01", "2020-03-13", "later this year", "What will it rule?"),
    ("Which city had bad air last year?", "2019-01-01", "2019-12-31", "last year", "Which city had bad air?"),
    ("last year's budget", "2019-01-01", "2019-12-31", "last year's", "budget"),
    ("stock markets in March 2020", "2020-03-01", "2020-03-13", "in March 2020", "stock markets"),
    ("covid lockdown March 2020", "2020-03-01", "2020-03-13", "March 2020", "covid lockdown"),
    ("March 2020 stock crash", "2020-03-01", "2020-03-13", "March 2020", "stock crash"),
    ("floods in Sept. 2019", "2019-09-01", "2019-09-30", "in Sept. 2019", "floods"),
    ("protests in Hong Kong in 2019", "2019-01-01", "2019-12-31", "in 2019", "protests in Hong Kong"),
    ("hong kong protests 2019", "2019-01-01", "2019-12-31", "2019", "hong kong protests"),
    ("2019", "2019-01-01", "2019-12-31", "2019", ""),
    ("2019's biggest stories", "2019-01-01", "2019-12-31", "2019's", "biggest stories"),
    ("the best opening of 2020 so far", "2020-01-01", "2020-03-13", "of 2020", "the best opening so far"),
    ("recession fears early 2019", "2019-01-01", "2019-12-31", "early 2019", "recession fears"),
    ("What has the WHO said since January?", "2020-01-01", "2020-03-13", "since January", "What has the WHO said?"),
    ("layoffs since May 3", "2019-05-03", "2020-03-13", "since May 3", "layoffs"),
    ("Brexit talks since 2016", "2016-01-01", "2020-03-13", "since 2016", "Brexit talks"),
    ("cases since last week", "2020-03-02", "2020-03-13", "since last week", "cases"),
    ("storms in the past 3 days", "2020-03-10", "2020-03-13", "in the past 3 days", "storms"),
    ("storms last 3 days", "2020-03-10", "2020-03-13", "last 3 days", "storms"),
    ("arrests over the past two weeks", "2020-02-28", "2020-03-13", "over the past two weeks", "arrests"),
    ("What fell in the past 24 hours?", "2020-03-12", "2020-03-13", "in the past 24 hours", "What fell?"),
    ("How did gas rise over the past year?", "2019-03-13", "2020-03-13", "over the past year", "How did gas rise?"),
    ("the best album of the last 12 months", "2019-03-13", "2020-03-13", "the last 12 months", "the best album of"),
    ("strikes between May 1 and May 5", "2019-05-01", "2019-05-05", "between May 1 and May 5", "strikes"),
    ("strikes from May 1 to May 5", "2019-05-01", "2019-05-05", "from May 1 to May 5", "strikes"),
    ("strikes between May 1 and May 5, 2018", "2018-05-01", "2018-05-05", "between May 1 and May 5, 2018", "strikes"),
    ("sales from December 20 to January 5", "2019-12-20", "2020-01-05", "from December 20 to January 5", "sales"),
    ("from March 1 until today", "2020-03-01", "2020-03-13", "from March 1 until today", ""),
    ("elections between 2016 and 2018", "2016-01-01", "2018-12-31", "between 2016 and 2018", "elections"),
    ("What happened on May 3?", "2019-05-03", "2019-05-03", "on May 3", "What happened?"),
    ("What did he say on March 13, 2020?", "2020-03-13", "2020-03-13", "on March 13, 2020", "What did he say?"),
    ("the vote on the 3rd of March", "2020-03-03", "2020-03-03", "on the 3rd of March", "the vote"),
    ("filings on 2020-02-14", "2020-02-14", "2020-02-14", "on 2020-02-14", "filings"),
    ("rallies in May", "2019-05-01", "2019-05-31", "in May", "rallies"),
    ("rallies in mid-March", "2020-03-01", "2020-03-13", "in mid-March", "rallies"),
    ("fires before 2019", None, "2018-12-31", "before 2019", "fires"),
    ("fires until March 2019", None, "2019-03-31", "until March 2019", "fires"),
    ("fires after 2018", "2019-01-01", "2020-03-13", "after 2018", "fires"),
]  # fmt: skip

# Known false positives of free-text date search, event-relative phrases and other words that are no range.
NOT_TIME = [
    "Who may run for president?",
    "The Sun reported a scandal",
    "Protesters march on the capitol",
    "Protesters march 3 miles to the capitol",
    "a",
    "Do you know who won?",
    "How many of the 300 workers were laid off?",
    "Which team won 3-1?",
    "Route 66 reopened",
    "Boeing 737 grounded",
    "1,200 people were evacuated",
    "music of the 1990s",
    "2019 people signed the letter",
    "Who won the 2018 World Cup?",
    "Who announced a 2016 White House bid?",
    "Who won Euro 2016?",
    "What will happen in 2021?",
    "Which company recently cut ties with him?",
    "How did prices change in recent days?",
    "riots in the past few days",
    "What happened before the election?",
    "aid since the invasion began",
    "the last week of the campaign",
    "India's G20 summit this weekend",
    "Short is helping the January 6 Capitol riot committee",
    "USA Today reported a fire",
    "fashion for today's teens",
    "What was said on Feb 30?",
    "in the last 200 years",
    "What NFL star retired on Tuesday?",
    "the 2019-20 season",
    "Which seed was added to the list three days ago?",
    "Who will perform at next year's Super Bowl?",
]


@pytest.mark.parametrize(("question", "start", "end", "words", "query"), FORMS, ids=[f[0] for f in FORMS])
def test_time_words_resolve_to_a_range_relative_to_as_of(
    question: str, start: str | None, end: str, words: str, query: str
) -> None:
    found = find_time_range(question, AS_OF)
    assert found is not None, question
    span = found.time_range
    assert (span.start and span.start.isoformat(), span.end and span.end.isoformat()) == (start, end)
    assert span.words == words == question[found.start : found.end]
    assert found.query == query


@pytest.mark.parametrize("question", NOT_TIME)
def test_words_that_are_not_a_time_range(question: str) -> None:
    assert find_time_range(question, AS_OF) is None


def test_this_week_is_the_past_week_and_matches_when_7d() -> None:
    words = find_time_range("this week", AS_OF)
    past_week = find_time_range("the past week", AS_OF)
    window = parse_when("7d", AS_OF).to_range("7d")
    assert words is not None and past_week is not None
    assert (words.time_range.start, words.time_range.end) == (date(2020, 3, 6), date(2020, 3, 13))
    assert (
        (past_week.time_range.start, past_week.time_range.end)
        == (window.start, window.end)
        == (
            date(2020, 3, 6),
            date(2020, 3, 13),
        )
    )


def test_this_month_early_in_a_month_reaches_back_a_week() -> None:
    found = find_time_range("this month", parse_as_of("2020-03-02"))
    assert found is not None
    assert (found.time_range.start, found.time_range.end) == (date(2020, 2, 24), date(2020, 3, 2))


def test_a_day_without_a_year_is_the_latest_one_not_after_as_of() -> None:
    on_the_day = find_time_range("on March 13", AS_OF)
    next_day = find_time_range("on March 14", AS_OF)
    assert on_the_day is not None and next_day is not None
    assert on_the_day.time_range.start == date(2020, 3, 13)
    assert next_day.time_range.start == date(2019, 3, 14)


def test_the_leftmost_expression_wins_and_labels_read_as_a_chip() -> None:
    found = find_time_range("What happened in March 2020, and since 2018?", AS_OF)
    assert found is not None
    assert found.time_range.as_dict() == {
        "start": "2020-03-01",
        "end": "2020-03-13",
        "words": "in March 2020",
        "label": "March 2020",
    }
    assert found.query == "What happened, and since 2018?"


def test_an_open_range_contains_everything_before_its_end() -> None:
    found = find_time_range("fires before 2019", AS_OF)
    assert found is not None
    assert found.time_range.contains(date(1950, 1, 1)) and found.time_range.contains(date(2018, 12, 31))
    assert not found.time_range.contains(date(2019, 1, 1))
    assert found.time_range.as_dict()["start"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-03-13", datetime(2020, 3, 13, 23, 59, 59, 999999, tzinfo=UTC)),
        (" 2020-03-13 ", datetime(2020, 3, 13, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2020-03-13T10:30", datetime(2020, 3, 13, 10, 30, tzinfo=UTC)),
        ("2020-03-13 10:30:15.5", datetime(2020, 3, 13, 10, 30, 15, 500000, tzinfo=UTC)),
        ("2020-03-13T10:30:00Z", datetime(2020, 3, 13, 10, 30, tzinfo=UTC)),
        ("2020-03-13T12:30:00+02:00", datetime(2020, 3, 13, 10, 30, tzinfo=UTC)),
        ("2020-03-13T05:30:00-0500", datetime(2020, 3, 13, 10, 30, tzinfo=UTC)),
        (date(2020, 3, 13), datetime(2020, 3, 13, 23, 59, 59, 999999, tzinfo=UTC)),
        (datetime(2020, 3, 13, 10, 30), datetime(2020, 3, 13, 10, 30, tzinfo=UTC)),
    ],
)
def test_as_of_accepts_a_date_or_an_iso_datetime(value: str | date, expected: datetime) -> None:
    moment = parse_as_of(value)
    assert moment == expected and moment.tzinfo is UTC


def test_as_of_defaults_to_now() -> None:
    now = datetime(2021, 6, 1, 8, 0, tzinfo=UTC)
    assert parse_as_of(None, now=now) == now


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "13/03/2020", "March 13, 2020", "20200313", "2020-13-01", "2020-02-30", "2020-03-13T25:00",
     "2020-03-13T10:00+25:00", "0999-01-01", "2020-03-13T10:00 UTC"],
)  # fmt: skip
def test_a_bad_as_of_names_the_accepted_forms(value: str) -> None:
    with pytest.raises(InvalidQueryError, match=r"as_of=.*use YYYY-MM-DD .* ISO 8601 datetime") as raised:
        parse_as_of(value)
    assert isinstance(raised.value, InvalidTimeError) and raised.value.name == "as_of"


@pytest.mark.parametrize(
    ("value", "length", "label"),
    [
        ("24h", timedelta(hours=24), "past 24 hours"),
        ("7d", timedelta(days=7), "past 7 days"),
        (" 30D ", timedelta(days=30), "past 30 days"),
        ("2w", timedelta(weeks=2), "past 2 weeks"),
        ("1h", timedelta(hours=1), "past 1 hour"),
        ("3650d", timedelta(days=3650), "past 3650 days"),
    ],
)
def test_when_is_a_window_ending_at_as_of(value: str, length: timedelta, label: str) -> None:
    window = parse_when(value, AS_OF)
    assert (window.start, window.end, window.label) == (AS_OF - length, AS_OF, label)


def test_when_covers_the_days_its_window_touches() -> None:
    assert parse_when("24h", AS_OF).to_range("24h") == TimeRange(
        date(2020, 3, 12), date(2020, 3, 13), "24h", "past 24 hours"
    )


@pytest.mark.parametrize("value", ["", "7", "d7", "7m", "1y", "0h", "0d", "-7d", "7.5d", "3651d", "999999h", "7 days"])
def test_a_bad_when_names_the_accepted_forms(value: str) -> None:
    with pytest.raises(InvalidQueryError, match=r"when=.*use <n>h, <n>d or <n>w, such as 24h, 7d or 30d"):
        parse_when(value, AS_OF)
