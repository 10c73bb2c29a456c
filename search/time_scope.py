"""The time a search covers: the moment it is asked (`as_of`) and the date range read from the question's
words or given by `when`, resolved once per search into what retrieval filters by and what the response
echoes.

Decisions (figures: questions_dev.jsonl over rtqa-5k, each question asked on its `date`; docs/evaluation.md):

- `as_of` defaults to now. Only when the caller sets it are articles published after it left out
  (`Filters.until`); search.published says how a stored date compares with it, and that undated articles
  stay. It is echoed in UTC either way, since time words and the recency prior are relative to it.
- `when` (24h, 7d, 30d…) is a window ending at as_of. It is an explicit control, so when it is given the
  question's time words are not read (they stay words of the query, as with `time_words=false`): one range
  applies, and the response's `time_range` says which (origin "when" or "question").
- A range that reaches as_of's day ("this week", "past 3 days", "since January", "today") filters: the
  articles published in it. On the 90 dev questions with such words, R@10 / MRR@10 0.956 / 0.753 without
  the filter (the words only removed from the query) → 0.967 / 0.841 with it. With the recency prior on,
  which already favours those days, the filter adds little over all 202 questions (0.970 / 0.894 →
  0.965 / 0.895) and loses one whose answer is an older profile; it stays, because the user said it, it
  is shown, and one click removes it (`time_words=false`).
- A range that ends before as_of's day ("in 2021", "last year", "on February 24") names when the event
  happened; coverage often comes later. All 4 such dev questions have their relevant article published
  after the range: a hard filter finds none of them (R@10 0), filling a thin filtered page with unfiltered
  results 2 of 4 (MRR 0.19), and keeping the range's start but not its end — articles from the period's
  start up to as_of — finds all 4 at rank 1. So a past range applies from its start to as_of, and is echoed
  as such, labelled "since …". A past range with no start ("before 2019") would then filter nothing: it
  is not read at all.
- Retrieval runs on the question without its time words (TimeMatch.query); a question that is nothing
  but time words ("this week") lists the range's articles newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from search.moments import TimeRange, parse_as_of, parse_when
from search.query import Filters
from search.results import AppliedRange
from search.time_words import find_time_range


@dataclass(frozen=True, slots=True)
class TimeScope:
    """A search's time: the moment, whether the caller set it (then it cuts), the applied range, and the
    question retrieval runs on (its time words removed; "" when it held nothing else)."""

    as_of: datetime
    cut: bool
    time_range: AppliedRange | None
    query: str

    def narrow(self, filters: Filters, cuts: bool) -> Filters:
        """`filters` with the applied range intersected into its dates and, when the caller set as_of and
        it leaves something out (`cuts`), the cut at as_of."""
        date_from, date_to = filters.date_from, filters.date_to
        if self.time_range is not None:
            date_from = _later(date_from, self.time_range.first_day)
            date_to = _earlier(date_to, self.time_range.last_day)
        until = self.as_of if self.cut and cuts else None
        return Filters(filters.sources, date_from, date_to, until)


def resolve_time(
    question: str, as_of: datetime | str | date | None = None, when: str | None = None, time_words: bool = True
) -> TimeScope:
    """The time of a search asked at `as_of` (None: now; a date or a string as `moments.parse_as_of` takes
    it), restricted by `when` or, without it, by the question's time words unless `time_words` is False.
    Raises InvalidTimeError for an as_of or when in none of the accepted forms."""
    moment = parse_as_of(as_of)
    cut = as_of is not None
    if when:
        window = parse_when(when, moment).to_range(when)
        return TimeScope(moment, cut, _applied(window, "when"), question)
    if not time_words:
        return TimeScope(moment, cut, None, question)
    found = find_time_range(question, moment)
    if found is None:
        return TimeScope(moment, cut, None, question)
    read = found.time_range
    if read.end is not None and read.end < moment.date():  # a past range: from its start up to as_of
        if read.start is None:
            return TimeScope(moment, cut, None, question)
        read = TimeRange(read.start, moment.date(), read.words, f"since {read.label}")
    return TimeScope(moment, cut, _applied(read, "question"), found.query)


def _applied(time_range: TimeRange, origin: Literal["question", "when"]) -> AppliedRange:
    start, end = (day.isoformat() if day else None for day in (time_range.start, time_range.end))
    return AppliedRange(start, end, time_range.words, time_range.label, origin)


def _later(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else min(a, b)
