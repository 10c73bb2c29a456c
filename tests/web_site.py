"""News sites on loopback, for the web-following tests and scripts/bench_update.py: real HTTP servers
that log every request (method, path, headers, when, whether the answer was sent whole).

    with LoopbackSite() as site:
        news = publish_news(site, articles=20, feeds=2)     # robots.txt, feeds, pages, a sitemap
        site.route("/slow", Route(body=b"x" * 1000, trickle=0.05))
        ... fetch ...
        assert site.requests("/private/secret.html") == []

A `Route` answers with ETag and Last-Modified, and 304 to a matching conditional request, unless told
otherwise; it can trickle its body, stream it without a length, gzip it, redirect, or answer a list
of statuses first (503 with Retry-After, then 200).
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

PUBLISHED = 1_772_000_000.0  # 2026-02-25, so pages and feeds carry plausible dates
TRICKLE_LIMIT = 20.0
STATS_PATH = "/__requests__"  # a trickling answer stops by itself after this many seconds


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    validators: bool = True  # ETag + Last-Modified, and 304 to a conditional request that matches
    honour_conditional: bool = True  # False: send validators but always answer 200 (the body hash case)
    last_modified: float = PUBLISHED
    first: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # answers before the real one
    trickle: float | None = None  # seconds between single bytes of the body
    chunked: bool = False  # no Content-Length: the body in chunks
    gzip: bool = False  # Content-Encoding: gzip (body given already compressed when `raw_gzip`)
    raw_gzip: bool = False


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    at: float  # time.monotonic() when the request arrived
    wall: float  # time.time() then, to compare with HTTP dates
    status: int
    complete: list[bool]  # [True] once the whole answer was written (a list: set after logging)


class LoopbackSite:
    """One HTTP server on 127.0.0.1 (a port of its own: a host of its own, for robots.txt and pacing)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> LoopbackSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def route(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def requests(self, path: str | None = None) -> list[Logged]:
        with self._lock:
            return [entry for entry in self.log if path is None or entry.path == path]

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def _handler(site: LoopbackSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args: object) -> None:  # quiet: the site keeps its own log
            pass

        def do_GET(self) -> None:
            if self.path == STATS_PATH:  # for a site served from another process: its log, not logged
                self._send_stats()
                return
            route = site.routes.get(self.path)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, extra, body = self._answer(route, headers)
            entry = Logged("GET", self.path, headers, time.monotonic(), time.time(), status, [False])
            site._record(entry)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            try:
                self._send_body(route, status, body)
                entry.complete[0] = True
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _send_stats(self) -> None:
            entries = site.requests()
            statuses: dict[str, int] = {}
            for entry in entries:
                statuses[str(entry.status)] = statuses.get(str(entry.status), 0) + 1
            body = json.dumps({"requests": len(entries), "statuses": statuses}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self, route: Route | None, asked: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
            if route is None:
                return 404, {"Content-Type": "text/plain", "Content-Length": "9"}, b"not found"
            if route.first:
                status, extra = route.first.pop(0)
                return status, {"Content-Length": "0", **extra}, b""
            extra = {"Content-Type": route.content_type, **route.headers}
            body = route.body
            if route.validators:
                etag = etag_of(body)
                modified = email.utils.formatdate(route.last_modified, usegmt=True)
                extra |= {"ETag": etag, "Last-Modified": modified}
                if route.honour_conditional and _not_modified(asked, etag, route.last_modified):
                    return 304, {"ETag": etag, "Last-Modified": modified}, b""
            if route.gzip:
                body = body if route.raw_gzip else gzip.compress(body)
                extra["Content-Encoding"] = "gzip"
            if route.chunked:
                extra["Transfer-Encoding"] = "chunked"
            else:
                extra["Content-Length"] = str(len(body))
            return route.status, extra, body

        def _send_body(self, route: Route | None, status: int, body: bytes) -> None:
            self.end_headers()
            if route is not None and route.trickle and status == 200:
                stop = time.monotonic() + TRICKLE_LIMIT
                for byte in body:
                    if time.monotonic() > stop:
                        self.close_connection = True
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(route.trickle)
            elif route is not None and route.chunked and status == 200:
                for start in range(0, len(body), 64 * 1024):
                    piece = body[start : start + 64 * 1024]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(body)

    return Handler


def _not_modified(asked: dict[str, str], etag: str, last_modified: float) -> bool:
    if "if-none-match" in asked:
        return etag in [tag.strip() for tag in asked["if-none-match"].split(",")]
    since = asked.get("if-modified-since")
    if since:
        parsed = email.utils.parsedate_to_datetime(since)
        return parsed.timestamp() >= int(last_modified)
    return False


# --- a news site ------------------------------------------------------------------------------------------

_PLACES = ["Riverton", "Lakeside", "Harbor City", "Millbrook", "Eastfield", "Northgate", "Westmoor", "Kingsport"]
_SUBJECTS = [
    "the city council",
    "the transit agency",
    "the school board",
    "port operators",
    "the health trust",
    "local farmers",
    "the water utility",
    "the housing department",
    "shop owners",
    "the fire service",
]
_ACTIONS = [
    "approved a plan to",
    "voted against a proposal to",
    "announced it will",
    "was asked to",
    "has promised to",
    "is considering whether to",
    "delayed a decision to",
    "set aside money to",
]
_OBJECTS = [
    "repair the old bridge",
    "extend library opening hours",
    "build two hundred new homes",
    "replace the diesel bus fleet",
    "upgrade the water treatment works",
    "open a night clinic",
    "widen the coastal path",
    "cut parking charges in the centre",
    "plant trees along the avenue",
    "reopen the ferry terminal",
]
_DETAILS = [
    "Residents packed the public gallery for the debate.",
    "The cost is expected to be met from reserves.",
    "Opposition members called the timetable unrealistic.",
    "Work could begin as early as next spring.",
    "A consultation will run for six weeks.",
    "Officials said the figures would be published in full.",
    "Business groups welcomed the decision.",
    "Campaigners said they would keep up the pressure.",
]


@dataclass(frozen=True)
class NewsItem:
    number: int
    path: str
    title: str
    summary: str
    paragraphs: tuple[str, ...]
    published: float


@dataclass
class NewsSite:
    """What `publish_news` put on a site: feed and sitemap URLs, and every article."""

    site: LoopbackSite
    feeds: list[str]
    sitemap: str
    items: list[NewsItem]

    def item(self, path: str) -> NewsItem:
        return next(item for item in self.items if item.path == path)


def news_item(number: int, published: float = PUBLISHED) -> NewsItem:
    rng = random.Random(number)
    place, subject = rng.choice(_PLACES), rng.choice(_SUBJECTS)
    action, thing = rng.choice(_ACTIONS), rng.choice(_OBJECTS)
    title = f"{place}: {subject[0].upper() + subject[1:]} {action} {thing} (report {number})"
    paragraphs = [
        f"In {place} on Tuesday, {subject} {action} {thing}, a move that report number {number} follows closely.",
        *(
            " ".join(rng.sample(_DETAILS, 3)) + f" Figure {rng.randint(10, 990)} was quoted by officials in {place}."
            for _ in range(rng.randint(2, 4))
        ),
        f"The next meeting on the matter in {place} is due within {rng.randint(2, 9)} weeks.",
    ]
    summary = paragraphs[0]
    return NewsItem(number, f"/news/{number}.html", title, summary, tuple(paragraphs), published + number * 60)


def article_html(item: NewsItem, origin: str) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(item.published))
    body = "\n".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(item.title)} | Loopback Ledger</title>
<link rel="canonical" href="{origin}{item.path}">
<meta property="og:site_name" content="Loopback Ledger">
<meta property="article:published_time" content="{stamp}">
<meta name="author" content="Desk Reporter {item.number % 7}">
</head><body>
<header><nav><a href="/">Home</a> | <a href="/local">Local</a> | <a href="/sport">Sport</a></nav></header>
<main><article><h1>{escape(item.title)}</h1>
<p class="byline">By Desk Reporter {item.number % 7}</p>
{body}
</article></main>
<footer><p>Sign up for our newsletter</p><a href="/cookies">Cookie settings</a></footer>
</body></html>""".encode()


def rss(items: list[NewsItem], origin: str, title: str) -> bytes:
    entries = "\n".join(
        f"<item><title>{escape(item.title)}</title><link>{origin}{item.path}</link>"
        f"<guid>{origin}{item.path}</guid><description>{escape(item.summary)}</description>"
        f"<pubDate>{email.utils.formatdate(item.published, usegmt=True)}</pubDate></item>"
        for item in items
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>{origin}/</link><description>News</description>\n{entries}\n</channel></rss>"
    ).encode()


def sitemap(items: list[NewsItem], origin: str) -> bytes:
    urls = "".join(
        f"<url><loc>{origin}{item.path}</loc><lastmod>"
        f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(item.published))}</lastmod></url>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


def publish_news(
    site: LoopbackSite, articles: int, feeds: int, robots: str = "User-agent: *\nDisallow: /private/\n", start: int = 0
) -> NewsSite:
    """`articles` pages spread over `feeds` RSS feeds (article n in feed n % feeds), a sitemap of them
    all, and robots.txt; every route with ETag/Last-Modified and 304s."""
    items = [news_item(number) for number in range(start, start + articles)]
    site.route("/robots.txt", Route(body=robots.encode(), content_type="text/plain"))
    for item in items:
        site.route(item.path, Route(body=article_html(item, site.origin)))
    feed_urls = [
        site.route(
            f"/feeds/{k}.xml",
            Route(body=rss(items[k::feeds], site.origin, f"Loopback Ledger {k}"), content_type="application/rss+xml"),
        )
        for k in range(feeds)
    ]
    sitemap_url = site.route("/sitemap.xml", Route(body=sitemap(items, site.origin), content_type="application/xml"))
    return NewsSite(site, feed_urls, sitemap_url, items)
