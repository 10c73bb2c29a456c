"""The SQLite store: articles, their URLs, passages with vectors, the FTS5 table and stories.

SQLite is the source of truth; the FAISS file is derived from the vectors kept here.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.lexical import TermInstances
from index.model import Article, DateRange, Passage, PassageOwners, StoredArticle, TitledPassage
from index.normalize import canonical_url
from index.schema import SCHEMA

# Keys bound per `IN (...)` statement: well under SQLite's limit on host parameters (999 before 3.32).
IN_CHUNK = 500


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


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

    @property
    def total_changes(self) -> int:
        """Rows inserted, changed or deleted through this connection since it was opened."""
        return self.db.total_changes

    def _rows_in(self, sql: str, keys: Sequence[object]) -> Iterator[Any]:
        """The rows of `sql` for every key, its `{keys}` placeholder bound to `IN_CHUNK` keys at a time."""
        # Chained cursors: the rows pass through C, not through a Python generator per row (a search
        # reads story ids for hundreds of candidate articles).
        return itertools.chain.from_iterable(
            self.db.execute(sql.format(keys=",".join("?" * len(chunk))), chunk)
            for chunk in (keys[begin : begin + IN_CHUNK] for begin in range(0, len(keys), IN_CHUNK))
        )

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
        """The stored articles of `ids` (unknown ids are left out), each with every URL it was seen under."""
        ids = list(dict.fromkeys(ids))
        urls: dict[str, list[str]] = {}
        for row in self._rows_in(
            "SELECT article_id, original FROM article_urls WHERE article_id IN ({keys}) ORDER BY rowid", ids
        ):
            urls.setdefault(row[0], []).append(row[1])
        return {
            row["id"]: StoredArticle(
                **{k: row[k] for k in row.keys() if k != "authors"},  # noqa: SIM118 (Row iterates values)
                authors=json.loads(row["authors"]),
                urls=urls.get(row["id"], []),
            )
            for row in self._rows_in(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({{keys}})", ids)
        }

    def article(self, article_id: str) -> StoredArticle | None:
        return self.articles([article_id]).get(article_id)

    def passages_of(self, article_id: str) -> list[Passage]:
        rows = self.db.execute(
            "SELECT ordinal, start, end, text FROM passages WHERE article_id=? ORDER BY ordinal", (article_id,)
        )
        return [Passage(article_id, r[0], r[1], r[2], r[3]) for r in rows]

    def vectors_by_input_hash(self, digests: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors for encoder inputs seen before: those are never embedded again."""
        rows = self._rows_in("SELECT input_hash, vector FROM passages WHERE input_hash IN ({keys})", list(set(digests)))
        return {digest: np.frombuffer(blob, dtype=np.float32) for digest, blob in rows}

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

    def story_ids(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        """The story of each of `article_ids` (None for an article alone in its story)."""
        return dict(self._rows_in("SELECT id, story_id FROM articles WHERE id IN ({keys})", article_ids))

    def story_members(self, story_id: str, excluding: str) -> list[str]:
        """The ids of the articles of story `story_id` but `excluding`."""
        rows = self.db.execute("SELECT id FROM articles WHERE story_id=? AND id != ?", (story_id, excluding))
        return [r[0] for r in rows]

    def passage_owners(self) -> PassageOwners:
        """The article of every passage, for ranking passages by article without reading them."""
        rows = self.db.execute("SELECT id, article_id FROM passages ORDER BY id").fetchall()
        return PassageOwners(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), [r[1] for r in rows])

    def passage_ids_where(
        self, sources: Sequence[str] = (), published_from: date | None = None, published_to: date | None = None
    ) -> np.ndarray:
        """Ids of the passages of articles from any of `sources` (every source when empty) published from
        `published_from` to `published_to`, both days included; an undated article is outside any range."""
        clauses: list[str] = []
        params: list[object] = []
        if sources:
            clauses.append(f"a.source IN ({','.join('?' * len(sources))})")
            params.extend(sources)
        if published_from:
            clauses.append("a.published >= ?")
            params.append(published_from.isoformat())
        if published_to:
            # `published` may carry a time: compare its date part so the whole last day is included.
            clauses.append("substr(a.published, 1, 10) <= ?")
            params.append(published_to.isoformat())
        where = " AND ".join(clauses) or "1"
        rows = self.db.execute(
            f"SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE {where}", params
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def passages_by_id(self, ids: Sequence[int]) -> dict[int, Passage]:
        """The passages of `ids` (the few a result page shows), by id."""
        rows = self._rows_in("SELECT id, article_id, ordinal, start, end, text FROM passages WHERE id IN ({keys})", ids)
        return {r[0]: Passage(r[1], r[2], r[3], r[4], r[5]) for r in rows}

    def passage_ids_of(self, article_id: str) -> np.ndarray:
        """The ids of an article's passages, ascending."""
        rows = self.db.execute("SELECT id FROM passages WHERE article_id=? ORDER BY id", (article_id,))
        return np.array([r[0] for r in rows], dtype=np.int64)

    def passage_vectors(self, article_id: str) -> np.ndarray:
        """The vectors of an article's passages, one row each in passage order (no rows when it has none)."""
        rows = self.db.execute("SELECT vector FROM passages WHERE article_id=? ORDER BY ordinal", (article_id,))
        blobs = [r[0] for r in rows]
        if not blobs:
            return np.empty((0, 0), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)

    def passages_with_titles(self) -> Iterator[TitledPassage]:
        """Every passage in id order with its article's title and link: what the encoder saw can be rebuilt."""
        rows = self.db.execute(
            "SELECT p.id, a.id, coalesce(a.url, (SELECT u.original FROM article_urls u WHERE u.article_id = a.id "
            "ORDER BY u.rowid LIMIT 1)), a.title, p.text, p.input_hash "
            "FROM passages p JOIN articles a ON a.id = p.article_id ORDER BY p.id"
        )
        for row in rows:
            yield TitledPassage(*row)

    def articles_per_source(self) -> dict[str, int]:
        """Articles per source ('' for none), most first, then by name."""
        rows = self.db.execute("SELECT coalesce(source, ''), count(*) FROM articles GROUP BY 1 ORDER BY 2 DESC, 1")
        return {r[0]: r[1] for r in rows}

    def published_range(self) -> DateRange:
        """The days of the first and the last dated article."""
        row = self.db.execute(
            "SELECT min(substr(published, 1, 10)), max(substr(published, 1, 10)) FROM articles"
        ).fetchone()
        return DateRange(row[0], row[1])

    def term_instances(self) -> TermInstances:
        """Every term occurrence of the FTS5 table, from its vocabulary, for `index.lexical.postings`."""
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.newsdesk_instances USING fts5vocab(main, passages_fts, instance)"
        )
        try:
            # One row per term, its instances concatenated in the vocabulary's own (term, rowid) order:
            # SQLite does the grouping in C and numpy parses the lists, so 7.5M instances take ~2.5 s
            # instead of ~6 s of Python tuples.
            terms, rowid_lists, title_flags = [], [], []
            for term, rowids, flags in self.db.execute(
                "SELECT term, group_concat(doc), group_concat(col = 'title', '') "
                "FROM temp.newsdesk_instances GROUP BY term"
            ):
                terms.append(term)
                rowid_lists.append(rowids)
                title_flags.append(flags)
        finally:
            self.db.execute("DROP TABLE temp.newsdesk_instances")
        rows = int(self.db.execute("SELECT count(*) FROM passages_fts_docsize").fetchone()[0])
        return TermInstances(terms, rowid_lists, title_flags, rows)

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

    # --- time-aware search (issue 13): appended here so the store's other sections stay as they were ---

    def published_dates(self) -> dict[str, str]:
        """The `published` value of every dated article, by id: a searcher reads them once and keeps them
        in memory (search.published), so a per-question `as_of` costs no query."""
        return dict(self.db.execute("SELECT id, published FROM articles WHERE published IS NOT NULL"))

    def count_by_source(self, article_ids: Sequence[str]) -> dict[str, int]:
        """How many of `article_ids` each source has ('' for none), most first, then by name."""
        counts: dict[str, int] = {}
        for source, count in self._rows_in(
            "SELECT coalesce(source, ''), count(*) FROM articles WHERE id IN ({keys}) GROUP BY 1",
            list(dict.fromkeys(article_ids)),
        ):
            counts[source] = counts.get(source, 0) + count
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def count_by_day(self, article_ids: Sequence[str]) -> dict[str | None, int]:
        """How many of `article_ids` were published on each day (YYYY-MM-DD, the date as written; None
        for the undated ones)."""
        counts: dict[str | None, int] = {}
        for day, count in self._rows_in(
            "SELECT substr(published, 1, 10), count(*) FROM articles WHERE id IN ({keys}) GROUP BY 1",
            list(dict.fromkeys(article_ids)),
        ):
            counts[day] = counts.get(day, 0) + count
        return counts


class StorePerThread:
    """One read-only `Store` per thread over one file: sqlite3 connections are not meant to be shared."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def get(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.path, readonly=True)
        return store
