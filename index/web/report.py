"""What following the web cost and gave, per source: for the build report and the update's closing note."""

from __future__ import annotations

from dataclasses import dataclass, field

from index.web.model import FetchFailure, FetchResult, NotModified


@dataclass(slots=True)
class SourceReport:
    """One [[source]] of sources.toml: its feeds and sitemaps and the pages they listed."""

    name: str
    requests: int = 0  # every request sent: robots.txt, redirects and retries included
    bytes: int = 0  # body bytes received over the wire (compressed, as sent; headers not counted)
    not_modified: int = 0  # answered 304
    unchanged: int = 0  # answered 200 with the body we already had
    listings: int = 0  # feeds and sitemaps fetched and parsed (new content)
    articles: int = 0  # pages extracted with their full text
    summaries: int = 0  # feed summaries stored instead of a page that could not be had (marked on the article)
    skipped: int = 0  # pages with no article and no feed summary to fall back on
    waiting: int = 0  # pages due but left for a later run (over the per-run page budget)
    problems: list[dict[str, str]] = field(default_factory=list)  # inside a listing, not stopping it
    failures: list[FetchFailure] = field(default_factory=list)

    def count(self, result: FetchResult) -> None:
        """Add a fetch's traffic, and its outcome when that is a 304, an unchanged body or a failure."""
        self.requests += result.traffic.requests
        self.bytes += result.traffic.bytes
        if isinstance(result, NotModified):
            if result.why == "304":
                self.not_modified += 1
            else:
                self.unchanged += 1
        elif isinstance(result, FetchFailure):
            self.failures.append(result)

    def as_dict(self) -> dict[str, object]:
        counts = {name: getattr(self, name) for name in _COUNTS}
        failures = [failure.as_dict() for failure in self.failures]
        return {"name": self.name, **counts, "problems": self.problems, "failures": failures}


_COUNTS = ("requests", "bytes", "not_modified", "unchanged", "listings", "articles", "summaries", "skipped", "waiting")


@dataclass(slots=True)
class WebReport:
    sources: list[SourceReport]
    seconds: float = 0.0
    committed: int = 0  # page outcomes acknowledged by `WebRun.commit`

    def total(self, name: str) -> int:
        """The sum of one count (``requests``, ``bytes``, ``not_modified``...) over the sources."""
        return sum(getattr(source, name) for source in self.sources)

    @property
    def failures(self) -> list[FetchFailure]:
        return [failure for source in self.sources for failure in source.failures]

    def as_dict(self) -> dict[str, object]:
        totals = {name: self.total(name) for name in _COUNTS}
        return {
            **totals,
            "failures": len(self.failures),
            "seconds": self.seconds,
            "committed": self.committed,
            "sources": [source.as_dict() for source in self.sources],
        }

    def named(self) -> set[str]:
        """The URLs `lines` names with a failure or a problem (the build report does not repeat their skips)."""
        return {f.url for f in self.failures} | {p["url"] for s in self.sources for p in s.problems}

    def warnings(self) -> list[str]:
        """One line per source with failures: the first one named, the rest counted (all are in `lines`).
        URLs left for a later run because their host asked us to wait are not failures of ours to mail."""
        found = []
        for source in self.sources:
            failed = [failure for failure in source.failures if failure.kind != "left_for_later"]
            if failed:
                more = len(failed) - 1
                tail = f" (and {_count(more, 'more failure')}, see the report)" if more else ""
                found.append(f"web source {source.name}: {failed[0].url}: {failed[0]}{tail}")
        return found

    def lines(self, limit: int = 50) -> list[str]:
        """The report as a person reads it: totals, one line per source, then each failure by name."""
        lines = [f"web: {_summary(self)}, {self.seconds:.1f} s"]
        lines += [f"  {source.name}: {_summary(source)}" for source in self.sources]
        named = [f"  failed ({s.name}) {f.url}: {f}" for s in self.sources for f in s.failures]
        named += [f"  problem ({s.name}) {p['url']}: {p['problem']}" for s in self.sources for p in s.problems]
        lines += named[:limit]
        if len(named) > limit:
            lines.append(f"  … and {len(named) - limit} more (see --json)")
        return lines


def _summary(counts: SourceReport | WebReport) -> str:
    def get(name: str) -> int:
        return counts.total(name) if isinstance(counts, WebReport) else getattr(counts, name)

    parts = [
        _count(get("requests"), "request"),
        _size(get("bytes")),
        f"{get('not_modified')} not modified (304)",
        f"{get('unchanged')} unchanged",
        _count(get("articles"), "article"),
        f"{get('summaries')} from feed summaries",
        _count(len(counts.failures), "failure"),
    ]
    if get("waiting"):
        parts.append(f"{get('waiting')} pages left for the next run")
    return ", ".join(parts)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _size(count: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"
