"""Following the web sources of sources.toml: feeds and sitemaps fetched, the pages they list that are
new (or updated since) fetched and extracted, articles yielded one by one as they are ready.

The entry point and its protocol with the caller, who stores the articles::

    run = follow_web_sources(config, fetch_state_path(index_dir))
    with run:
        with writing(index_dir, encoder) as writer:   # publishes when the block ends without error
            writer.add(run)                           # Article | Skip, as each page is extracted
        run.commit()                                  # only now: the articles are stored and published
    print("\\n".join(run.report.lines()))

(`index.maintenance.update` is that caller; it also removes the summaries `take_superseded` names.)

What is written to the fetch state (`index.web.state`), and when:

1. A feed or sitemap fetched with new content: its validators, and every page it lists that is new or
   whose stamp is newer than ours, as ``due`` — in one transaction, at once. Validators never run ahead
   of the pages: after a kill, the next run's 304 still finds those pages due.
2. Each due page is fetched and extracted and its article yielded. What became of it (stored in full,
   stored from the feed summary, nothing to store, try again later) is only held in memory.
3. `WebRun.commit()` writes those outcomes in one transaction: the acknowledgement that the caller has
   stored everything yielded. Until then every page stays ``due``.

So a run killed anywhere before `commit` loses nothing: its pages are fetched again next time — only
those, as feeds answer 304 and settled pages are left alone — and the build finds the same text
again (no re-embedding). After `commit` nothing repeats. A caller whose build failed does not commit.
robots.txt answers and listing failures are written as they come; they are not articles.

A page that cannot be fetched falls back to its feed entry's summary, marked by a warning on the
article (and counted as ``summaries``); a transient failure (5xx, timeout) is tried again in the next
runs, up to MAX_PAGE_ATTEMPTS, and the summary is replaced by the full text once a try succeeds.
A feed's link and the page's canonical URL may differ (a tracking redirect, a feed proxy): then the
summary stored for the link and the full text that arrives later have different ids. Just before it
yields such a full text, the run names the summary's id in `take_superseded`, so the caller removes it
first (the summary's URLs then pass to the full text).
Hosts are served in turn, the one ready soonest first, so one slow host does not idle the others.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Literal

from index.errors import NewsdeskError
from index.model import Article, Skip
from index.sources import Source, SourcesConfig, SourcesError
from index.web.extract import page_article, summary_article, superseded_summary
from index.web.feeds import list_feed
from index.web.fetcher import Fetcher, FetchOptions
from index.web.hosts import HostPacer, origin_of
from index.web.model import Fetched, FetchFailure, FetchResult, ListedPage, Listing, NotModified
from index.web.report import SourceReport, WebReport
from index.web.sitemaps import list_sitemap
from index.web.state import FetchState, PageOutcome, PageState, PageStatus

DEFAULT_PAGE_BUDGET = 200  # pages fetched per source and run; the rest wait (newest are fetched first)
MAX_PAGE_ATTEMPTS = 3  # runs in a row a page may fail transiently before it is given up
MAX_SITEMAP_DEPTH = 2  # a sitemap index, the sitemaps it lists, and one more level at most
MAX_CHILD_SITEMAPS = 50  # per sitemap index and run
ACCEPT = {
    "feed": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
    "sitemap": "application/xml, text/xml;q=0.9, application/gzip;q=0.5, */*;q=0.1",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.1",
}


@dataclass(slots=True, frozen=True)
class _Task:
    kind: Literal["feed", "sitemap", "page"]
    url: str
    source: int  # index into the run's sources
    page: PageState | None = None
    depth: int = 0


class _HostQueue:
    """Tasks by host; `pop` takes from the host that may be sent a request soonest."""

    def __init__(self, pacer: HostPacer) -> None:
        self._pacer = pacer
        self._queues: dict[str, deque[_Task]] = {}

    def push(self, task: _Task) -> None:
        self._queues.setdefault(origin_of(task.url), deque()).append(task)

    def pop(self) -> _Task | None:
        ready = [origin for origin, queue in self._queues.items() if queue]
        if not ready:
            return None
        return self._queues[min(ready, key=self._pacer.ready_at)].popleft()


class WebRun:
    """One pass over the web sources: iterate it once for articles, then `commit`; see the module doc."""

    def __init__(
        self,
        sources: Sequence[Source],
        contact: str,
        state_path: Path,
        options: FetchOptions,
        page_budget: int = DEFAULT_PAGE_BUDGET,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.report = WebReport([SourceReport(source.name) for source in sources])
        self._sources, self._clock = list(sources), clock
        self.state = FetchState(state_path)
        self.fetcher = Fetcher(contact, self.state, options)
        self.options = self.fetcher.options
        self._queue = _HostQueue(self.fetcher.pacer)
        self._queued: set[str] = set()
        self._budget = [page_budget] * len(self._sources)
        self._outcomes: dict[str, PageOutcome] = {}
        self._superseded: list[str] = []
        self._iterated = False

    def __iter__(self) -> Iterator[Article | Skip]:
        if self._iterated:
            raise NewsdeskError("a WebRun is followed once; start another with follow_web_sources")
        self._iterated = True
        return self._run()

    def __enter__(self) -> WebRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client and the state file; outcomes not committed are dropped (pages stay due)."""
        self.fetcher.close()
        self.state.close()

    @property
    def pending(self) -> int:
        """Pages whose outcome is known but not yet committed."""
        return len(self._outcomes)

    def take_superseded(self) -> list[str]:
        """Ids of feed summaries that the full text about to be yielded replaces under another id (the
        page's canonical URL is not the feed's link), named since the last call; the caller removes those
        it has stored before it takes the next item. A summary never stored is named all the same."""
        taken, self._superseded = self._superseded, []
        return taken

    def listed_pages(self) -> set[str]:
        """Every page URL this run's feeds and sitemaps (and the sitemaps those list) have listed, in this
        run or before: the origins of the articles they gave, which a rebuild carries over."""
        listings = [url for source in self._sources for url in (*source.feeds, *source.sitemaps)]
        return self.state.pages_listed_by(listings)

    def commit(self) -> int:
        """Acknowledge that every article yielded so far is stored: settle their pages in the fetch state.
        Call it after the build that took them has published, never before. Returns how many were settled."""
        outcomes = list(self._outcomes.values())
        self.state.settle_pages(outcomes, self._clock())
        self._outcomes.clear()
        self.report.committed += len(outcomes)
        return len(outcomes)

    def _run(self) -> Iterator[Article | Skip]:
        started = time.perf_counter()
        try:
            for number, source in enumerate(self._sources):
                for url in source.feeds:
                    self._push(_Task("feed", url, number))
                for url in source.sitemaps:
                    self._push(_Task("sitemap", url, number))
            while (task := self._queue.pop()) is not None:
                wait = self.fetcher.pacer.seconds_until_ready(origin_of(task.url))
                if wait > self.options.max_retry_after:
                    yield self._left_for_later(task, wait)
                elif task.kind == "page":
                    yield from self._page(task)
                else:
                    yield from self._listing(task)
        finally:
            self.report.seconds = round(time.perf_counter() - started, 2)

    def _push(self, task: _Task) -> None:
        if task.url not in self._queued:
            self._queued.add(task.url)
            self._queue.push(task)

    def _left_for_later(self, task: _Task, wait: float) -> Article | Skip:
        """Not tried: the host asked us to wait past what a run waits. A page stays due (no outcome is
        recorded), with its feed summary standing in meanwhile; a listing is due again at that time."""
        reason = f"{origin_of(task.url)} asked us to wait {wait:.0f} s more (Retry-After); left for a later run"
        failure = FetchFailure(task.url, "left_for_later", reason)
        report = self.report.sources[task.source]
        report.failures.append(failure)
        if task.kind != "page":
            self.state.listing_failed(task.url, str(failure), next_due=self._clock() + wait)
        elif task.page is not None and not task.page.stored_in_full:
            listed = ListedPage(task.page.url, task.page.updated, task.page.fallback)
            summary = summary_article(listed, str(failure), self._sources[task.source].outlet)
            if summary is not None:
                report.summaries += 1
                return summary
        return Skip(task.url, str(failure))

    # --- feeds and sitemaps -----------------------------------------------------------------------------

    def _listing(self, task: _Task) -> Iterator[Article | Skip]:
        report = self.report.sources[task.source]
        known = self.state.listing(task.url)
        now = self._clock()
        if known and known.next_due > now:
            self.fetcher.pacer.defer(origin_of(task.url), known.next_due - now)  # the host's Retry-After
            yield self._left_for_later(task, known.next_due - now)
            return
        max_bytes = self.options.max_feed_bytes if task.kind == "feed" else self.options.max_sitemap_bytes
        result = self.fetcher.fetch(task.url, ACCEPT[task.kind], max_bytes, known.validators if known else None)
        report.count(result)
        if isinstance(result, Fetched):
            listing = self._parse(task, result)
            if isinstance(listing, Listing):
                report.listings += 1
                for problem in listing.problems:
                    report.problems.append({"url": task.url, "problem": problem})
                    yield Skip(task.url, problem)
                self.state.record_listing(task.url, result.validators, now, listing.pages, listing.sitemaps)
            else:
                report.failures.append(listing)
                result = listing
        if isinstance(result, NotModified):
            self.state.listing_unchanged(task.url, result.validators, now)
        elif isinstance(result, FetchFailure):
            later = result.retry_at if result.kind == "rate_limited" and result.retry_at else 0.0
            self.state.listing_failed(task.url, str(result), next_due=later)
            yield Skip(task.url, f"{task.kind} not read: {result}")
        self._queue_what_it_lists(task)

    def _parse(self, task: _Task, fetched: Fetched) -> Listing | FetchFailure:
        try:
            if task.kind == "feed":
                return list_feed(fetched.body, fetched.final_url)
            return list_sitemap(fetched.body, fetched.final_url, self.options.max_sitemap_bytes)
        except Exception as exc:  # a parser bug on one listing must not stop the others
            return FetchFailure(task.url, "malformed", f"{task.kind} parser failed: {type(exc).__name__}: {exc}")

    def _queue_what_it_lists(self, task: _Task) -> None:
        """Child sitemaps and due pages, as the state knows them: fresh from this fetch, or from before
        (a 304, a failure, a run killed before its commit)."""
        if task.kind == "sitemap" and task.depth < MAX_SITEMAP_DEPTH:
            for child in self.state.children(task.url)[:MAX_CHILD_SITEMAPS]:
                self._push(_Task("sitemap", child, task.source, depth=task.depth + 1))
        pages = self.state.due_pages(task.url, self._budget[task.source])
        for page in pages:
            self._push(_Task("page", page.url, task.source, page=page))
        self._budget[task.source] -= len(pages)
        self.report.sources[task.source].waiting += self.state.count_due(task.url) - len(pages)

    # --- article pages ----------------------------------------------------------------------------------

    def _page(self, task: _Task) -> Iterator[Article | Skip]:
        page = task.page
        assert page is not None
        report, outlet = self.report.sources[task.source], self._sources[task.source].outlet
        listed = ListedPage(page.url, page.updated, page.fallback)
        known = page.validators if page.validators.conditional or page.validators.body_hash else None
        result: FetchResult = self.fetcher.fetch(page.url, ACCEPT["page"], self.options.max_page_bytes, known)
        report.count(result)
        if isinstance(result, NotModified):
            outcome = PageOutcome(page.url, "done", result.validators)  # the article we stored is current
        elif isinstance(result, Fetched):
            item = _extracted(result, listed, outlet)
            summary = summary_article(listed, item.reason, outlet) if isinstance(item, Skip) else None
            if isinstance(item, Article):
                report.articles += 1
                outcome = PageOutcome(page.url, "done", result.validators)
                stale = superseded_summary(listed, item, outlet)
                if stale:
                    self._superseded.append(stale)
            elif summary is not None:
                report.summaries += 1
                item, outcome = summary, PageOutcome(page.url, "summary", result.validators)
            else:
                report.skipped += 1
                outcome = PageOutcome(page.url, "gone", result.validators, error=item.reason)
            yield item
        else:
            attempts = page.attempts + 1
            final = not result.transient or attempts >= MAX_PAGE_ATTEMPTS
            # A page stored in full before (listed again as updated) keeps its text: a summary would replace it.
            stored_before = page.stored_in_full
            summary = None if stored_before else summary_article(listed, str(result), outlet)
            if summary is not None:
                report.summaries += 1
                yield summary
            else:
                yield Skip(page.url, f"page not fetched: {result}")
            settled: PageStatus = "done" if stored_before else "summary" if summary else "gone"
            outcome = PageOutcome(page.url, settled if final else "due", None, attempts, str(result))
        # Reached only once the consumer has taken the item (it asks for the next): then it is theirs.
        self._outcomes[page.url] = outcome


def _extracted(fetched: Fetched, listed: ListedPage, outlet: str | None) -> Article | Skip:
    try:
        return page_article(fetched, listed, outlet)
    except Exception as exc:  # as index.readers does: an extractor bug on one page is a Skip
        return Skip(listed.url, f"extraction failed: {type(exc).__name__}: {exc}")


def follow_web_sources(
    config: SourcesConfig,
    state_path: Path,
    options: FetchOptions | None = None,
    page_budget: int = DEFAULT_PAGE_BUDGET,
) -> WebRun:
    """A run over `config`'s feeds and sitemaps, keeping its fetch state in `state_path` (SQLite; by
    convention ``<index>/fetch_state.sqlite``). `options` tunes timeouts and caps; the pace between two
    requests to a host is sources.toml's ``min_interval``. Iterate the run for articles, then `commit`."""
    sources = config.web_sources
    if sources and config.fetch is None:
        raise SourcesError(f"{config.path}: web sources need a [fetch] table with contact = ...")
    contact = config.fetch.contact if config.fetch else ""
    options = options or FetchOptions()
    if config.fetch is not None:
        options = replace(options, min_interval=config.fetch.min_interval)
    return WebRun(sources, contact, Path(state_path), options, page_budget)
