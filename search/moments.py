"""The moment a question is asked (`as_of`) and windows that end at it (`when=7d`).

`as_of` is always handled as an aware UTC datetime. A bare date means the END of that day
(23:59:59.999999 UTC), so "as of 2020-03-13" includes the articles published on the 13th; a datetime
without a zone is read as UTC. `when=<n>h|<n>d|<n>w` is a window of that length ending at `as_of`.

The stretch of calendar days a search is restricted to is a `TimeRange` (inclusive dates, either side
may be open): time words in a question resolve to one (search.time_words), and so does a `when` window,
through the dates it touches.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from index.errors import InvalidTimeError

__all__ = [
    "AS_OF_FORMS",
    "WHEN_FORMS",
    "InvalidTimeError",
    "TimeRange",
    "TimeWindow",
    "parse_as_of",
    "parse_when",
    "window_before",
]

AS_OF_FORMS = "YYYY-MM-DD (the end of that day, UTC) or an ISO 8601 datetime like 2020-03-13T18:30:00Z (no zone = UTC)"
WHEN_FORMS = "<n>h, <n>d or <n>w, such as 24h, 7d or 30d (from 1h up to 3650d)"
MAX_WINDOW = timedelta(days=3650)
MIN_YEAR, MAX_YEAR = 1000, 9998  # keeps "as_of minus a window" and "end of day" inside what datetime can hold

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?")
_WHEN = re.compile(r"(\d{1,6})\s*([hdw])", re.IGNORECASE)
_WHEN_UNITS = {"h": "hour", "d": "day", "w": "week"}
_HOURS = {"hour": 1, "day": 24, "week": 24 * 7}


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Calendar days to search, both ends inclusive; None = open on that side.

    `words` is what the range came from, exactly as the user wrote it (the words of the question, or
    the `when` value); `label` is a short normalized name for it ("this week", "March 2020").
    """

    start: date | None
    end: date | None
    words: str
    label: str

    def contains(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def as_dict(self) -> dict[str, str | None]:
        out = asdict(self)
        for side in ("start", "end"):
            out[side] = out[side] and out[side].isoformat()
        return out


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A stretch of time ending at `as_of`, to the microsecond (aware UTC datetimes)."""

    start: datetime
    end: datetime
    label: str  # "past 7 days"

    def to_range(self, words: str) -> TimeRange:
        """The calendar days this window touches: 7×24 hours before the end of the 13th reach into the 6th."""
        return TimeRange(self.start.date(), self.end.date(), words, self.label)


def parse_as_of(value: str | date | None, *, now: datetime | None = None) -> datetime:
    """`as_of` as an aware UTC datetime. None means now; a date (or YYYY-MM-DD) means the end of that
    day; a naive datetime is UTC. Raises InvalidTimeError for anything else."""
    if value is None:
        return (now or datetime.now(UTC)).astimezone(UTC)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = _end_of_day(value)
    else:
        text = value.strip()
        try:
            if _DATE.fullmatch(text):
                moment = _end_of_day(date.fromisoformat(text))
            elif _DATETIME.fullmatch(text):
                moment = datetime.fromisoformat(text.replace(" ", "T", 1))
            else:
                raise InvalidTimeError("as_of", value, AS_OF_FORMS)
        except ValueError as exc:  # a well-shaped but impossible value: 2020-02-30, 25:00, +99:00
            raise InvalidTimeError("as_of", value, AS_OF_FORMS, str(exc)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise InvalidTimeError("as_of", value, AS_OF_FORMS, f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return moment.astimezone(UTC)


def parse_when(value: str, as_of: datetime) -> TimeWindow:
    """`when` (24h, 7d, 2w…) as the window of that length ending at `as_of`. Raises InvalidTimeError."""
    found = _WHEN.fullmatch(value.strip())
    if not found:
        raise InvalidTimeError("when", value, WHEN_FORMS)
    amount, unit = int(found[1]), _WHEN_UNITS[found[2].lower()]
    if not timedelta(hours=1) <= timedelta(hours=amount * _HOURS[unit]) <= MAX_WINDOW:
        raise InvalidTimeError("when", value, WHEN_FORMS, "outside the allowed length")
    return window_before(as_of, amount, unit)


def window_before(as_of: datetime, amount: int, unit: str) -> TimeWindow:
    """The window of `amount` hours/days/weeks/months/years ending at `as_of` (months and years by the
    calendar: one month before 31 March is the end of February)."""
    if unit in ("month", "year"):
        start = _months_before(as_of, amount * (12 if unit == "year" else 1))
    else:
        start = as_of - timedelta(hours=amount * _HOURS[unit])
    return TimeWindow(start, as_of, _window_label(amount, unit))


def _window_label(amount: int, unit: str) -> str:
    return f"past {unit}" if amount == 1 and unit != "hour" else f"past {amount} {unit}{'s' * (amount != 1)}"


def _months_before(moment: datetime, months: int) -> datetime:
    year, month0 = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)
