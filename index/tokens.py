"""FTS5's tokenizer (porter over unicode61) as a library, through in-memory SQLite tables that hold no index
data: queries are stemmed with it, and each batch of passages is tokenized with it when it is written, so
query and passage terms always agree and BM25 matches FTS5's own bm25() (tests/test_lexical.py).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from typing import NamedTuple

FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"


class TermInstances(NamedTuple):
    """Every occurrence of every term in a set of documents, as FTS5's vocabulary lists them: per term
    (in FTS5's order: by UTF-8 bytes), its documents' rowids (comma-separated, one per occurrence, in rowid
    order) and whether each occurrence is in the title column ("1") or not ("0")."""

    terms: list[str]
    rowid_lists: list[str]
    title_flags: list[str]
    rows: int  # documents in the table, matched or not


def tokenize(documents: Iterable[tuple[int, str, str]]) -> TermInstances:
    """The term instances of (rowid, title, text) documents, tokenized as the index's FTS5 table would."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute(f"CREATE VIRTUAL TABLE docs USING fts5(title, text, content='', tokenize='{FTS_TOKENIZER}')")
        db.executemany("INSERT INTO docs(rowid, title, text) VALUES (?, ?, ?)", documents)
        db.execute("CREATE VIRTUAL TABLE instances USING fts5vocab(docs, instance)")
        # One row per term, its instances concatenated in the vocabulary's own (term, rowid) order: SQLite
        # groups in C and numpy parses the lists (index.postings), far faster than a Python tuple per instance.
        rows = db.execute(
            "SELECT term, group_concat(doc), group_concat(col = 'title', '') FROM instances GROUP BY term"
        ).fetchall()
        count = int(db.execute("SELECT count(*) FROM docs_docsize").fetchone()[0])
    finally:
        db.close()
    return TermInstances([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], count)


class QueryStemmer:
    """Query words to FTS5 terms, by FTS5's own tokenizer: one in-memory table per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(":memory:", check_same_thread=True)
            db.execute(f"CREATE VIRTUAL TABLE q USING fts5(text, tokenize='{FTS_TOKENIZER}')")
            db.execute("CREATE VIRTUAL TABLE q_terms USING fts5vocab(q, row)")
            self._local.db = db
        return db

    def terms(self, text: str) -> dict[str, int]:
        """FTS5 terms of `text`, each with the number of times it occurs."""
        db = self._db()
        db.execute("DELETE FROM q")
        db.execute("INSERT INTO q(text) VALUES (?)", (text,))
        return dict(db.execute("SELECT term, cnt FROM q_terms"))
