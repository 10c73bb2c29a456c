"""The fetch state: what newsdesk remembers of the web between two updates, in SQLite beside the index.

- ``robots``: each origin's robots.txt as last fetched (2xx and 4xx only; kept up to 24 h).
- ``listings``: each feed and sitemap with its validators (ETag, Last-Modified, body hash), when it was
  fetched, when it is next due (a Retry-After past the run), its failures in a row and the last one;
  a sitemap listed by a sitemap index names that index as its ``parent``.
- ``pages``: every article URL a listing gave, with the listing's updated stamp for it, the feed's own
  entry (the fallback when the page cannot be fetched) and a status: ``due`` (to fetch — new, updated
  since, or fetched but not yet acknowledged), ``done`` (stored with its full text), ``summary`` (stored
  from the feed's summary; the page is not fetched again), ``gone`` (nothing to store: disallowed, 404,
  no article text).

Listings and robots.txt are written as soon as they are fetched: a page they list is ``due`` until
acknowledged, so a killed run loses nothing. Page outcomes are written only by `settle_pages`, which
`index.web.follow` calls once the caller has stored the articles (see its docstring).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from index.errors import NewsdeskError
from index.model import Article
from index.web.model import ListedPage, Validators

STATE_FILE = "fetch_state.sqlite"  # in the index directory
SCHEMA_VERSION = "1"
PageStatus = Literal["due", "done", "summary", "gone"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS robots (
    origin TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT NOT NULL, fetched_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS listings (
    url TEXT PRIMARY KEY, parent TEXT,
    etag TEXT, last_modified TEXT, body_hash TEXT,
    fetched_at REAL, next_due REAL NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0, last_error TEXT
);
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, listed_in TEXT NOT NULL, updated TEXT,
    status TEXT NOT NULL CHECK (status IN ('due', 'done', 'summary', 'gone')),
    fallback TEXT,
    etag TEXT, last_modified TEXT, body_hash TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    listed_at REAL NOT NULL, settled_at REAL
);
CREATE INDEX IF NOT EXISTS pages_by_listing ON pages (listed_in, status);
CREATE INDEX IF NOT EXISTS listings_by_parent ON listings (parent);
"""
_FALLBACK_FIELDS = ("title", "text", "url", "source", "authors", "published", "language", "origin")


def fetch_state_path(index_dir: Path) -> Path:
    """Where the fetch state of an index lives: beside it, so the two are kept, moved and deleted together."""
    return Path(index_dir) / STATE_FILE


class FetchStateError(NewsdeskError):
    """The fetch state file cannot be opened or is of another format."""


@dataclass(slots=True, frozen=True)
class RobotsRecord:
    status: int
    body: str
    fetched_at: float


@dataclass(slots=True, frozen=True)
class ListingState:
    url: str
    validators: Validators
    fetched_at: float | None
    next_due: float
    failures: int
    last_error: str | None


@dataclass(slots=True, frozen=True)
class PageState:
    url: str
    listed_in: str
    updated: str | None
    status: PageStatus
    fallback: Article | None
    validators: Validators
    attempts: int

    @property
    def stored_in_full(self) -> bool:
        """Fetched with its full text before (a page's body hash is kept only then)."""
        return self.validators.body_hash is not None


@dataclass(slots=True, frozen=True)
class PageOutcome:
    """What became of a page in a run, written by `settle_pages` once the caller stored its article."""

    url: str
    status: PageStatus
    validators: Validators | None = None  # of the page, when it was fetched
    attempts: int = 0  # failed attempts in a row (0 once fetched)
    error: str | None = None


class FetchState:
    """The state file; every method is one transaction. Not for two processes at once (the build lock
    that an update holds keeps it so)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            found = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if found is None:
                self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        except (OSError, sqlite3.Error) as exc:
            raise FetchStateError(
                f"cannot open the fetch state {self.path}: {exc}; move it away to start afresh "
                "(every feed and page is then fetched again)"
            ) from exc
        if found is not None and found[0] != SCHEMA_VERSION:
            self._db.close()
            raise FetchStateError(
                f"{self.path} is fetch state format {found[0]}, this newsdesk reads {SCHEMA_VERSION}; "
                "move it away to start afresh"
            )

    def close(self) -> None:
        self._db.close()

    # --- robots.txt -------------------------------------------------------------------------------------

    def robots(self, origin: str) -> RobotsRecord | None:
        row = self._db.execute("SELECT status, body, fetched_at FROM robots WHERE origin = ?", (origin,)).fetchone()
        return RobotsRecord(*row) if row else None

    def save_robots(self, origin: str, record: RobotsRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO robots VALUES (?, ?, ?, ?)", (origin, record.status, record.body, record.fetched_at)
        )

    # --- feeds and sitemaps -----------------------------------------------------------------------------

    def listing(self, url: str) -> ListingState | None:
        row = self._db.execute(
            "SELECT etag, last_modified, body_hash, fetched_at, next_due, failures, last_error FROM listings "
            "WHERE url = ?",
            (url,),
        ).fetchone()
        return ListingState(url, Validators(*row[:3]), *row[3:]) if row else None

    def children(self, url: str) -> list[str]:
        """The sitemaps that the sitemap index at `url` listed when last fetched."""
        rows = self._db.execute("SELECT url FROM listings WHERE parent = ? ORDER BY url", (url,))
        return [url for (url,) in rows]

    def record_listing(
        self, url: str, validators: Validators, fetched_at: float, pages: Sequence[ListedPage], children: Sequence[str]
    ) -> int:
        """A feed or sitemap fetched and parsed: its validators, its child sitemaps, and its pages — new
        ones and those whose stamp is newer than ours become due. Returns how many became due."""
        became_due = 0
        with self._transaction():
            self._db.execute(
                "INSERT INTO listings (url, etag, last_modified, body_hash, fetched_at, next_due, failures) "
                "VALUES (?, ?, ?, ?, ?, 0, 0) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, "
                "last_modified = excluded.last_modified, body_hash = excluded.body_hash, "
                "fetched_at = excluded.fetched_at, next_due = 0, failures = 0, last_error = NULL",
                (url, validators.etag, validators.last_modified, validators.body_hash, fetched_at),
            )
            self._db.execute("UPDATE listings SET parent = NULL WHERE parent = ?", (url,))
            for child in children:
                self._db.execute(
                    "INSERT INTO listings (url, parent) VALUES (?, ?) ON CONFLICT (url) DO UPDATE SET parent = ?",
                    (child, url, url),
                )
            for page in pages:
                became_due += self._list_page(url, page, fetched_at)
        return became_due

    def _list_page(self, listed_in: str, page: ListedPage, now: float) -> int:
        row = self._db.execute("SELECT updated, fallback FROM pages WHERE url = ?", (page.url,)).fetchone()
        fallback = _fallback_json(page.fallback)
        if row is None:
            self._db.execute(
                "INSERT INTO pages (url, listed_in, updated, status, fallback, listed_at) "
                "VALUES (?, ?, ?, 'due', ?, ?)",
                (page.url, listed_in, page.updated, fallback, now),
            )
            return 1
        known, known_fallback = row
        newer = bool(page.updated and known and page.updated > known)  # ISO 8601 UTC stamps sort as text
        self._db.execute(
            "UPDATE pages SET updated = COALESCE(?, updated), fallback = COALESCE(?, fallback), "
            "status = CASE WHEN ? THEN 'due' ELSE status END, attempts = CASE WHEN ? THEN 0 ELSE attempts END "
            "WHERE url = ?",
            (page.updated, fallback if newer or known_fallback is None else None, newer, newer, page.url),
        )
        return int(newer)

    def listing_unchanged(self, url: str, validators: Validators, fetched_at: float) -> None:
        """A 304, or the same body again: new validators (a server may change its ETag, not its body)."""
        self._db.execute(
            "UPDATE listings SET etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
            "fetched_at = ?, next_due = 0, failures = 0, last_error = NULL WHERE url = ?",
            (validators.etag, validators.last_modified, fetched_at, url),
        )

    def listing_failed(self, url: str, error: str, next_due: float = 0.0) -> None:
        self._db.execute(
            "INSERT INTO listings (url, next_due, failures, last_error) VALUES (?, ?, 1, ?) ON CONFLICT (url) "
            "DO UPDATE SET next_due = excluded.next_due, failures = failures + 1, last_error = excluded.last_error",
            (url, next_due, error),
        )

    # --- article pages ----------------------------------------------------------------------------------

    def due_pages(self, listed_in: str, limit: int) -> list[PageState]:
        """Pages of one listing still to fetch, newest first (so a budget takes the latest news)."""
        rows = self._db.execute(
            "SELECT url, listed_in, updated, status, fallback, etag, last_modified, body_hash, attempts FROM pages "
            "WHERE listed_in = ? AND status = 'due' ORDER BY updated IS NULL, updated DESC, listed_at, url LIMIT ?",
            (listed_in, limit),
        )
        return [
            PageState(url, listed, updated, status, _fallback_article(fallback), Validators(*validators), attempts)
            for url, listed, updated, status, fallback, *validators, attempts in rows
        ]

    def count_due(self, listed_in: str) -> int:
        query = "SELECT COUNT(*) FROM pages WHERE listed_in = ? AND status = 'due'"
        return int(self._db.execute(query, (listed_in,)).fetchone()[0])

    def pages_listed_by(self, listings: Sequence[str]) -> set[str]:
        """Every page URL that these feeds or sitemaps listed, or the sitemaps they list (at any depth)."""
        rows = self._db.execute(
            "WITH RECURSIVE tree(url) AS (SELECT value FROM json_each(?) "
            "UNION SELECT listings.url FROM listings JOIN tree ON listings.parent = tree.url) "
            "SELECT pages.url FROM pages JOIN tree ON pages.listed_in = tree.url",
            (json.dumps(list(listings)),),
        )
        return {url for (url,) in rows}

    def page_statuses(self) -> dict[str, int]:
        """How many pages are in each status, for reports."""
        return dict(self._db.execute("SELECT status, COUNT(*) FROM pages GROUP BY status").fetchall())

    def settle_pages(self, outcomes: Sequence[PageOutcome], now: float) -> None:
        """Write what became of pages, in one transaction: the acknowledgement that their articles are stored."""
        with self._transaction():
            for outcome in outcomes:
                validators = outcome.validators or Validators()
                self._db.execute(
                    "UPDATE pages SET status = ?, etag = COALESCE(?, etag), "
                    "last_modified = COALESCE(?, last_modified), body_hash = COALESCE(?, body_hash), "
                    "attempts = ?, last_error = ?, settled_at = ? WHERE url = ?",
                    (
                        outcome.status,
                        validators.etag,
                        validators.last_modified,
                        validators.body_hash,
                        outcome.attempts,
                        outcome.error,
                        now,
                        outcome.url,
                    ),
                )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the block raises (autocommit mode otherwise)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _fallback_json(article: Article | None) -> str | None:
    if article is None:
        return None
    return json.dumps({name: getattr(article, name) for name in _FALLBACK_FIELDS}, ensure_ascii=False)


def _fallback_article(data: str | None) -> Article | None:
    return Article(**json.loads(data)) if data else None
