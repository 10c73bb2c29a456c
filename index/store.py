"""The SQLite store: articles, their URLs, passages, stories and the index's commit record (`meta`).

Every SQL statement about an index's rows is here (`index.staging` has the build's vector cache). A format-2
index has one store, updated in place in WAL mode: a writer changes it inside one transaction that also
records the generation it publishes, and a reader holds one read transaction for its lifetime
(`begin_snapshot`), so every row it reads belongs to the generation it opened. Passage vectors are not
here: they live in the segments, and a reader's store is given `vector_lookup` to read them from there.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
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

VectorLookup = Callable[[np.ndarray], np.ndarray]  # passage ids -> their vectors, one row each


def pack_text(text: str) -> bytes:
    """An article's text as the store keeps it: zlib-compressed UTF-8 (news text shrinks to ~43 %, and a
    page of results decompresses its articles in well under a millisecond)."""
    return zlib.compress(text.encode("utf-8"), 6)


def unpack_text(value: str | bytes) -> str:
    """An article's text from its column: compressed (format 2) or plain (a format-1 store)."""
    return value if isinstance(value, str) else zlib.decompress(value).decode("utf-8")


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


_ARTICLE_COLUMNS = (
    "id, url, canonical_url, title, source, authors, published, language, text, "
    "content_hash, story_id, first_seen, updated"
)


TEXTS_KEPT = 256  # decompressed article texts a reader keeps (a page of results and its story copies)


class Store:
    """A connection to an index's `news.sqlite`. Transactions are explicit: `begin` ... `commit` for a
    writer, `begin_snapshot` for a reader; outside them every statement commits by itself."""

    def __init__(
        self, path: Path, readonly: bool = False, vector_lookup: VectorLookup | None = None, wal: bool = True
    ) -> None:
        self.path = path
        self.vector_lookup = vector_lookup
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
        else:
            self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.db.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}")
            self.db.execute("PRAGMA synchronous=FULL")  # a commit is the publication of a generation
            self.db.execute("PRAGMA journal_size_limit=67108864")  # a checkpointed WAL shrinks back to 64 MiB
            self.db.executescript(SCHEMA)
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        self.db.row_factory = sqlite3.Row
        self._changes_at_begin = 0
        # A reader's rows never change under it (its snapshot), so decompressed texts can be kept; a
        # writer's can change, so it keeps none.
        self._texts: OrderedDict[str, str] | None = OrderedDict() if readonly else None
        self._texts_lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def _rows_in(self, sql: str, keys: Sequence[object]) -> Iterator[Any]:
        """The rows of `sql` for every key, its `{keys}` placeholder bound to `IN_CHUNK` keys at a time."""
        # Chained cursors: the rows pass through C, not through a Python generator per row (a search
        # reads story ids for hundreds of candidate articles).
        return itertools.chain.from_iterable(
            self.db.execute(sql.format(keys=",".join("?" * len(chunk))), chunk)
            for chunk in (keys[begin : begin + IN_CHUNK] for begin in range(0, len(keys), IN_CHUNK))
        )

    # --- transactions and the commit record ------------------------------------------------------

    def begin(self) -> None:
        """Start the writer's transaction (taking SQLite's write lock: readers go on reading)."""
        self.db.execute("BEGIN IMMEDIATE")
        self._changes_at_begin = self.db.total_changes

    def begin_snapshot(self) -> int:
        """Start the read transaction a reader keeps: from here on it sees the store as of this moment.
        Returns the generation committed then (0 for a store that never published one)."""
        self.db.execute("BEGIN")
        return int(self.meta("generation") or 0)  # the first read fixes the snapshot

    def end_snapshot(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def commit(self) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def changes(self) -> int:
        """Rows inserted, updated or deleted since `begin`: 0 means a build changed nothing."""
        return self.db.total_changes - self._changes_at_begin

    def checkpoint(self) -> None:
        """Copy committed pages from the WAL into the database file, as far as no reader still needs them."""
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def copy_rows_from(self, path: Path, tables: dict[str, str]) -> None:
        """Copy `tables` (name -> the columns to copy) from another store file, in one transaction; a
        column written `pack_text(text)` is compressed on the way."""
        self.db.create_function("pack_text", 1, pack_text, deterministic=True)
        self.db.execute("ATTACH DATABASE ? AS source", (str(path),))
        try:
            self.db.execute("BEGIN")
            for table, columns in tables.items():
                targets = columns.replace("pack_text(text)", "text")
                self.db.execute(f"INSERT INTO main.{table}({targets}) SELECT {columns} FROM source.{table}")
            self.db.execute("COMMIT")
        finally:
            self.db.execute("DETACH DATABASE source")

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # --- reading -------------------------------------------------------------------------------

    def _text(self, article_id: str, packed: str | bytes) -> str:
        """An article's text from its column value, decompressed at most once while it stays recent."""
        if self._texts is None:
            return unpack_text(packed)
        with self._texts_lock:
            text = self._texts.get(article_id)
            if text is not None:
                self._texts.move_to_end(article_id)
                return text
        text = unpack_text(packed)
        with self._texts_lock:
            self._texts[article_id] = text
            if len(self._texts) > TEXTS_KEPT:
                self._texts.popitem(last=False)
        return text

    def article_state(self, article_id: str) -> tuple[str, str | None] | None:
        """(content_hash, first_seen) of a stored article, or None."""
        row = self.db.execute("SELECT content_hash, first_seen FROM articles WHERE id=?", (article_id,)).fetchone()
        return (row[0], row[1]) if row else None

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
        # Two indexed lookups, the canonical form (the primary key) first, then the URL as it was seen (a URL
        # stored under an older canonical form): one `url=? OR original=?` scans the whole table, and 100
        # lookups took 0.76 s at a million passages against 0.04 s at 100k.
        for sql, key in (
            ("SELECT article_id FROM article_urls WHERE url=?", canonical_url(id_or_url)),
            ("SELECT article_id FROM article_urls WHERE original=? LIMIT 1", id_or_url),
        ):
            row = self.db.execute(sql, (key,)).fetchone()
            if row:
                return row[0]
        return None

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
                **{k: row[k] for k in row.keys() if k not in ("authors", "text")},  # noqa: SIM118 (Row iterates values)
                authors=json.loads(row["authors"]),
                text=self._text(row["id"], row["text"]),
                urls=urls.get(row["id"], []),
            )
            for row in self._rows_in(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({{keys}})", ids)
        }

    def article(self, article_id: str) -> StoredArticle | None:
        return self.articles([article_id]).get(article_id)

    def passages_of(self, article_id: str) -> list[Passage]:
        row = self.db.execute("SELECT text FROM articles WHERE id=?", (article_id,)).fetchone()
        if row is None:
            return []
        text = self._text(article_id, row[0])
        rows = self.db.execute(
            "SELECT ordinal, start, end FROM passages WHERE article_id=? ORDER BY ordinal", (article_id,)
        )
        # A passage is a span of its article's text: text[start:end].
        return [Passage(article_id, r[0], r[1], r[2], text[r[1] : r[2]]) for r in rows]

    def passage_ids_by_input_hash(self, digests: Iterable[str], below: int) -> dict[str, int]:
        """A passage id (under `below`: ones already in a segment) for each encoder input seen before."""
        rows = self._rows_in(
            f"SELECT input_hash, id FROM passages WHERE id < {int(below)} AND input_hash IN ({{keys}})",
            list(set(digests)),
        )
        return {digest: pid for digest, pid in rows}

    def max_passage_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM passages").fetchone()[0])

    def story_ids(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        """The story of each of `article_ids` (None for an article alone in its story)."""
        return dict(self._rows_in("SELECT id, story_id FROM articles WHERE id IN ({keys})", article_ids))

    def story_members(self, story_id: str, excluding: str) -> list[str]:
        """The ids of the articles of story `story_id` but `excluding`."""
        rows = self.db.execute("SELECT id FROM articles WHERE story_id=? AND id != ?", (story_id, excluding))
        return [r[0] for r in rows]

    def passage_owners(self) -> PassageOwners:
        """The article of every passage (a format-1 index has no passage map of its own)."""
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
        rows = list(self._rows_in("SELECT id, article_id, ordinal, start, end FROM passages WHERE id IN ({keys})", ids))
        texts = {
            r[0]: self._text(r[0], r[1])
            for r in self._rows_in("SELECT id, text FROM articles WHERE id IN ({keys})", sorted({r[1] for r in rows}))
        }
        return {r[0]: Passage(r[1], r[2], r[3], r[4], texts[r[1]][r[3] : r[4]]) for r in rows}

    def passage_ids_of(self, article_id: str) -> np.ndarray:
        """The ids of an article's passages, ascending."""
        rows = self.db.execute("SELECT id FROM passages WHERE article_id=? ORDER BY id", (article_id,))
        return np.array([r[0] for r in rows], dtype=np.int64)

    def passage_vectors(self, article_id: str) -> np.ndarray:
        """The vectors of an article's passages, one row each in passage order (no rows when it has none)."""
        ids = np.fromiter(
            (
                r[0]
                for r in self.db.execute("SELECT id FROM passages WHERE article_id=? ORDER BY ordinal", (article_id,))
            ),
            dtype=np.int64,
        )
        if not len(ids):
            return np.empty((0, 0), dtype=np.float32)
        if self.vector_lookup is None:
            raise RuntimeError("this store was opened without a vector lookup (open it through index.snapshot)")
        return self.vector_lookup(ids)

    def passages_with_titles(self) -> Iterator[TitledPassage]:
        """Every passage in id order with its article's title and link: what the encoder saw can be rebuilt."""
        rows = self.db.execute(
            "SELECT p.id, a.id, coalesce(a.url, (SELECT u.original FROM article_urls u WHERE u.article_id = a.id "
            "ORDER BY u.rowid LIMIT 1)), a.title, a.text, p.start, p.end, p.input_hash "
            "FROM passages p JOIN articles a ON a.id = p.article_id ORDER BY p.id"
        )
        last_article, text = None, ""
        for pid, article_id, url, title, packed, start, end, digest in rows:
            if article_id != last_article:  # an article's passages come one after another
                last_article, text = article_id, unpack_text(packed)
            yield TitledPassage(pid, article_id, url, title, text[start:end], digest)

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
        """Every term occurrence of a format-1 store's FTS5 table (`passages_fts`), for `index.lexical`."""
        self.db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.newsdesk_instances USING fts5vocab(main, passages_fts, instance)"
        )
        try:
            rows = self.db.execute(
                "SELECT term, group_concat(doc), group_concat(col = 'title', '') "
                "FROM temp.newsdesk_instances GROUP BY term"
            ).fetchall()
        finally:
            self.db.execute("DROP TABLE temp.newsdesk_instances")
        count = int(self.db.execute("SELECT count(*) FROM passages_fts_docsize").fetchone()[0])
        return TermInstances([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], count)

    def probe(self) -> None:
        """Read one row (raises sqlite3.Error when the database cannot be read): a health check that costs
        the same at any size."""
        self.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone()

    def counts(self) -> dict[str, int]:
        return {**self.article_counts(), "passages": self.db.execute("SELECT count(*) FROM passages").fetchone()[0]}

    def article_counts(self) -> dict[str, int]:
        """Articles, and stories of more than one article."""
        return {
            "articles": self.db.execute("SELECT count(*) FROM articles").fetchone()[0],
            "stories": self.db.execute("SELECT count(*) FROM stories WHERE size > 1").fetchone()[0],
        }

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

    # --- writing -------------------------------------------------------------------------------

    def add_url(self, article_id: str, canonical: str | None, original: str | None) -> None:
        if canonical:
            self.db.execute(
                "INSERT OR IGNORE INTO article_urls(url, article_id, original) VALUES (?,?,?)",
                (canonical, article_id, original or canonical),
            )

    def delete_passages(self, article_id: str) -> list[tuple[int, str]]:
        """Delete an article's passages; returns their (id, input hash): their vectors stay reusable."""
        rows = [
            (r[0], r[1])
            for r in self.db.execute("SELECT id, input_hash FROM passages WHERE article_id=?", (article_id,))
        ]
        self.db.execute("DELETE FROM passages WHERE article_id=?", (article_id,))
        return rows

    def delete_article(self, article_id: str) -> list[tuple[int, str]]:
        """Delete an article with its URLs and passages (returned as by `delete_passages`)."""
        rows = self.delete_passages(article_id)
        self.db.execute("DELETE FROM articles WHERE id=?", (article_id,))
        return rows

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
                pack_text(article.text),
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

    def put_passages(self, first_id: int, passages: list[Passage], input_hashes: list[str]) -> None:
        """Insert passages with ids `first_id`, `first_id + 1`, ... (their vectors go to a segment)."""
        self.db.executemany(
            "INSERT INTO passages(id, article_id, ordinal, start, end, input_hash) VALUES (?,?,?,?,?,?)",
            [
                (first_id + n, p.article_id, p.ordinal, p.start, p.end, digest)
                for n, (p, digest) in enumerate(zip(passages, input_hashes, strict=True))
            ],
        )

    # --- stories ---------------------------------------------------------------------------------

    def story_candidates(self, keys: Sequence[int]) -> list[tuple[str, str | None, bytes]]:
        """(id, story id, signature) of the articles sharing any of the LSH band `keys`."""
        ids = sorted({r[0] for r in self._rows_in("SELECT article_id FROM story_bands WHERE key IN ({keys})", keys)})
        return [
            (r[0], r[1], r[2])
            for r in self._rows_in("SELECT id, story_id, signature FROM articles WHERE id IN ({keys})", ids)
        ]

    def story_of(self, article_id: str) -> tuple[str | None, bytes | None] | None:
        """(story id, signature) of a stored article, or None."""
        row = self.db.execute("SELECT story_id, signature FROM articles WHERE id=?", (article_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def add_story_bands(self, article_id: str, keys: Sequence[int]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO story_bands(key, article_id) VALUES (?, ?)", [(k, article_id) for k in keys]
        )

    def prune_story_bands(self) -> int:
        """Drop the band keys of articles no longer stored (removals leave them: see index.stories); how many."""
        return self.db.execute("DELETE FROM story_bands WHERE article_id NOT IN (SELECT id FROM articles)").rowcount

    def set_story(self, article_id: str, story_id: str) -> None:
        self.db.execute("UPDATE articles SET story_id=? WHERE id=?", (story_id, article_id))

    def refresh_story_sizes(self, story_ids: Iterable[str]) -> None:
        """Recount the articles of `story_ids` (a story left with none is dropped)."""
        for story_id in set(story_ids):
            self.db.execute("DELETE FROM stories WHERE id=?", (story_id,))
            self.db.execute(
                "INSERT INTO stories(id, size) SELECT story_id, count(*) FROM articles WHERE story_id=? "
                "GROUP BY story_id",
                (story_id,),
            )

    def signatures(self) -> Iterator[tuple[str, bytes]]:
        """(id, signature) of every signed article (a migration fills `story_bands` from them)."""
        for row in self.db.execute("SELECT id, signature FROM articles WHERE signature IS NOT NULL"):
            yield row[0], row[1]
