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
    """Publication day and instant of every article, and of every passage through its article.

    Built from a snapshot's passage map (passage ids ascending, each with its article id as fixed-width
    bytes) without a Python object per passage: articles are numbered in id order (`article_keys`, bytes)
    and looked up by binary search. Deleted passages (`dead`, a mask over the map; still in their segments
    until a compaction) belong to their article but to no mask: no filter, match or count includes them.
    """

    def __init__(
        self,
        passage_ids: np.ndarray,
        passage_articles: np.ndarray,
        published: Mapping[str, str | None],
        dead: np.ndarray | None = None,
    ) -> None:
        self.passage_ids = passage_ids  # ascending, as the passage map lists them
        self.live = np.ones(len(passage_ids), dtype=bool) if dead is None else ~dead
        # The article (its position in `article_keys`) of every passage.
        self.article_keys, self.owners = _number_articles(np.asarray(passage_articles))
        self.article_instants = np.full(len(self.article_keys), UNDATED, dtype=np.int64)
        self.article_days = np.full(len(self.article_keys), UNDATED, dtype=np.int64)
        dated = list(published.items())
        for at, (_, value) in zip(self.positions([a for a, _ in dated]).tolist(), dated, strict=True):
            when = read_published(value) if at >= 0 else None
            if when is not None:
                self.article_instants[at] = when.instant
                self.article_days[at] = day_number(when.day)
        # Each article's first live passage (its first one, for an article with none left).
        first = np.zeros(len(self.article_keys), dtype=np.int64)
        for positions in (np.arange(len(passage_ids)), np.flatnonzero(self.live)):
            articles, at = np.unique(self.owners[positions], return_index=True)
            first[articles] = positions[at]
        self.first_passages = passage_ids[first] if len(passage_ids) else np.empty(0, dtype=np.int64)
        self.passage_instants = self.article_instants[self.owners]
        self.passage_days = self.article_days[self.owners]
        self.live_articles = self.articles_in(self.live)
        instants = self.article_instants[self.live_articles]
        instants = instants[instants != UNDATED]
        self.latest = int(instants.max()) if len(instants) else None

    def positions(self, article_ids: Sequence[str]) -> np.ndarray:
        """Each article's position in `article_keys` (-1 for one the index does not hold)."""
        if not len(article_ids) or not len(self.article_keys):
            return np.full(len(article_ids), -1, dtype=np.int64)
        keys = np.array([a.encode("utf-8") for a in article_ids], dtype=np.bytes_)
        at = np.minimum(np.searchsorted(self.article_keys, keys), len(self.article_keys) - 1)
        return np.where(self.article_keys[at] == keys, at, -1).astype(np.int64)

    def ids_at(self, positions: np.ndarray) -> list[str]:
        """The article ids at `positions` (of `article_keys`)."""
        return [key.decode("utf-8") for key in self.article_keys[positions].tolist()]

    def cuts(self, until: datetime) -> bool:
        """Whether an `as_of` of `until` leaves any article out (else it need not filter at all)."""
        return self.latest is not None and self.latest > instant_of(until)

    def passage_mask(self, until: datetime | None, first: date | None, last: date | None) -> np.ndarray:
        """Which live passages (in `passage_ids` order) are published at or before `until` (undated ones
        are) and, when a day is given, on days `first`…`last` (undated ones are not)."""
        keep = self.live.copy()
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
        """Which articles (in `article_keys` order) have a passage `passage_mask` allows (None: a live one)."""
        if passage_mask is None:
            return self.live_articles
        kept = np.zeros(len(self.article_keys), dtype=bool)
        kept[self.owners[passage_mask]] = True
        return kept

    def instants(self, article_ids: Sequence[str]) -> np.ndarray:
        """The articles' instants (UTC seconds), UNDATED for an undated or unknown one."""
        at = self.positions(article_ids)
        return np.where(at >= 0, self.article_instants[np.maximum(at, 0)], UNDATED) if len(at) else at

    def instant(self, article_id: str) -> int | None:
        """The article's instant (UTC seconds), None when undated or unknown."""
        value = int(self.instants([article_id])[0])
        return None if value == UNDATED else value

    def day(self, article_id: str) -> int | None:
        """The article's day number (`day_number`), None when undated or unknown."""
        value = int(self.days([article_id])[0])
        return None if value == UNDATED else value

    def days(self, article_ids: Sequence[str]) -> np.ndarray:
        """The articles' day numbers, `UNDATED` for an undated or unknown one."""
        at = self.positions(article_ids)
        return np.where(at >= 0, self.article_days[np.maximum(at, 0)], UNDATED) if len(at) else at

    def published_array(self, article_ids: Sequence[str]) -> np.ndarray:
        """The articles' instants as datetime64[s] (UTC), NaT for an undated or unknown one."""
        instants = self.instants(article_ids)
        out = instants.astype("datetime64[s]")
        out[instants == UNDATED] = np.datetime64("NaT")
        return out

    def newest_first(self, article_ids: Sequence[str]) -> list[str]:
        """`article_ids` newest first; equal instants by id, undated ones last."""
        instants = dict(zip(article_ids, self.instants(article_ids).tolist(), strict=True))
        return sorted(article_ids, key=lambda a: (instants[a] == UNDATED, -instants[a], a))


def _number_articles(passage_articles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct article ids of a passage map, sorted, and each passage's position among them. An
    article's passages sit side by side in the map, so only the first of each run is sorted."""
    count = len(passage_articles)
    if count == 0:
        return np.empty(0, dtype="S16"), np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], passage_articles[1:] != passage_articles[:-1])))
    keys, run_owner = np.unique(passage_articles[starts], return_inverse=True)
    owners = np.repeat(run_owner.astype(np.int64), np.diff(np.append(starts, count)))
    return keys, owners
