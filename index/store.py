"""The SQLite store: articles, their URLs, passages with vectors, the FTS5 table and stories.

SQLite is the source of truth; the FAISS file is derived from the vectors kept here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.lexical import FTS_TOKENIZER
from index.model import Article, Passage
from index.normalize import canonical_url

SCHEMA_VERSION = 1

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    url TEXT,
    canonical_url TEXT,
    title TEXT NOT NULL,
    source TEXT,
    authors TEXT NOT NULL DEFAULT '[]',          -- JSON list of names
    published TEXT,                               -- ISO 8601
    language TEXT,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    story_id TEXT,
    signature BLOB,                               -- MinHash of the body, for story grouping
    origin TEXT,
    first_seen TEXT NOT NULL,
    updated TEXT
);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_story ON articles(story_id);
CREATE INDEX IF NOT EXISTS articles_source_date ON articles(source, published);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);

CREATE TABLE IF NOT EXISTS article_urls (
    url TEXT PRIMARY KEY,                         -- canonical form
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    original TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS article_urls_article ON article_urls(article_id);

CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,                       -- also the vector's id in vectors.faiss
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    input_hash TEXT NOT NULL,                     -- hash of what the encoder saw: equal hash, reusable vector
    vector BLOB NOT NULL                          -- float32, L2-normalized
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id, ordinal);
CREATE INDEX IF NOT EXISTS passages_input ON passages(input_hash);

-- Contentless: the text already lives in `passages`; rows are removed with the 'delete' command.
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    title, text, content='', tokenize='{FTS_TOKENIZER}'
);

CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL
);
"""


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(slots=True, frozen=True)
class StoredArticle:
    """An article as the store holds it."""

    id: str
    url: str | None
    canonical_url: str | None
    title: str
    source: str | None
    authors: list[str]
    published: str | None
    language: str | None
    text: str
    content_hash: str
    story_id: str | None
    first_seen: str
    updated: str | None
    urls: list[str]


_ARTICLE_COLUMNS = (
    "id, url, canonical_url, title, source, authors, published, language, text, "
    "content_hash, story_id, first_seen, updated"
)


class Store:
    """A connection to one generation's `news.sqlite`."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.db = sqlite3.connect(path, check_same_thread=False)
            self.db.executescript(SCHEMA)
            self.db.execute("PRAGMA journal_mode=DELETE")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        self.db.row_factory = sqlite3.Row

    def close(self) -> None:
        self.db.close()

    # --- reading -------------------------------------------------------------------------------

    def article_state(self, article_id: str) -> tuple[str, str | None] | None:
        """(content_hash, first_seen) of a stored article, or None."""
        row = self.db.execute("SELECT content_hash, first_seen FROM articles WHERE id=?", (article_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def article_times(self, article_id: str) -> tuple[str, str, str | None] | None:
        """(content_hash, first_seen, updated) of a stored article, or None."""
        row = self.db.execute(
            "SELECT content_hash, first_seen, updated FROM articles WHERE id=?", (article_id,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def origins(self) -> list[tuple[str, str | None]]:
        """(article id, origin) of every article: the file (and record) each one was last read from."""
        return [(r[0], r[1]) for r in self.db.execute("SELECT id, origin FROM articles ORDER BY id")]

    def article_with_hash(self, digest: str) -> str | None:
        row = self.db.execute("SELECT id FROM articles WHERE content_hash=? LIMIT 1", (digest,)).fetchone()
        return row[0] if row else None

    def resolve_id(self, id_or_url: str) -> str | None:
        """An article id from an id, an original URL or any URL form that canonicalizes to a known one."""
        row = self.db.execute("SELECT id FROM articles WHERE id=?", (id_or_url,)).fetchone()
        if row:
            return row[0]
        canonical = canonical_url(id_or_url)
        row = self.db.execute(
            "SELECT article_id FROM article_urls WHERE url=? OR original=? LIMIT 1", (canonical, id_or_url)
        ).fetchone()
        return row[0] if row else None

    def articles(self, ids: Iterable[str]) -> dict[str, StoredArticle]:
        ids = list(dict.fromkeys(ids))
        found: dict[str, StoredArticle] = {}
        for begin in range(0, len(ids), 500):
            chunk = ids[begin : begin + 500]
            marks = ",".join("?" * len(chunk))
            urls: dict[str, list[str]] = {}
            for row in self.db.execute(
                f"SELECT article_id, original FROM article_urls WHERE article_id IN ({marks}) ORDER BY rowid", chunk
            ):
                urls.setdefault(row[0], []).append(row[1])
            for row in self.db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({marks})", chunk):
                found[row["id"]] = StoredArticle(
                    **{k: row[k] for k in row.keys() if k != "authors"},  # noqa: SIM118 (Row iterates values)
                    authors=json.loads(row["authors"]),
                    urls=urls.get(row["id"], []),
                )
        return found

    def article(self, article_id: str) -> StoredArticle | None:
        return self.articles([article_id]).get(article_id)

    def passages_of(self, article_id: str) -> list[Passage]:
        rows = self.db.execute(
            "SELECT ordinal, start, end, text FROM passages WHERE article_id=? ORDER BY ordinal", (article_id,)
        )
        return [Passage(article_id, r[0], r[1], r[2], r[3]) for r in rows]

    def vectors_by_input_hash(self, digests: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors for encoder inputs seen before: those are never embedded again."""
        digests = list(set(digests))
        found: dict[str, np.ndarray] = {}
        for begin in range(0, len(digests), 500):
            chunk = digests[begin : begin + 500]
            marks = ",".join("?" * len(chunk))
            for digest, blob in self.db.execute(
                f"SELECT input_hash, vector FROM passages WHERE input_hash IN ({marks})", chunk
            ):
                found[digest] = np.frombuffer(blob, dtype=np.float32)
        return found

    def iter_vectors(self, batch: int = 8192) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) in batches, in passage id order, for building the vector index."""
        cursor = self.db.execute("SELECT id, vector FROM passages ORDER BY id")
        while rows := cursor.fetchmany(batch):
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
            yield ids, vectors

    def signatures(self) -> list[tuple[str, str, bytes]]:
        return [
            (r[0], r[1], r[2])
            for r in self.db.execute(
                "SELECT id, story_id, signature FROM articles WHERE signature IS NOT NULL AND story_id IS NOT NULL"
            )
        ]

    def counts(self) -> dict[str, int]:
        return {
            "articles": self.db.execute("SELECT count(*) FROM articles").fetchone()[0],
            "passages": self.db.execute("SELECT count(*) FROM passages").fetchone()[0],
            "stories": self.db.execute("SELECT count(*) FROM stories WHERE size > 1").fetchone()[0],
        }

    # --- writing -------------------------------------------------------------------------------

    def add_url(self, article_id: str, canonical: str | None, original: str | None) -> None:
        if canonical:
            self.db.execute(
                "INSERT OR IGNORE INTO article_urls(url, article_id, original) VALUES (?,?,?)",
                (canonical, article_id, original or canonical),
            )

    def delete_passages(self, article_id: str) -> None:
        rows = self.db.execute(
            "SELECT p.id, a.title, p.text FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.article_id=?",
            (article_id,),
        ).fetchall()
        self.db.executemany(
            "INSERT INTO passages_fts(passages_fts, rowid, title, text) VALUES('delete', ?, ?, ?)", rows
        )
        self.db.execute("DELETE FROM passages WHERE article_id=?", (article_id,))

    def delete_article(self, article_id: str) -> None:
        self.delete_passages(article_id)
        self.db.execute("DELETE FROM articles WHERE id=?", (article_id,))

    def put_article(self, article: Article, first_seen: str | None, signature: bytes | None) -> None:
        """Insert or replace an article's row (its passages are written separately)."""
        stamp = now_iso()
        self.db.execute(
            "INSERT INTO articles(id, url, canonical_url, title, source, authors, published, language, text, "
            "content_hash, signature, origin, first_seen, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET url=excluded.url, canonical_url=excluded.canonical_url, "
            "title=excluded.title, source=excluded.source, authors=excluded.authors, "
            "published=excluded.published, language=excluded.language, text=excluded.text, "
            "content_hash=excluded.content_hash, signature=excluded.signature, origin=excluded.origin, "
            "updated=excluded.updated",
            (
                article.id,
                article.url,
                article.canonical_url,
                article.title,
                article.source,
                json.dumps(article.authors, ensure_ascii=False),
                article.published,
                article.language,
                article.text,
                article.content_hash,
                signature,
                article.origin,
                first_seen or stamp,
                stamp if first_seen else None,
            ),
        )
        for url in article.urls:
            self.add_url(article.id, canonical_url(url), url)

    def set_origin(self, article_id: str, origin: str) -> None:
        self.db.execute("UPDATE articles SET origin=? WHERE id=? AND origin IS NOT ?", (origin, article_id, origin))

    def refresh_metadata(self, article: Article) -> bool:
        """Bring an unchanged article's metadata (URL, source, authors, date, language) up to date without
        touching its passages. True when something changed."""
        cursor = self.db.execute(
            "UPDATE articles SET url=?, source=?, authors=?, published=?, language=? WHERE id=? AND "
            "(url IS NOT ? OR source IS NOT ? OR authors IS NOT ? OR published IS NOT ? OR language IS NOT ?)",
            (
                fields := (
                    article.url,
                    article.source,
                    json.dumps(article.authors, ensure_ascii=False),
                    article.published,
                    article.language,
                )
            )
            + (article.id,)
            + fields,
        )
        return cursor.rowcount > 0

    def set_times(self, article_id: str, first_seen: str, updated: str | None) -> None:
        """Carry an article's dates over from another store (a rebuild keeps when it was first seen)."""
        self.db.execute("UPDATE articles SET first_seen=?, updated=? WHERE id=?", (first_seen, updated, article_id))

    def put_passages(self, title: str, passages: list[Passage], input_hashes: list[str], vectors: np.ndarray) -> None:
        for passage, digest, vector in zip(passages, input_hashes, vectors, strict=True):
            cursor = self.db.execute(
                "INSERT INTO passages(article_id, ordinal, start, end, text, input_hash, vector) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    passage.article_id,
                    passage.ordinal,
                    passage.start,
                    passage.end,
                    passage.text,
                    digest,
                    np.ascontiguousarray(vector, dtype=np.float32).tobytes(),
                ),
            )
            self.db.execute(
                "INSERT INTO passages_fts(rowid, title, text) VALUES (?,?,?)", (cursor.lastrowid, title, passage.text)
            )

    def set_stories(self, assignments: dict[str, str]) -> None:
        self.db.executemany(
            "UPDATE articles SET story_id=? WHERE id=?", [(story, article) for article, story in assignments.items()]
        )
        self.db.execute("DELETE FROM stories")
        self.db.execute(
            "INSERT INTO stories(id, size) SELECT story_id, count(*) FROM articles "
            "WHERE story_id IS NOT NULL GROUP BY story_id"
        )

    def commit(self) -> None:
        self.db.commit()

    def changes(self) -> int:
        """Rows inserted, updated or deleted through this connection since it was opened: 0 means a build
        changed nothing."""
        return self.db.total_changes
