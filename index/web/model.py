"""Records that cross module lines in `index.web`: what a fetch returned, what a feed or sitemap listed.

Plain data, no I/O. Every way a fetch can fail is a `FetchFailure` with a `kind` from FAILURE_KINDS,
so reports can count failures by kind and name each one with its URL and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from index.model import Article

FailureKind = Literal[
    "bad_url",  # not http(s), no host: never requested
    "disallowed",  # robots.txt says no
    "robots_unreachable",  # robots.txt answered 5xx or not at all: nothing on that host is fetched for now
    "http_status",  # 4xx, or 5xx after the retries
    "rate_limited",  # 429/503 whose Retry-After is longer than we wait in one run
    "timeout",  # connect or read timeout, after the retries
    "deadline",  # the request as a whole took longer than its wall-clock deadline
    "network",  # refused, reset, DNS, TLS
    "too_large",  # the body passed its size cap (counted as decompressed)
    "redirects",  # a loop, or more redirects than we follow
    "bad_content",  # not what was asked for (a PDF for a page, an unknown Content-Encoding)
    "malformed",  # a feed or sitemap that cannot be parsed
    "left_for_later",  # not tried this run: its host asked us to wait past the run
]
FAILURE_KINDS: tuple[str, ...] = get_args(FailureKind)
# Worth trying again in a later run; the others will fail the same way until something changes.
TRANSIENT_KINDS = frozenset({"robots_unreachable", "rate_limited", "timeout", "deadline", "network", "left_for_later"})


@dataclass(slots=True)
class Traffic:
    """What fetching cost: requests sent (robots.txt, redirects and retries included) and bytes received."""

    requests: int = 0
    bytes: int = 0

    def add(self, other: Traffic) -> None:
        self.requests += other.requests
        self.bytes += other.bytes


@dataclass(slots=True, frozen=True)
class Validators:
    """What we remember of a response to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # for servers that ignore conditional requests: same body, not modified

    @property
    def conditional(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(slots=True)
class Fetched:
    """A 200 response's body (decoded from its Content-Encoding), from `final_url` after redirects."""

    url: str
    final_url: str
    body: bytes
    content_type: str
    validators: Validators
    traffic: Traffic = field(default_factory=Traffic)


@dataclass(slots=True)
class NotModified:
    """A 304, or a 200 with the body we already had (`why` says which)."""

    url: str
    final_url: str
    validators: Validators
    why: Literal["304", "same body"]
    traffic: Traffic = field(default_factory=Traffic)


@dataclass(slots=True)
class FetchFailure:
    """Why `url` gave nothing usable. `retry_at` (epoch seconds) is when the host said to come back."""

    url: str
    kind: FailureKind
    reason: str
    traffic: Traffic = field(default_factory=Traffic)
    retry_at: float | None = None

    @property
    def transient(self) -> bool:
        if self.kind == "http_status":
            return self.reason.startswith("HTTP 5")  # a 404 stays a 404; a 500 may pass
        return self.kind in TRANSIENT_KINDS

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"url": self.url, "kind": self.kind, "reason": self.reason}


FetchResult = Fetched | NotModified | FetchFailure


@dataclass(slots=True, frozen=True)
class ListedPage:
    """An article URL a feed or sitemap lists. `updated` (ISO 8601, UTC) is the listing's stamp for it;
    `fallback` is the feed's own entry as an article, used when the page cannot be fetched."""

    url: str
    updated: str | None = None
    fallback: Article | None = None


@dataclass(slots=True)
class Listing:
    """What one feed or sitemap gave: article pages, child sitemaps (of a sitemap index), and problems
    met in it that did not stop the rest (an entry without a link, a feed recovered from bad XML)."""

    pages: list[ListedPage] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
