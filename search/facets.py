"""Coverage at a glance: how many of the matching articles (search.matches) each outlet published, and when.

The counts are the store's (`Store.count_by_source`, `Store.count_by_day`); this module turns the days
into the buckets a timeline draws: contiguous, oldest first, zeros included, both dates inclusive. The
interval follows the span from the first to the last matching day, so a timeline holds a few dozen bars
at most until the span passes half a year: up to 31 days by day, up to 26 weeks by week (Monday to
Sunday), longer by calendar month.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from index.store import Store

Interval = Literal["day", "week", "month"]
DAYS_BY_DAY = 31
DAYS_BY_WEEK = 26 * 7


@dataclass(slots=True)
class SourceCount:
    value: str  # the outlet ('' for articles without one)
    count: int


@dataclass(slots=True)
class DateBucket:
    start: str  # YYYY-MM-DD, inclusive
    end: str
    count: int


@dataclass(slots=True)
class Facets:
    """Counts for the articles matching a search. `total`, `dates` and `undated` follow every filter but
    the dates the caller picked (`from`/`to`: a timeline keeps its shape when a bar narrows them), and
    `sources` every filter but the outlets (so the other outlets' counts stay in view); see the API docs."""

    total: int
    sources: list[SourceCount]
    interval: Interval
    dates: list[DateBucket]
    undated: int


def date_buckets(day_counts: Mapping[str | None, int]) -> tuple[Interval, list[DateBucket], int]:
    """The interval, the buckets and the undated count of articles counted per day (None or a value that
    is not a date: undated)."""
    days: dict[date, int] = {}
    undated = 0
    for value, count in day_counts.items():
        day = _day(value)
        if day is None:
            undated += count
        else:
            days[day] = days.get(day, 0) + count
    if not days:
        return "day", [], undated
    first, last = min(days), max(days)
    span = (last - first).days + 1
    interval: Interval = "day" if span <= DAYS_BY_DAY else "week" if span <= DAYS_BY_WEEK else "month"
    per_bucket: dict[date, int] = {}
    for day, count in days.items():
        start = _bucket_start(day, interval)
        per_bucket[start] = per_bucket.get(start, 0) + count
    buckets = []
    start = _bucket_start(first, interval)
    while start <= last:
        end = _bucket_end(start, interval)
        buckets.append(DateBucket(start.isoformat(), end.isoformat(), per_bucket.get(start, 0)))
        start = end + timedelta(days=1)
    return interval, buckets, undated


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _bucket_start(day: date, interval: Interval) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def _bucket_end(start: date, interval: Interval) -> date:
    if interval == "week":
        return start + timedelta(days=6)
    if interval == "month":
        return start.replace(day=calendar.monthrange(start.year, start.month)[1])
    return start


def count_facets(store: Store, by_date: list[str], by_source: list[str]) -> Facets:
    """Facets of two sets of matching articles: `by_date` counted over time, `by_source` per outlet."""
    interval, buckets, undated = date_buckets(store.count_by_day(by_date) if by_date else {})
    sources = store.count_by_source(by_source) if by_source else {}
    return Facets(
        total=len(set(by_date)),
        sources=[SourceCount(value, count) for value, count in sources.items()],
        interval=interval,
        dates=buckets,
        undated=undated,
    )
