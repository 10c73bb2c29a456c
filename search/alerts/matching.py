"""Which articles an alert reports: the backlog taken at creation, and the "new since" rule of a check.

An article on an alert's first page (its search, top 10, its filters and mode) is reported when
1. it is not known to the alert: not in the backlog recorded at creation (the first 100 results then,
   story copies included), not met as old at an earlier check, not reported before; and
2. it was first seen by the index at or after the alert's watermark: the time the index generation the
   alert was created on was built (every article in it was first seen before, every later build after).
An old article that drifts onto the first page later — corrected, or lifted by a removal — fails 2 (its
`first_seen` is kept through corrections and rebuilds) and is remembered as known. Both clocks are whole
seconds: an article first seen in the very second the creation's generation was built, below the
backlog's 100 results then, counts as new if it ever reaches the first page — the one ambiguity, resolved
towards reporting rather than missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.errors import ArticleNotFoundError
from search.alerts.model import BACKLOG_DEPTH, FIRST_PAGE, Alert, AlertSpec, Hit, now_iso, parse_time
from search.searcher import Searcher


@dataclass(slots=True)
class Backlog:
    """What an alert starts with: its watermark and the articles it must never report."""

    watermark: str
    article_ids: list[str]


@dataclass(slots=True)
class Found:
    """One alert's check: the new hits, and the old articles met on its first page (known from now on)."""

    hits: list[Hit] = field(default_factory=list)
    old: list[str] = field(default_factory=list)


def backlog(searcher: Searcher, spec: AlertSpec) -> Backlog:
    """The backlog of a new alert on the searcher's generation. Runs its search (so a bad query fails here)."""
    depth = min(BACKLOG_DEPTH, searcher.settings.max_k)
    response = searcher.search(spec.query, k=depth, mode=spec.mode, filters=spec.filters)
    ids = [result.id for result in response.results]
    ids += [copy.id for result in response.results for copy in result.also]
    return Backlog(str(searcher.manifest.get("built") or now_iso()), ids)


def find_new(searcher: Searcher, alert: Alert, known: set[str], matched_at: str) -> Found:
    """The articles on `alert`'s first page now that it has not reported and that are new to the index."""
    spec = alert.spec
    response = searcher.search(spec.query, k=FIRST_PAGE, mode=spec.mode, filters=spec.filters)
    watermark = parse_time(alert.watermark)
    found = Found()
    for result in response.results:
        if result.id in known:
            continue
        try:
            first_seen = searcher.article(result.id).first_seen
        except ArticleNotFoundError:  # removed since the search: nothing to report
            continue
        if parse_time(first_seen) < watermark:
            found.old.append(result.id)
            continue
        found.hits.append(
            Hit(
                alert=alert.name,
                query=alert.query,
                article_id=result.id,
                title=result.title,
                url=result.url,
                source=result.source,
                published=result.published,
                score=result.score,
                story_id=result.story_id,
                matched_at=matched_at,
                webhook="pending" if alert.webhook else "none",
            )
        )
    return found
