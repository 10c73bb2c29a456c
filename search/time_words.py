"""Time words in a question → the calendar days to search, relative to the moment it is asked.

`find_time_range("What did the Fed say last week?", as_of)` returns the range (the previous Monday to
Sunday), the exact words it came from and where they are, and the question without them for retrieval.
Only these rules decide what is a time expression: dateparser's search_dates over free text is slow and
reads "may", "sun", "a", "Do", "march" (the verb) and bare numbers as dates. Everything is relative to
the UTC day of `as_of` (D below), ends are clipped to D, and a range starting after D is no range.

- "today" → D; "yesterday" → D−1. Not "today's" ("today's teens" means nowadays), "USA Today", "Today show".
- "this week|month|year" (also "earlier|later this …") → the calendar period so far, widened to start no
  later than D−7: "this week" is D−7…D (measured: see search.time_points.THIS_PERIOD_FLOOR).
- "last week|month|year" → the previous calendar week (Monday–Sunday), month or year.
- "past|the last N hours|days|weeks|months|years" (also "in|over|within the past …", "the past week",
  "this past week", "past two weeks") → the days touched by that window ending at as_of, exactly like
  the API's `when=`: "past 3 days" on the 13th is the 10th…13th. N is digits or one…twelve, fifteen,
  twenty, thirty, at most 100 years; vague counts ("past few days", "in recent years") are no range.
- "in|during|throughout|of|for|from 2019", "early|mid|late 2019" (a modifier does not narrow) → the year,
  1900–2100 and not after D's year (a later year names a plan, not when news was published).
  Bare "2019" and "2019's" too, when it stands alone: not after "the|a|an|this|that", a capitalized word
  or a number ("Euro 2020"), and not followed by a word ("2019 people", "2022 NHL Finals" are counts and
  event names); 737, 66 or 1,200 are never years.
- "March 2020", with or without those prepositions → that month.
- "in|during|throughout|from March", "mid-March" (a month alone needs one of these) → the latest March
  not after D. Without them "may" and "march" stay verbs.
- "on|of|for|from May 3", "May 3, 2020", "3rd of May", "2020-05-03" → that day, read by dateparser;
  without a year, the latest such day not after D. A bare day without a year must not be followed by a
  word ("May 3 protesters") and a lowercase "may|march" must have a preposition ("protesters march 3 miles").
  No bare day, month or year after an article ("the January 6 riot", "the 2020 election").
- "since X" → X's first day…D; "before X" → open…the day before X; "until|till|up to|as of X" → open…
  X's last day; "after X" → the day after X…D; X is any of the points above ("since last week").
- "between X and Y", "from X to|until|through Y", "from 2018-2020" → X's first day…Y's last day; a missing
  year comes from the other side ("between May 1 and May 5, 2019") or, for both, from the latest start
  not after D.

No range, by decision: "recently" (vague: the 20 dev questions saying "recent(ly)" all have their
relevant article within 8 days before as_of, which is the recency prior's job, not a filter's); decades
("the 1990s" is an era discussed, not a publication window, and consistent with "2022 NHL Finals");
weekdays ("on Tuesday", and so "Sun"); "N days ago"; "next …"; phrases relative to events ("before the
election", "since the invasion began"). When a question holds several expressions, the leftmost (then
longest) one that resolves wins.

A range that ends before D names the period a question is about, and articles about it are often
published later: on questions_dev all four such ranges ("in 2021", "last year", "on February 24",
"on January 6, 2021") exclude the relevant article. Filter with them only with a fallback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from search.moments import TimeRange, window_before
from search.time_points import DAY_DATE, MONTH, MONTH_YEAR, POINT, RELATIVE, YEAR, resolve_point

_START = r"(?<![\w$£€#/.,-])"
_END = r"(?![\w%]|[.,]\d|-\d)"
_POSSESSIVE = r"(?P<poss>['’]s)?"
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
}  # fmt: skip
_UNIT_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 31, "year": 366}
MAX_ROLLING_DAYS = 36_600  # 100 years
_ARTICLES = {"the", "a", "an", "this", "that"}


@dataclass(frozen=True, slots=True)
class TimeMatch:
    """The range a question's time words resolve to, where the words are (question[start:end] ==
    time_range.words), and the question without them, to give retrieval (empty when the question was
    nothing but time words, like "this week")."""

    time_range: TimeRange
    start: int
    end: int
    query: str


class _Days(NamedTuple):
    start: date | None
    end: date


def find_time_range(question: str, as_of: datetime) -> TimeMatch | None:
    """The time expression in `question` resolved relative to `as_of` (aware UTC), or None if it has none."""
    candidates = sorted(
        ((found, resolve) for form, resolve in _FORMS for found in form.finditer(question)),
        key=lambda candidate: (candidate[0].start(), -candidate[0].end()),
    )  # leftmost, then longest; a stable sort keeps _FORMS' order between equals
    today = as_of.date()
    for found, resolve in candidates:
        days = resolve(found, question, as_of)
        if days is None or (days.start is not None and days.start > min(days.end, today)):
            continue
        words = found.group()
        time_range = TimeRange(days.start, min(days.end, today), words, _label(words))
        return TimeMatch(time_range, found.start(), found.end(), _without(question, found.start(), found.end()))
    return None


def _relative(found: re.Match[str], question: str, as_of: datetime) -> _Days | None:
    if found["a"].lower() == "today":
        after, before = question[found.end() :], question[: found.start("a")]
        if found["poss"] or re.search(r"usa\s+$", before, re.I) or re.match(r"\s+show\b", after, re.I):
            return None  # "today's teens" (nowadays), "USA Today", "the Today show"
    return _point_days(found["a"], as_of)


def _rolling(found: re.Match[str], question: str, as_of: datetime) -> _Days | None:
    count, unit = found["n"], found["unit"].lower()
    if count is None and (found["plural"] or (found["w"].lower() == "last" and not found["det"])):
        return None  # "the past days" is vague; "last week" is the calendar week (_relative)
    amount = 1 if count is None else int(count) if count.isdigit() else _NUMBERS[count.lower()]
    if not 0 < amount * _UNIT_DAYS[unit] <= MAX_ROLLING_DAYS:
        return None
    window = window_before(as_of, amount, unit)
    return _Days(window.start.date(), window.end.date())


def _standalone(found: re.Match[str], question: str, as_of: datetime) -> _Days | None:
    """A day, month or year, with the context rules of the module docstring."""
    point, groups = found["a"], found.groupdict()
    followed_by_word = not groups["poss"] and re.match(r"\s+[^\W\d_]", question[found.end() :]) is not None
    is_year = re.fullmatch(YEAR, point) is not None
    if groups["prep"]:  # "of 2022 so far": with a preposition the words after it do not matter
        return _point_days(point, as_of)
    modified = bool(groups.get("mod"))  # "early 2020", "mid-March": a month needs a preposition or this
    before = question[: found.start()].split()
    previous = before[-1] if before else ""
    if previous.lower() in _ARTICLES or (not modified and re.fullmatch(MONTH, point, re.I)):
        return None  # "the January 6 riot", "a late April Fool's prank", "Who may run"
    has_year = not is_year and re.search(YEAR, point) is not None  # "March 2020", "May 3, 2020": unambiguous
    if not has_year and followed_by_word:
        return None  # "2019 people", "2022 NHL Finals", "May 3 protesters"
    if is_year and previous and (previous[0].isupper() or previous[-1].isdigit()):
        return None  # a name or a count: "Euro 2020", "Windows 2000", "1 2020"
    if not modified and not has_year and point.split()[0] in ("may", "march", "mar"):
        return None  # lowercase, no year: "they may 3…", "protesters march 3 miles"
    return _point_days(point, as_of)


def _since(found: re.Match[str], question: str, as_of: datetime) -> _Days | None:
    point = resolve_point(found["a"], as_of)
    return None if point is None else _Days(point.start, as_of.date())


def _bound(found: re.Match[str], question: str, as_of: datetime) -> _Days | None:
    point = resolve_point(found["a"], as_of)
    if point is None:
        return None
    word = found["prep"].lower()
    if word == "before":
        return _Days(None, point.start - timedelta(days=1))
    if word == "after":
        return _Days(point.end + timedelta(days=1), as_of.date())
    return _Days(None, point.end)


def _between(found: re.Match[str], question: str, as_of: datetime) -> _Days | None:
    first, last = resolve_point(found["a"], as_of), resolve_point(found["b"], as_of)
    if first is None or last is None:
        return None
    if not first.has_year and last.has_year:
        first = first.in_year(last.start.year)
        if first is not None and first.start > last.end:
            first = first.in_year(last.start.year - 1)
    elif not last.has_year:
        last = last.in_year(first.start.year)
        if last is not None and last.end < first.start:
            last = last.in_year(first.start.year + 1)
    if first is None or last is None or first.start > last.end:
        return None
    return _Days(first.start, last.end)


def _point_days(text: str, as_of: datetime) -> _Days | None:
    point = resolve_point(text, as_of)
    return None if point is None else _Days(point.start, point.end)


def _label(words: str) -> str:
    """The words, tidied for a chip: "in  March 2020" → "March 2020", "over the past year" → "past year"."""
    text = " ".join(words.split())
    text = re.sub(r"^(?:in|during|over|within|for|from|on|of|throughout)\s+(?:the\s+)?", "", text, flags=re.I)
    return re.sub(r"['’]s$", "", text)


def _without(question: str, start: int, end: int) -> str:
    """The question with the time words cut out and the punctuation around the cut tidied."""
    text = question[:start] + " " + question[end:]
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([?.!,;:])", r"\1", text)
    text = re.sub(r"[,;:]+([?.!,;:])", r"\1", text)
    return text.strip(" ,;:")


_Resolver = Callable[[re.Match[str], str, datetime], _Days | None]


def _form(pattern: str) -> re.Pattern[str]:
    return re.compile(_START + pattern + _POSSESSIVE + _END, re.IGNORECASE)


_COUNT = r"\d{1,4}|" + "|".join(_NUMBERS)
_FORMS: list[tuple[re.Pattern[str], _Resolver]] = [
    (_form(rf"(?:between|from)\s+(?P<a>{POINT})(?:\s+(?:and|to|until|till|through)\s+|\s*[-–—]\s*)(?P<b>{POINT})"),
     _between),
    (_form(rf"since\s+(?P<a>{POINT})"), _since),
    (_form(rf"(?P<prep>before|after|until|till|up\s+to|as\s+of)\s+(?P<a>{POINT})"), _bound),
    (_form(rf"(?:(?:in|over|during|within|for|from)\s+)?(?P<det>(?:the|this)\s+)?(?P<w>past|last)\s+"
           rf"(?:(?P<n>{_COUNT})\s+)?(?P<unit>hour|day|week|month|year)(?P<plural>s)?(?!\s+of\b)"), _rolling),
    (_form(rf"(?:(?:earlier|later)\s+)?(?:(?:in|during|from|over|for)\s+)?(?P<a>{RELATIVE})(?!['’]s\s+of\b|\s+of\b)"),
     _relative),
    (_form(rf"(?:(?P<prep>on|of|for|from)\s+)?(?P<a>{DAY_DATE})"), _standalone),
    (_form(rf"(?:(?P<prep>in|during|throughout|of|for|from)\s+)?(?:(?P<mod>early|late|mid)[\s-]+)?"
           rf"(?P<a>{MONTH_YEAR}|{YEAR})"), _standalone),
    (_form(rf"(?:(?P<prep>in|during|throughout|from)\s+)?(?:(?P<mod>early|late|mid)[\s-]+)?(?P<a>{MONTH})"),
     _standalone),
]  # fmt: skip
