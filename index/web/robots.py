"""robots.txt, one per origin (RFC 9309), read with protego and remembered up to 24 hours.

What a robots.txt answer means, as the issue sets it: a 2xx body is parsed and obeyed; a 4xx (there
is none) allows everything; a 5xx, a 429 or no answer at all disallows everything on that host for
now — only for this run, and it is asked again next time. Parsed and 4xx answers are kept in the
fetch state, so a crawler run from cron every few minutes asks each host about once a day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from protego import Protego

from index.web.model import Traffic
from index.web.state import FetchState, RobotsRecord

ROBOTS_TTL = 24 * 3600.0
MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309: parse at least the first 500 KiB; the rest is dropped
ROBOTS_AGENT = "newsdesk"  # the product token robots.txt groups are matched against


@dataclass(slots=True, frozen=True)
class RobotsAnswer:
    """What asking for robots.txt gave: a status and body, or (status None) why there was no answer."""

    status: int | None
    body: bytes = b""
    problem: str = ""
    traffic: Traffic | None = None


@dataclass(slots=True)
class Rules:
    """What one origin's robots.txt lets us do."""

    origin: str
    parser: Protego | None  # None: everything allowed (4xx) or, with `unreachable`, nothing
    unreachable: str | None = None  # why robots.txt could not be read: nothing is fetched from the host

    def allows(self, url: str) -> bool:
        if self.unreachable is not None:
            return False
        return self.parser is None or bool(self.parser.can_fetch(url, ROBOTS_AGENT))

    @property
    def crawl_delay(self) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(ROBOTS_AGENT)
        return float(delay) if delay is not None else None


class RobotsCache:
    """Rules per origin: from memory, else the fetch state when younger than `ttl`, else fetched."""

    def __init__(
        self,
        state: FetchState,
        fetch: Callable[[str], RobotsAnswer],
        ttl: float = ROBOTS_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state, self._fetch, self._ttl, self._clock = state, fetch, ttl, clock
        self._rules: dict[str, Rules] = {}

    def rules_for(self, origin: str, traffic: Traffic) -> Rules:
        """The origin's rules; fetching robots.txt, when needed, adds its cost to `traffic`."""
        if origin in self._rules:
            return self._rules[origin]
        record = self._state.robots(origin)
        if record is None or self._clock() - record.fetched_at > self._ttl:
            answer = self._fetch(origin)
            if answer.traffic is not None:
                traffic.add(answer.traffic)
            if answer.status is None or answer.status >= 500 or answer.status == 429:
                why = answer.problem or f"HTTP {answer.status}"
                rules = Rules(origin, None, unreachable=f"robots.txt of {origin} unreachable ({why})")
                self._rules[origin] = rules  # for this run only: asked again next time
                return rules
            record = RobotsRecord(answer.status, _text(answer.body), self._clock())
            self._state.save_robots(origin, record)
        self._rules[origin] = rules = _rules(origin, record)
        return rules


def _rules(origin: str, record: RobotsRecord) -> Rules:
    if 400 <= record.status < 500:
        return Rules(origin, None)
    return Rules(origin, Protego.parse(record.body))


def _text(body: bytes) -> str:
    return body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
