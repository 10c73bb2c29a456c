"""Following news on the web, politely: feeds and sitemaps in, articles out.

follow.py     the entry point, `follow_web_sources`, and the protocol with the caller (read it first)
fetcher.py    the polite HTTP client: robots.txt, pace, conditional GET, retries, caps, redirects
transport.py  httpx with a wall-clock deadline on every request
hosts.py      what a host is (an origin) and the pace kept with each
robots.py     robots.txt per origin, remembered up to a day
feeds.py      article URLs from feed bytes;  sitemaps.py  from sitemap bytes
extract.py    fetched pages into Articles (trafilatura, via index.readers.html), feed summaries as fallback
state.py      the fetch state in SQLite: validators, robots.txt, seen pages and their status
model.py      the records passed between these;  report.py  what a run cost and gave, per source
"""

from index.web.fetcher import FetchOptions
from index.web.follow import WebRun, follow_web_sources
from index.web.model import FetchFailure
from index.web.report import SourceReport, WebReport
from index.web.state import STATE_FILE, fetch_state_path

__all__ = [
    "STATE_FILE",
    "FetchFailure",
    "FetchOptions",
    "SourceReport",
    "WebReport",
    "WebRun",
    "fetch_state_path",
    "follow_web_sources",
]
