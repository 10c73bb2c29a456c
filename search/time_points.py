"""One point in time named in words — "May 3", "March 2020", "2019", "last week" — as the calendar
days it covers, relative to `as_of`. search.time_words decides which words are a time expression
and combines points into ranges; this module only says which days a point means.

Calendar days named by month and day ("May 3", "3rd of May, 2020") are read by dateparser (English
only, RELATIVE_BASE = as_of, PREFER_DATES_FROM = past). It is imported on the first such phrase,
never for the other forms, which these rules resolve alone: its import and first parse cost ~0.35 s,
a later parse 0.3–0.5 ms, so parses are memoised per (phrase, day of as_of).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

# English names written out: calendar.month_name follows the process locale.
_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october"]
_NAMES += ["november", "december"]
MONTHS = {name: number for number, name in enumerate(_NAMES, start=1)}
MONTHS |= {name[:3]: number for name, number in MONTHS.items()} | {"sept": 9}
# Longest names first, so "september" is not read as "sep" + "tember".
MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?(?![a-z])"
DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?(?!\w)"
YEAR = r"(?:19\d\d|20\d\d|2100)(?!\d)"  # plausibly a year of news: not 737, not 66, not 3000
_OPTIONAL_YEAR = rf"(?:,?\s+{YEAR})?"
DAY_DATE = (
    rf"(?:{MONTH}\s+{DAY}{_OPTIONAL_YEAR}|(?:the\s+)?{DAY}\s+(?:of\s+)?{MONTH}{_OPTIONAL_YEAR}|\d{{4}}-\d\d-\d\d)"
)
MONTH_YEAR = rf"{MONTH},?\s+{YEAR}"
RELATIVE = r"(?:today|yesterday|(?:this|last)\s+(?:week|month|year))"
POINT = rf"(?:{RELATIVE}|{DAY_DATE}|{MONTH_YEAR}|{MONTH}|{YEAR})"  # longest forms first

# "this week|month|year" is the calendar period so far, widened to at least the past week (as_of−7 days
# … as_of). Measured on questions_dev.jsonl × rtqa-5k (scripts/bench_time_words.py --windows): of the 77
# questions saying "this week", the calendar week Monday..as_of holds a relevant article for 62 (0.81),
# the 7 days as_of−6..as_of for 75 (0.97), as_of−7..as_of for 76 (0.99), and 10 or 14 days for no more.
# Quiz questions are asked on Thursdays and Fridays about news of the days before, which crosses the
# Monday boundary; a user saying "this week" means "the past week", and a filter that drops one relevant
# article in five is worse than none. The same widening keeps "this month" early in a month from
# shrinking to a day or two (over all 202 dev questions: calendar month 0.86, widened 0.95).
THIS_PERIOD_FLOOR = timedelta(days=7)

_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
_YEAR_IN = re.compile(YEAR)


@dataclass(frozen=True, slots=True)
class Point:
    """The days a point covers; `has_year` is False when its year was inferred from as_of."""

    start: date
    end: date
    has_year: bool = True

    def in_year(self, year: int) -> Point | None:
        """The same day or month in another year (None for 29 February in a common year)."""
        if self.start != self.end:  # a month: recomputed, so a whole February stays whole
            return _month(year, self.start.month)
        try:
            return replace(self, start=self.start.replace(year=year), end=self.end.replace(year=year))
        except ValueError:
            return None


def resolve_point(text: str, as_of: datetime) -> Point | None:
    """The days `text` (matching POINT) names, the most recent such days when no year is given.
    None when it names no real day (30 February) or only days after as_of."""
    today = as_of.date()
    words = " ".join(_WORD.findall(text.lower()))
    point: Point | None
    if re.fullmatch(RELATIVE, text, re.IGNORECASE):
        point = _relative(words, today)
    elif re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        point = Point(day, day)
    elif re.fullmatch(DAY_DATE, text, re.IGNORECASE):
        point = _calendar_day(text, as_of)
    elif re.fullmatch(MONTH_YEAR, text, re.IGNORECASE):
        point = _month(int(_YEAR_IN.findall(text)[0]), MONTHS[words.split()[0]])
    elif re.fullmatch(MONTH, text, re.IGNORECASE):
        month = MONTHS[words]
        point = replace(_month(today.year - (month > today.month), month), has_year=False)
    else:
        year = int(text)
        point = Point(date(year, 1, 1), date(year, 12, 31))
    if point is None or point.start > today:
        return None
    return point


def _relative(words: str, today: date) -> Point:
    if words == "today":
        return Point(today, today)
    if words == "yesterday":
        return Point(today - timedelta(days=1), today - timedelta(days=1))
    which, unit = words.split()
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        period = Point(monday, monday + timedelta(days=6))
        previous = Point(monday - timedelta(days=7), monday - timedelta(days=1))
    elif unit == "month":
        period = _month(today.year, today.month)
        previous = _month(today.year - (today.month == 1), (today.month - 2) % 12 + 1)
    else:
        period = Point(date(today.year, 1, 1), date(today.year, 12, 31))
        previous = Point(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    if which == "last":
        return previous
    return Point(min(period.start, today - THIS_PERIOD_FLOOR), today)


def _month(year: int, month: int) -> Point:
    return Point(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def _calendar_day(text: str, as_of: datetime) -> Point | None:
    day = _parse_day(re.sub(r"^the\s+", "", text.strip(), flags=re.IGNORECASE), as_of.date())
    return None if day is None else Point(day, day, has_year=bool(_YEAR_IN.search(text)))


@lru_cache(maxsize=4096)
def _parse_day(text: str, today: date) -> date | None:
    import dateparser  # heavy (~0.15 s import, ~0.25 s to load the English data): only when a phrase needs it

    settings = {
        "RELATIVE_BASE": datetime.combine(today, datetime.max.time()),
        "PREFER_DATES_FROM": "past",
        "REQUIRE_PARTS": ["day", "month"],
        "DATE_ORDER": "MDY",
        "PARSERS": ["absolute-time"],  # only calendar phrases reach it; the other parsers double its cost
    }
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def warm_up() -> None:
    """Load dateparser and its English data now (≈0.4 s) rather than on the first question naming a day."""
    _parse_day("May 3", date(2000, 1, 1))
