"""What alerts are made of: the spec a user gives, the stored alert, its hits, a check's report, its errors."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import ClassVar
from urllib.parse import urlsplit

from index.errors import InvalidQueryError, NewsdeskError
from search.searcher import MODES, Filters

FIRST_PAGE = 10  # an alert watches the articles on its search's first page
BACKLOG_DEPTH = 100  # results recorded as the backlog at creation: an old article rising from below stays old
NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")


class AlertNotFoundError(NewsdeskError):
    status = 404
    kind = "not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no alert named {name!r} — `newsdesk alerts list` shows the alerts")
        self.name = name


class AlertExistsError(NewsdeskError):
    status = 409
    kind = "conflict"

    def __init__(self, name: str) -> None:
        super().__init__(f"an alert named {name!r} exists already; remove it first or choose another name")
        self.name = name


class AlertsBusyError(NewsdeskError):
    """Another check held the alerts' lock for longer than this one would wait."""

    status: ClassVar[int] = 409
    kind: ClassVar[str] = "busy"


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """A standing search as a user asks for it: a slug name, a query, filters, a mode and an optional webhook."""

    name: str
    query: str
    sources: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    mode: str = "hybrid"
    webhook: str | None = None

    def checked(self) -> AlertSpec:
        """This spec with its query tidied, or InvalidQueryError naming what to fix."""
        if not NAME.fullmatch(self.name):
            raise InvalidQueryError(
                f"alert name {self.name!r} is not a slug: use 1–64 lowercase letters, digits, '-' or '_', "
                "starting and ending with a letter or digit (e.g. 'tram-line')"
            )
        query = " ".join(self.query.split())
        if not query:
            raise InvalidQueryError("the alert's query is empty; give the words to watch for")
        if self.mode not in MODES:
            raise InvalidQueryError(f"unknown mode {self.mode!r}; choose from {', '.join(MODES)}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidQueryError(f"from ({self.date_from}) is after to ({self.date_to})")
        if self.webhook is not None:
            try:
                parts = urlsplit(self.webhook)
                valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            except ValueError:  # e.g. an unclosed IPv6 bracket
                valid = False
            if not valid:
                raise InvalidQueryError(
                    f"webhook {self.webhook!r} is not an http(s) URL; give one like https://hooks.example.com/news"
                )
        sources = tuple(s for s in self.sources if s)
        return replace(self, query=query, sources=sources)

    @property
    def filters(self) -> Filters:
        return Filters(sources=self.sources, date_from=self.date_from, date_to=self.date_to)


@dataclass(slots=True)
class Alert:
    """A stored alert. `watermark` is when the index it was created on was built: articles first seen
    before it are backlog. `hits` counts its reports, `undelivered` those whose webhook POST has not
    succeeded (pending a retry, or failed)."""

    name: str
    query: str
    sources: list[str]
    date_from: str | None
    date_to: str | None
    mode: str
    webhook: str | None
    created: str
    watermark: str
    last_checked: str | None = None
    hits: int = 0
    undelivered: int = 0

    @property
    def spec(self) -> AlertSpec:
        as_date = lambda value: date.fromisoformat(value) if value else None  # noqa: E731
        return AlertSpec(
            self.name,
            self.query,
            tuple(self.sources),
            as_date(self.date_from),
            as_date(self.date_to),
            self.mode,
            self.webhook,
        )

    def redacted(self) -> Alert:
        """This alert with its webhook cut to scheme and host: webhook paths often carry a secret."""
        if not self.webhook:
            return self
        parts = urlsplit(self.webhook)
        return replace(self, webhook=f"{parts.scheme}://{parts.netloc}/…")


@dataclass(slots=True)
class Hit:
    """One article reported for one alert, with how far its delivery got.
    `webhook` is "none" (the alert has none), "pending" (to be POSTed, or retried at the next check),
    "delivered" or "failed" (gave up after several checks; `alerts check --retry-failed` tries again)."""

    alert: str
    query: str
    article_id: str
    title: str
    url: str | None
    source: str | None
    published: str | None
    score: float
    story_id: str | None
    matched_at: str
    webhook: str = "none"
    webhook_error: str | None = None
    id: int = 0  # the store's row id

    def line(self) -> dict[str, object]:
        """What is delivered, to the lines file and as the webhook's JSON body."""
        return {
            "alert": self.alert,
            "query": self.query,
            "article_id": self.article_id,
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "published": self.published,
            "score": self.score,
            "story_id": self.story_id,
            "matched_at": self.matched_at,
        }


@dataclass(slots=True)
class AlertDetail:
    """An alert and its latest hits, most recent first."""

    alert: Alert
    hits: list[Hit]


@dataclass(slots=True)
class DeliveryProblem:
    """A hit not delivered somewhere. `final`: given up (webhook failed for good); else retried next check."""

    alert: str
    article_id: str
    target: str  # "file" or "webhook"
    error: str
    final: bool = False


@dataclass(slots=True)
class CheckReport:
    """What one check did: alerts searched, new hits, lines written, webhook POSTs that succeeded, and
    every problem (a failed search, a line not written, a POST that failed) by name."""

    checked: int = 0
    new: list[Hit] = field(default_factory=list)
    written: int = 0
    posted: int = 0
    problems: list[DeliveryProblem] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # {"alert": name, "error": why its search failed}
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.errors

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def now_iso() -> str:
    """The current UTC time to the second, the form the index stamps `first_seen` in."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def parse_time(value: str) -> datetime:
    """An ISO time as an aware datetime (a naive one is UTC, as the index writes them)."""
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
