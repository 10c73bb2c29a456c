"""The polite HTTP client: every request newsdesk sends to the web goes through `Fetcher.fetch`.

For each URL, and again for each redirect: http(s) only; robots.txt of its origin obeyed; the host's
pace kept (one request at a time, `min_interval` or Crawl-delay between two); conditional headers
from the stored validators; connect and read timeouts and a wall-clock deadline on the request; the
body read as a stream and dropped at its size cap (counted decompressed, so a gzip bomb stops there).
429 and 503 wait for their Retry-After (up to `max_retry_after`; beyond, the URL is left for a later
run with the time the host gave); other 5xx, timeouts and dropped connections are retried a few times
with exponential backoff and jitter. Redirects are followed here, never by httpx, at most
`max_redirects`. Whatever happens comes back as a result — `Fetched`, `NotModified` or a named
`FetchFailure` — never as an exception.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import random
import time
from dataclasses import dataclass

import httpx

from index.web.hosts import HostPacer, origin_of, resolve_link, url_problem
from index.web.model import Fetched, FetchFailure, FetchResult, NotModified, Traffic, Validators
from index.web.responses import BadContent, TooLarge, read_body, retry_after
from index.web.robots import MAX_ROBOTS_BYTES, RobotsAnswer, RobotsCache
from index.web.state import FetchState
from index.web.transport import deadline, deadline_transport

REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(slots=True, frozen=True)
class FetchOptions:
    """How patient and how polite to be. Defaults are for the open web; tests shorten the times."""

    min_interval: float = 5.0  # seconds between two requests to one host (Crawl-delay may ask more)
    max_crawl_delay: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 60.0  # wall-clock seconds for one request, however the bytes trickle in
    retries: int = 3  # further attempts after a 5xx, a timeout or a dropped connection
    backoff: float = 2.0  # seconds before the first retry; doubled for each next one, with jitter
    max_retry_after: float = 120.0  # longest Retry-After waited for within a run
    max_redirects: int = 5
    robots_ttl: float = 24 * 3600.0
    max_page_bytes: int = 5 * 1024 * 1024
    max_feed_bytes: int = 10 * 1024 * 1024
    max_sitemap_bytes: int = 50 * 1024 * 1024  # decompressed


def user_agent(contact: str) -> str:
    try:
        version = importlib.metadata.version("newsdesk")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        version = "0"
    return f"newsdesk/{version} (+{contact})"


@dataclass(slots=True)
class _Answer:
    status: int
    headers: httpx.Headers
    body: bytes = b""


@dataclass(slots=True)
class _Retry:
    """A try that failed: retry after `wait` seconds, or (None) give up with `failure` now."""

    failure: FetchFailure
    wait: float | None


class Fetcher:
    """One client for a run: keeps each host's pace and robots.txt, counts every request and byte."""

    def __init__(self, contact: str, state: FetchState, options: FetchOptions | None = None) -> None:
        self.options = options or FetchOptions()
        self.user_agent = user_agent(contact)
        self.pacer = HostPacer(self.options.min_interval, self.options.max_crawl_delay)
        self.robots = RobotsCache(state, self._fetch_robots, self.options.robots_ttl)
        self.totals = Traffic()
        timeout = httpx.Timeout(
            connect=self.options.connect_timeout,
            read=self.options.read_timeout,
            write=self.options.read_timeout,
            pool=self.options.connect_timeout,
        )
        # Accept-Encoding is ours alone: bodies are decoded here, within the size cap (see _read).
        headers = {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"}
        self._client = httpx.Client(
            transport=deadline_transport(), headers=headers, timeout=timeout, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, accept: str, max_bytes: int, known: Validators | None = None) -> FetchResult:
        """GET `url` politely; `known` makes it conditional (and a 200 with the same body a NotModified)."""
        traffic = Traffic()
        try:
            return self._fetch(url, accept, max_bytes, known, traffic)
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:  # a URL only httpx finds unusable
            return FetchFailure(url, "bad_url", f"{type(exc).__name__}: {exc}", traffic)
        except Exception as exc:  # one odd answer must not stop the other sources
            return FetchFailure(url, "network", f"unexpected {type(exc).__name__}: {exc}", traffic)
        finally:
            self.totals.add(traffic)

    def _fetch(self, url: str, accept: str, max_bytes: int, known: Validators | None, traffic: Traffic) -> FetchResult:
        problem = url_problem(url)
        if problem:
            return FetchFailure(url, "bad_url", problem, traffic)
        headers = {"Accept": accept}
        if known and known.etag:
            headers["If-None-Match"] = known.etag
        if known and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        visited = [url]
        current = url
        while True:
            origin = origin_of(current)
            rules = self.robots.rules_for(origin, traffic)
            if rules.unreachable:
                return FetchFailure(url, "robots_unreachable", f"{rules.unreachable}; {current} not fetched", traffic)
            if not rules.allows(current):
                return FetchFailure(url, "disallowed", f"robots.txt of {origin} disallows {current}", traffic)
            self.pacer.set_crawl_delay(origin, rules.crawl_delay)
            answer = self._request(current, headers, max_bytes, traffic)
            if isinstance(answer, FetchFailure):
                answer.url = url
                return answer
            if answer.status in REDIRECTS:
                target = self._redirect_target(url, current, answer, visited, traffic)
                if isinstance(target, FetchFailure):
                    return target
                visited.append(current := target)
                continue
            return self._result(url, current, answer, known, traffic)

    def _redirect_target(
        self, url: str, current: str, answer: _Answer, visited: list[str], traffic: Traffic
    ) -> str | FetchFailure:
        location = answer.headers.get("location")
        if not location:
            return FetchFailure(url, "http_status", f"HTTP {answer.status} from {current} without a Location", traffic)
        target, problem = resolve_link(current, location)
        if problem:
            return FetchFailure(url, "bad_url", f"redirected to {target or location.strip()}: {problem}", traffic)
        if target in visited:
            return FetchFailure(url, "redirects", "redirect loop: " + " → ".join([*visited, target]), traffic)
        if len(visited) > self.options.max_redirects:
            return FetchFailure(
                url, "redirects", f"more than {self.options.max_redirects} redirects: " + " → ".join(visited), traffic
            )
        return target

    def _result(self, url: str, final: str, answer: _Answer, known: Validators | None, traffic: Traffic) -> FetchResult:
        if answer.status == 304:
            if known is None or not known.conditional:
                reason = f"HTTP 304 from {final} to a request that was not conditional"
                return FetchFailure(url, "http_status", reason, traffic)
            return NotModified(url, final, known, "304", traffic)
        if answer.status not in (200, 203):
            return FetchFailure(url, "http_status", f"HTTP {answer.status} from {final}", traffic)
        validators = Validators(
            etag=answer.headers.get("etag"),
            last_modified=answer.headers.get("last-modified"),
            body_hash=hashlib.sha256(answer.body).hexdigest(),
        )
        if known and known.body_hash == validators.body_hash:
            return NotModified(url, final, validators, "same body", traffic)
        content_type = answer.headers.get("content-type", "").split(";")[0].strip().lower()
        return Fetched(url, final, answer.body, content_type, validators, traffic)

    def _request(
        self, url: str, headers: dict[str, str], max_bytes: int, traffic: Traffic, truncate: bool = False
    ) -> _Answer | FetchFailure:
        """One URL, no redirects followed: paced, retried on 429/503/5xx/timeouts, each try within the deadline."""
        origin = origin_of(url)
        attempts = self.options.retries + 1
        last: _Retry | None = None
        for attempt in range(attempts):
            self.pacer.wait(origin)
            try:
                outcome = self._attempt(url, headers, max_bytes, traffic, truncate, attempt)
            finally:
                self.pacer.done(origin)
            if isinstance(outcome, _Answer):
                return outcome
            if outcome.wait is None:
                return outcome.failure
            last = outcome
            if attempt + 1 < attempts:
                self.pacer.defer(origin, outcome.wait)
        assert last is not None  # attempts >= 1
        last.failure.reason += f" (tried {attempts} times)"
        return last.failure

    def _attempt(
        self, url: str, headers: dict[str, str], max_bytes: int, traffic: Traffic, truncate: bool, attempt: int
    ) -> _Answer | _Retry:
        started = time.monotonic()
        backoff = self.options.backoff * 2**attempt * random.uniform(0.75, 1.25)
        try:
            answer = self._once(url, headers, max_bytes, traffic, truncate)
        except TooLarge as exc:
            return _Retry(FetchFailure(url, "too_large", str(exc), traffic), None)
        except BadContent as exc:
            return _Retry(FetchFailure(url, "bad_content", str(exc), traffic), None)
        except httpx.TimeoutException as exc:
            took = time.monotonic() - started
            if took >= self.options.deadline * 0.99:  # cut short by the deadline (the socket timer may round)
                failure = FetchFailure(url, "deadline", f"no full answer within {self.options.deadline:g} s", traffic)
            else:
                failure = FetchFailure(url, "timeout", f"{type(exc).__name__} after {took:.1f} s", traffic)
            return _Retry(failure, backoff)
        except httpx.HTTPError as exc:
            failure = FetchFailure(url, "network", f"{type(exc).__name__}: {exc}", traffic)
            # A certificate that does not verify will not verify on a second try.
            return _Retry(failure, None if "CERTIFICATE_VERIFY_FAILED" in str(exc) else backoff)
        if answer.status in (429, 503):
            asked = retry_after(answer.headers.get("retry-after"))
            wait = backoff if asked is None else asked
            reason = f"HTTP {answer.status}, asked to wait {wait:.0f} s"
            failure = FetchFailure(url, "rate_limited", reason, traffic, retry_at=time.time() + wait)
            if wait > self.options.max_retry_after:  # longer than a run waits: the host is left for later
                self.pacer.defer(origin_of(url), wait)
                return _Retry(failure, None)
            return _Retry(failure, wait)
        if 500 <= answer.status < 600:
            return _Retry(FetchFailure(url, "http_status", f"HTTP {answer.status} from {url}", traffic), backoff)
        return answer

    def _once(self, url: str, headers: dict[str, str], max_bytes: int, traffic: Traffic, truncate: bool) -> _Answer:
        traffic.requests += 1
        with deadline(self.options.deadline), self._client.stream("GET", url, headers=headers) as response:
            if response.status_code not in (200, 203):
                return _Answer(response.status_code, response.headers)  # the body of a non-answer is not read
            declared = response.headers.get("content-length", "")
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            if declared.isdigit() and int(declared) > max_bytes and encoding == "identity" and not truncate:
                raise TooLarge(f"{url} declares {int(declared):,} bytes, over the {max_bytes:,}-byte cap")
            body = read_body(response, encoding, max_bytes, traffic, truncate)
            return _Answer(response.status_code, response.headers, body)

    def _fetch_robots(self, origin: str) -> RobotsAnswer:
        """robots.txt of `origin`, following redirects to any host (robots.txt itself is always allowed)."""
        traffic = Traffic()
        current, visited = f"{origin}/robots.txt", [f"{origin}/robots.txt"]
        while True:
            answer = self._request(current, {"Accept": "text/plain"}, MAX_ROBOTS_BYTES, traffic, truncate=True)
            if isinstance(answer, FetchFailure):
                return RobotsAnswer(None, problem=str(answer), traffic=traffic)
            location = answer.headers.get("location")
            if answer.status not in REDIRECTS or not location or len(visited) > self.options.max_redirects:
                return RobotsAnswer(answer.status, answer.body, traffic=traffic)
            current, problem = resolve_link(current, location)
            if problem or current in visited:
                return RobotsAnswer(404, traffic=traffic)  # RFC 9309: an unfollowable redirect is "unavailable"
            visited.append(current)
