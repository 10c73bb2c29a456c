"""What a host is, and how often we may speak to it.

A host is an origin — scheme, host name and port — as robots.txt is (RFC 9309): two ports of one
machine are two hosts, each with its own robots.txt and its own pace. We send one request at a time,
so each host has at most one connection from us, and between the end of one request to a host and the
start of the next we leave at least `min_interval` seconds, or the site's Crawl-delay when it asks for
more (up to MAX_CRAWL_DELAY), or longer when it said Retry-After or we are backing off.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from urllib.parse import urldefrag, urljoin, urlsplit

MAX_CRAWL_DELAY = 60.0  # a Crawl-delay above this is read as this: an hour between pages would never finish
# A min_interval under a second is for sites on this machine (tests, benchmarks): anywhere else we leave
# at least this much whatever sources.toml says.
PUBLIC_FLOOR = 1.0
SCHEMES = ("http", "https")


def url_problem(url: str) -> str | None:
    """Why `url` cannot be fetched (not http(s), no host, a bad port), or None when it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises ValueError on a port that is not a number in range
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() not in SCHEMES:
        return f"only http and https are fetched, not {parts.scheme or 'a URL without a scheme'}:"
    if not parts.hostname:
        return "URL has no host"
    if any(c.isspace() or c in '<>"{}|\\^`' for c in parts.hostname):
        return f"host name {parts.hostname!r} has characters a host name cannot have"
    return None


def resolve_link(base: str, link: str) -> tuple[str, str | None]:
    """A link (a feed's or sitemap's entry, a redirect's Location) made absolute against the URL it was found
    at, fragment dropped, and why it cannot be fetched (None when it can). urljoin parses the link first, so
    "http://[bad" raises there: a problem of that link, not of the listing or the fetch."""
    if not link.strip():
        return "", "empty link"
    try:
        url = urldefrag(urljoin(base, link.strip())).url
    except ValueError as exc:
        return "", f"not a valid URL ({exc})"
    return url, url_problem(url)


def listed_link(listing_url: str, link: str) -> tuple[str, str | None]:
    """`resolve_link` for an entry of a feed or sitemap, which must name another page than the listing
    itself (a fragment-only link, "#top", resolves to the listing's own URL)."""
    url, problem = resolve_link(listing_url, link)
    if not problem and url == urldefrag(listing_url).url:
        return url, "links back to the listing itself"
    return url, problem


def origin_of(url: str) -> str:
    """``scheme://host:port`` of a URL that passed `url_problem`, with the default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{port}"


def is_loopback(origin: str) -> bool:
    host = urlsplit(origin).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostPacer:
    """When each host may next be sent a request; `wait` sleeps until then, `done` starts the clock again."""

    def __init__(
        self,
        min_interval: float,
        max_crawl_delay: float = MAX_CRAWL_DELAY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval, self.max_crawl_delay = min_interval, max_crawl_delay
        self._clock, self._sleep = clock, sleep
        self._last_done: dict[str, float] = {}
        self._not_before: dict[str, float] = {}  # Retry-After and backoff
        self._crawl_delay: dict[str, float] = {}

    def interval(self, origin: str) -> float:
        """Seconds left between two requests to `origin`."""
        floor = 0.0 if is_loopback(origin) else PUBLIC_FLOOR
        return max(floor, self.min_interval, min(self._crawl_delay.get(origin, 0.0), self.max_crawl_delay))

    def set_crawl_delay(self, origin: str, seconds: float | None) -> None:
        if seconds is not None and seconds > 0:
            self._crawl_delay[origin] = float(seconds)

    def ready_at(self, origin: str) -> float:
        """The clock time from which a request to `origin` may start."""
        last = self._last_done.get(origin)
        paced = last + self.interval(origin) if last is not None else 0.0
        return max(paced, self._not_before.get(origin, 0.0))

    def seconds_until_ready(self, origin: str) -> float:
        return max(0.0, self.ready_at(origin) - self._clock())

    def defer(self, origin: str, seconds: float) -> None:
        """No request to `origin` for `seconds` from now (the host asked us to wait, or we back off)."""
        self._not_before[origin] = max(self._not_before.get(origin, 0.0), self._clock() + seconds)

    def wait(self, origin: str) -> None:
        delay = self.seconds_until_ready(origin)
        if delay > 0:
            self._sleep(delay)

    def done(self, origin: str) -> None:
        self._last_done[origin] = self._clock()
