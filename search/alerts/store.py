"""The alerts store: `alerts.sqlite` beside the index. Every SQL statement about alerts is here.

Tables: `alerts` (one row per standing search), `known` (articles an alert must never report: its
backlog at creation and old articles met since) and `hits` (each article reported, once per alert —
`UNIQUE(alert, article_id)` — with the state of its delivery to the lines file and the webhook).
It lives outside the generations, so it survives every build and rebuild of the index.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from index.errors import IndexFormatError
from search.alerts.model import Alert, AlertExistsError, AlertNotFoundError, AlertSpec, Hit

STORE_FILE = "alerts.sqlite"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    name TEXT PRIMARY KEY,
    query TEXT NOT NULL,
    sources TEXT NOT NULL DEFAULT '[]',     -- JSON list of outlets
    date_from TEXT,
    date_to TEXT,
    mode TEXT NOT NULL,
    webhook TEXT,
    created TEXT NOT NULL,
    watermark TEXT NOT NULL,                -- articles first seen before it are backlog
    last_checked TEXT
);
CREATE TABLE IF NOT EXISTS known (
    alert TEXT NOT NULL REFERENCES alerts(name) ON DELETE CASCADE,
    article_id TEXT NOT NULL,
    PRIMARY KEY (alert, article_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hits (
    id INTEGER PRIMARY KEY,
    alert TEXT NOT NULL REFERENCES alerts(name) ON DELETE CASCADE,
    article_id TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT,
    source TEXT,
    published TEXT,
    score REAL NOT NULL,
    story_id TEXT,
    matched_at TEXT NOT NULL,
    written INTEGER NOT NULL DEFAULT 0,     -- 1 once its line is in the lines file
    webhook TEXT NOT NULL,                  -- none | pending | delivered | failed
    webhook_rounds INTEGER NOT NULL DEFAULT 0,  -- checks whose POSTs all failed
    webhook_error TEXT,
    UNIQUE (alert, article_id)
);
CREATE INDEX IF NOT EXISTS hits_unwritten ON hits(written) WHERE written = 0;
CREATE INDEX IF NOT EXISTS hits_webhook ON hits(webhook) WHERE webhook = 'pending';
"""
_ALERT_COLUMNS = (
    "a.name, a.query, a.sources, a.date_from, a.date_to, a.mode, a.webhook, a.created, a.watermark, a.last_checked, "
    "(SELECT count(*) FROM hits h WHERE h.alert = a.name), "
    "(SELECT count(*) FROM hits h WHERE h.alert = a.name AND h.webhook IN ('pending', 'failed'))"
)
_HIT_COLUMNS = (
    "h.alert, a.query, h.article_id, h.title, h.url, h.source, h.published, h.score, h.story_id, h.matched_at, "
    "h.webhook, h.webhook_error, h.id"
)


class AlertStore:
    """One connection to an index directory's alerts store; open it with `open_store`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, timeout=30)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")  # the API reads while a check writes
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            self.db.close()
            raise IndexFormatError(
                f"{path} has alerts schema {version}; this newsdesk reads {SCHEMA_VERSION} — upgrade newsdesk"
            )
        with self.db:
            self.db.executescript(SCHEMA)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    # --- alerts --------------------------------------------------------------------------------

    def create(self, spec: AlertSpec, created: str, watermark: str, backlog: Iterable[str]) -> None:
        """Store a new alert and its backlog; AlertExistsError when the name is taken."""
        try:
            with self.db:
                self.db.execute(
                    "INSERT INTO alerts (name, query, sources, date_from, date_to, mode, webhook, created, watermark) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        spec.name,
                        spec.query,
                        json.dumps(list(spec.sources), ensure_ascii=False),
                        spec.date_from.isoformat() if spec.date_from else None,
                        spec.date_to.isoformat() if spec.date_to else None,
                        spec.mode,
                        spec.webhook,
                        created,
                        watermark,
                    ),
                )
                self._add_known(spec.name, backlog)
        except sqlite3.IntegrityError:
            raise AlertExistsError(spec.name) from None

    def alerts(self) -> list[Alert]:
        rows = self.db.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts a ORDER BY a.name")
        return [_alert(row) for row in rows]

    def alert(self, name: str) -> Alert:
        row = self.db.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE a.name = ?", (name,)).fetchone()
        if row is None:
            raise AlertNotFoundError(name)
        return _alert(row)

    def remove(self, name: str) -> Alert:
        """Delete an alert with its backlog and hits (lines already written stay in the lines file)."""
        alert = self.alert(name)
        with self.db:
            self.db.execute("DELETE FROM alerts WHERE name = ?", (name,))
        return alert

    # --- what a check decides ------------------------------------------------------------------

    def known_ids(self, name: str) -> set[str]:
        """Articles this alert must not report: its backlog, old articles met since, and its hits."""
        rows = self.db.execute(
            "SELECT article_id FROM known WHERE alert = ? UNION SELECT article_id FROM hits WHERE alert = ?",
            (name, name),
        )
        return {row[0] for row in rows}

    def record(self, name: str, hits: list[Hit], old: Iterable[str], checked_at: str) -> list[Hit]:
        """In one transaction: the new hits (each at most once per alert), the old articles met, and the
        check's time. Returns the hits stored, with their row ids; none when the alert was removed meanwhile."""
        stored: list[Hit] = []
        with self.db:
            if not self.db.execute("UPDATE alerts SET last_checked = ? WHERE name = ?", (checked_at, name)).rowcount:
                return []
            self._add_known(name, old)
            for hit in hits:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO hits (alert, article_id, title, url, source, published, score, story_id, "
                    "matched_at, webhook) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        name,
                        hit.article_id,
                        hit.title,
                        hit.url,
                        hit.source,
                        hit.published,
                        hit.score,
                        hit.story_id,
                        hit.matched_at,
                        hit.webhook,
                    ),
                )
                if cursor.rowcount:
                    hit.id = int(cursor.lastrowid or 0)
                    stored.append(hit)
        return stored

    def _add_known(self, name: str, article_ids: Iterable[str]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO known (alert, article_id) VALUES (?, ?)", [(name, aid) for aid in article_ids]
        )

    # --- delivery ------------------------------------------------------------------------------

    def unwritten(self) -> list[Hit]:
        """Hits whose line is not yet in the lines file, oldest first."""
        return self._hits("h.written = 0", ())

    def mark_written(self, hit_ids: Iterable[int]) -> None:
        with self.db:
            self.db.executemany("UPDATE hits SET written = 1 WHERE id = ?", [(i,) for i in hit_ids])

    def pending_posts(self) -> list[tuple[Hit, str]]:
        """Hits waiting for their webhook POST, oldest first, each with its alert's webhook URL."""
        rows = self.db.execute(
            f"SELECT {_HIT_COLUMNS}, a.webhook FROM hits h JOIN alerts a ON a.name = h.alert "
            "WHERE h.webhook = 'pending' AND a.webhook IS NOT NULL ORDER BY h.id"
        ).fetchall()
        return [(_hit(row[:-1]), row[-1]) for row in rows]

    def mark_posted(self, hit_id: int) -> None:
        with self.db:
            self.db.execute("UPDATE hits SET webhook = 'delivered', webhook_error = NULL WHERE id = ?", (hit_id,))

    def mark_post_failed(self, hit_id: int, error: str, give_up_after: int) -> bool:
        """Count a check whose POSTs of this hit all failed; after `give_up_after` such checks the hit
        is marked failed. Returns whether it was."""
        with self.db:
            self.db.execute(
                "UPDATE hits SET webhook_rounds = webhook_rounds + 1, webhook_error = ?, "
                "webhook = CASE WHEN webhook_rounds + 1 >= ? THEN 'failed' ELSE webhook END WHERE id = ?",
                (error, give_up_after, hit_id),
            )
        row = self.db.execute("SELECT webhook FROM hits WHERE id = ?", (hit_id,)).fetchone()
        return bool(row and row[0] == "failed")

    def retry_failed(self, name: str | None = None) -> int:
        """Put failed webhook deliveries (of one alert, or all) back in line; returns how many."""
        where, params = ("AND alert = ?", (name,)) if name else ("", ())
        with self.db:
            cursor = self.db.execute(
                f"UPDATE hits SET webhook = 'pending', webhook_rounds = 0 WHERE webhook = 'failed' {where}", params
            )
        return cursor.rowcount

    def latest_hits(self, name: str, limit: int) -> list[Hit]:
        """An alert's hits, most recent first."""
        return self._hits("h.alert = ?", (name,), order="h.id DESC", limit=limit)

    def _hits(self, where: str, params: tuple[object, ...], order: str = "h.id", limit: int = -1) -> list[Hit]:
        rows = self.db.execute(
            f"SELECT {_HIT_COLUMNS} FROM hits h JOIN alerts a ON a.name = h.alert WHERE {where} "
            f"ORDER BY {order} LIMIT ?",
            (*params, limit),
        )
        return [_hit(row) for row in rows]


@contextmanager
def open_store(index_dir: Path) -> Iterator[AlertStore]:
    """The alerts store of `index_dir` (created on first use), closed when the block ends."""
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    store = AlertStore(Path(index_dir) / STORE_FILE)
    try:
        yield store
    finally:
        store.close()


def store_exists(index_dir: Path) -> bool:
    """Whether any alert was ever added here: a check without alerts costs nothing."""
    return (Path(index_dir) / STORE_FILE).is_file()


def _alert(row: tuple) -> Alert:
    return Alert(
        name=row[0],
        query=row[1],
        sources=json.loads(row[2]),
        date_from=row[3],
        date_to=row[4],
        mode=row[5],
        webhook=row[6],
        created=row[7],
        watermark=row[8],
        last_checked=row[9],
        hits=row[10],
        undelivered=row[11],
    )


def _hit(row: tuple) -> Hit:
    return Hit(*row)
