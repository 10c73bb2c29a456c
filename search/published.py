"""When each article was published, held in memory: what the time features filter, sort and count by.

Read once when a searcher opens (`Store.published_dates`) and kept as arrays, so a per-question `as_of`
or a date range from the question's words costs a comparison over an array, not an SQL query.

How a stored `published` value is read (the rules every time feature follows):

- its **day** is the calendar date as written (`2020-03-13T23:30:00-05:00` is the 13th): the date
  filters (`from`/`to`, time words, `when`) and the day facets use it, as `Store.passage_ids_where` does;
- its **instant** is the moment in UTC: a datetime with an offset is converted, one without is UTC, and a
  date without a time counts as the start of that day (UTC). So with `as_of` set, an article dated on
  as_of's day (or before) is kept whatever the hour, and one stamped later than as_of to the second is
  cut; sorting newest first compares instants;
- an **undated** article (no `published`, or one that no longer parses) has neither. `as_of` keeps it
  (nothing says it did not exist yet), any date range leaves it out, and newest-first sorts it last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

EPOCH_DAY = date(1970, 1, 1).toordinal()
UNDATED = np.iinfo(np.int64).min  # instant and day of an undated article; below any real one


@dataclass(frozen=True, slots=True)
class Published:
    """One article's publication: its day as written and its instant in UTC seconds."""

    day: date
    instant: int


def read_published(value: str | None) -> Published | None:
    """`published` as stored (ISO date or datetime) → its day and instant; None when undated or unreadable."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
        if len(value) <= 10:
            moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        return None
    return Published(day, instant_of(moment))


def day_number(day: date) -> int:
    """Days since 1970-01-01, the unit of the day arrays."""
    return day.toordinal() - EPOCH_DAY


def instant_of(moment: datetime) -> int:
    """An aware datetime as the seconds the instant arrays hold (rounded down: a cut at 10:00:00.5 keeps
    an article stamped 10:00:00)."""
    return int(moment.timestamp() // 1)


class PublicationTimes:
    """Publication day and instant of every article, and of every passage through its article."""

    def __init__(
        self, passage_ids: np.ndarray, passage_articles: Sequence[str], published: Mapping[str, str | None]
    ) -> None:
        self.passage_ids = passage_ids  # ascending, as the store lists them
        self.article_ids = list(dict.fromkeys(passage_articles))
        position = {article_id: i for i, article_id in enumerate(self.article_ids)}
        self.article_instants = np.full(len(self.article_ids), UNDATED, dtype=np.int64)
        self.article_days = np.full(len(self.article_ids), UNDATED, dtype=np.int64)
        for article_id, value in published.items():
            at = position.get(article_id)
            when = read_published(value) if at is not None else None
            if when is not None:
                self.article_instants[at] = when.instant
                self.article_days[at] = day_number(when.day)
        self.position = position
        # The article (its position in `article_ids`) of every passage, and each article's first passage.
        self.owners = np.fromiter((position[a] for a in passage_articles), dtype=np.int64, count=len(passage_articles))
        self.first_passages = passage_ids[np.unique(self.owners, return_index=True)[1]]
        self.passage_instants = self.article_instants[self.owners]
        self.passage_days = self.article_days[self.owners]
        dated = self.article_instants[self.article_instants != UNDATED]
        self.latest = int(dated.max()) if len(dated) else None

    def cuts(self, until: datetime) -> bool:
        """Whether an `as_of` of `until` leaves any article out (else it need not filter at all)."""
        return self.latest is not None and self.latest > instant_of(until)

    def passage_mask(self, until: datetime | None, first: date | None, last: date | None) -> np.ndarray:
        """Which passages (in `passage_ids` order) are published at or before `until` (undated ones
        are) and, when a day is given, on days `first`…`last` (undated ones are not)."""
        keep = np.ones(len(self.passage_ids), dtype=bool)
        if until is not None:
            keep &= self.passage_instants <= instant_of(until)
        if first is not None or last is not None:
            days = self.passage_days
            keep &= days != UNDATED
            if first is not None:
                keep &= days >= day_number(first)
            if last is not None:
                keep &= days <= day_number(last)
        return keep

    def articles_in(self, passage_mask: np.ndarray | None) -> np.ndarray:
        """Which articles (in `article_ids` order) have a passage `passage_mask` allows (None: all do)."""
        if passage_mask is None:
            return np.ones(len(self.article_ids), dtype=bool)
        kept = np.zeros(len(self.article_ids), dtype=bool)
        kept[self.owners[passage_mask]] = True
        return kept

    def instant(self, article_id: str) -> int | None:
        """The article's instant (UTC seconds), None when undated or unknown."""
        at = self.position.get(article_id)
        if at is None or self.article_instants[at] == UNDATED:
            return None
        return int(self.article_instants[at])

    def day(self, article_id: str) -> int | None:
        """The article's day number (`day_number`), None when undated or unknown."""
        at = self.position.get(article_id)
        if at is None or self.article_days[at] == UNDATED:
            return None
        return int(self.article_days[at])

    def days(self, article_ids: Sequence[str]) -> np.ndarray:
        """The articles' day numbers, `UNDATED` for an undated or unknown one."""
        at = np.fromiter((self.position.get(a, -1) for a in article_ids), dtype=np.int64, count=len(article_ids))
        return np.where(at >= 0, self.article_days[np.maximum(at, 0)], UNDATED)

    def published_array(self, article_ids: Sequence[str]) -> np.ndarray:
        """The articles' instants as datetime64[s] (UTC), NaT for an undated or unknown one."""
        at = np.fromiter((self.position.get(a, -1) for a in article_ids), dtype=np.int64, count=len(article_ids))
        instants = np.where(at >= 0, self.article_instants[np.maximum(at, 0)], UNDATED)
        out = instants.astype("datetime64[s]")
        out[instants == UNDATED] = np.datetime64("NaT")
        return out

    def newest_first(self, article_ids: Sequence[str]) -> list[str]:
        """`article_ids` newest first; equal instants by id, undated ones last."""
        instants = {a: self.instant(a) for a in article_ids}
        return sorted(article_ids, key=lambda a: (instants[a] is None, -(instants[a] or 0), a))
