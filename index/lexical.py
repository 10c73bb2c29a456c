"""BM25 over the FTS5 table's own postings, held as arrays for the query path.

FTS5 tokenizes every passage (porter over unicode61) and keeps the postings; it stays the source of
truth. But ranking an OR query inside FTS5 costs about a microsecond per matching row, and a news
question of ten content words matches half of rtqa-5k's 54k passages: 22-29 ms p50, most of a
hybrid query. So each generation also gets its postings exported once, at build time, as per-term
arrays of (passage, term frequency per column) in `lexical.npz`. A query then looks up its stemmed
terms, gathers their precomputed BM25 impacts and sums them with one `bincount`: the scores of FTS5's
own `bm25()` (same k1, b, idf, column weights and document lengths; tests/test_lexical.py compares
them) in about a millisecond. Queries are stemmed by FTS5 itself (an in-memory table with the same
tokenizer), so query and passage terms always agree.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from index.errors import IndexFormatError
from index.model import Hits

FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
FORMAT = 1

# FTS5's bm25() constants (fts5_aux.c); changing them would break agreement with FTS5.
K1 = 1.2
B = 0.75
MIN_IDF = 1e-6


class TermInstances(NamedTuple):
    """Every occurrence of every term in an FTS5 table, as the store reads it from FTS5's vocabulary:
    per term, its documents' rowids (comma-separated, one per occurrence, in rowid order) and whether
    each occurrence is in the title column ("1") or not ("0")."""

    terms: list[str]
    rowid_lists: list[str]
    title_flags: list[str]
    rows: int  # documents in the table, matched or not


def export_postings(instances: TermInstances, path: Path) -> None:
    """Write the postings of `instances` (`Store.term_instances()`) to `path` (.npz)."""
    with open(path, "wb") as handle:
        np.savez(handle, allow_pickle=False, **postings(instances))


def postings(instances: TermInstances) -> dict[str, np.ndarray]:
    """The postings as arrays: per term, its documents and per-column frequencies."""
    terms, rowid_lists, title_flags, rows = instances
    counts = np.fromiter((len(f) for f in title_flags), dtype=np.int64, count=len(title_flags))
    if counts.sum():
        instance_rowids = np.fromstring(",".join(rowid_lists), dtype=np.int64, sep=",")
    else:
        instance_rowids = np.empty(0, dtype=np.int64)
    in_title = np.frombuffer("".join(title_flags).encode("ascii"), dtype=np.uint8) == ord("1")
    instance_terms = np.repeat(np.arange(len(terms), dtype=np.int64), counts)
    doc_ids, instance_docs = np.unique(instance_rowids, return_inverse=True)
    doc_lengths = np.bincount(instance_docs, minlength=len(doc_ids)).astype(np.int32)
    # One posting per (term, document): its term frequency in each column.
    key = instance_terms * max(len(doc_ids), 1) + instance_docs
    posting_keys, posting_of_instance = np.unique(key, return_inverse=True)
    tf_title = np.bincount(posting_of_instance, weights=in_title, minlength=len(posting_keys))
    tf_text = np.bincount(posting_of_instance, weights=~in_title, minlength=len(posting_keys))
    posting_terms = posting_keys // max(len(doc_ids), 1)
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(posting_terms, minlength=len(terms)), out=indptr[1:])
    return {
        "format": np.array([FORMAT]),
        "rows": np.array([rows]),
        "terms": np.array("\n".join(terms).encode("utf-8")),
        "indptr": indptr,
        "docs": (posting_keys % max(len(doc_ids), 1)).astype(np.int32),
        # A term more than 65,535 times in one passage column is not a passage any more.
        "tf_title": np.minimum(tf_title, 65535).astype(np.uint16),
        "tf_text": np.minimum(tf_text, 65535).astype(np.uint16),
        "doc_ids": doc_ids,
        "doc_lengths": doc_lengths,
    }


class LexicalIndex:
    """BM25 impacts per posting, computed once at open for the given column weights (`weights`):
    other weights need another LexicalIndex."""

    def __init__(self, arrays: Mapping[str, np.ndarray], title_weight: float = 1.0, text_weight: float = 1.0) -> None:
        if int(arrays["format"][0]) != FORMAT:
            raise IndexFormatError(f"lexical postings format {int(arrays['format'][0])}; expected {FORMAT}")
        raw_terms = bytes(arrays["terms"]).decode("utf-8")
        self.weights = (title_weight, text_weight)
        self.term_ids = {term: i for i, term in enumerate(raw_terms.split("\n"))} if raw_terms else {}
        self.indptr = arrays["indptr"]
        self.docs = arrays["docs"]
        self.doc_ids = arrays["doc_ids"]
        rows = int(arrays["rows"][0])
        self.documents = rows  # passages in the FTS5 table: the N of every idf
        lengths = arrays["doc_lengths"].astype(np.float64)
        average = lengths.sum() / rows if rows else 1.0
        frequency = np.diff(self.indptr)
        idf = np.log((rows - frequency + 0.5) / (frequency + 0.5))
        idf[idf <= 0.0] = MIN_IDF
        tf = title_weight * arrays["tf_title"].astype(np.float64) + text_weight * arrays["tf_text"].astype(np.float64)
        norm = K1 * (1 - B + B * lengths / average)
        impact = np.repeat(idf, frequency) * tf * (K1 + 1) / (tf + norm[self.docs])
        self.impacts = impact.astype(np.float32)

    @classmethod
    def load(cls, path: Path, title_weight: float = 1.0, text_weight: float = 1.0) -> LexicalIndex:
        try:
            with np.load(path) as arrays:
                return cls({name: arrays[name] for name in arrays.files}, title_weight, text_weight)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexFormatError(f"cannot read {path}: {exc}") from exc

    def allowed_mask(self, passage_ids: np.ndarray) -> np.ndarray:
        """Which postings documents a filter keeps, from the passage ids it allows."""
        return np.isin(self.doc_ids, passage_ids, assume_unique=False)

    def passage_counts(self, terms: Iterable[str], excluding: np.ndarray | None = None) -> dict[str, int]:
        """Per known term, the passages holding it (its document frequency), leaving out the passages whose
        ids are in `excluding`: given an article's own, a term no other article uses counts 0."""
        known = [(term, self.term_ids[term]) for term in terms if term in self.term_ids]
        ids = np.array([t for _, t in known], dtype=np.int64)
        counts = self.indptr[ids + 1] - self.indptr[ids]
        if excluding is not None and len(excluding) and len(ids):
            excluding = np.asarray(excluding, dtype=np.int64)
            at = np.minimum(np.searchsorted(self.doc_ids, excluding), len(self.doc_ids) - 1)
            counts = counts - self._holding(ids, np.unique(at[self.doc_ids[at] == excluding]))
        return {term: int(count) for (term, _), count in zip(known, counts, strict=True)}

    def _holding(self, term_ids: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """Per term, how many of `docs` (postings documents) hold it. A term's postings are sorted by
        document, so this is one binary search per (term, document), run for all pairs at once: a numpy
        call per term was most of a related request's cost (a few hundred terms each)."""
        starts = np.repeat(self.indptr[term_ids], len(docs))
        ends = np.repeat(self.indptr[term_ids + 1], len(docs))
        wanted = np.tile(docs, len(term_ids))
        low, high = starts.copy(), ends.copy()
        while (open_ := low < high).any():
            middle = (low + high) // 2
            before = self.docs[np.minimum(middle, len(self.docs) - 1)] < wanted
            low = np.where(open_ & before, middle + 1, low)
            high = np.where(open_ & ~before, middle, high)
        hit = (low < ends) & (self.docs[np.minimum(low, len(self.docs) - 1)] == wanted)
        return hit.reshape(len(term_ids), len(docs)).sum(axis=1)

    def search(self, terms: dict[str, int], depth: int, allowed: np.ndarray | None = None) -> Hits:
        """The `depth` best passages and their BM25 scores, of those matching any of the stemmed `terms`
        (term -> times it occurs in the query: FTS5 scores each occurrence, so "featured" and
        "featuring" count twice, and so does this)."""
        found = sorted((self.term_ids[t], n) for t, n in terms.items() if t in self.term_ids)
        if not found or depth <= 0:
            return Hits.empty(np.float64)
        slices = [(slice(self.indptr[t], self.indptr[t + 1]), n) for t, n in found]
        docs = np.concatenate([self.docs[s] for s, _ in slices])
        impacts = np.concatenate([self.impacts[s] * n if n > 1 else self.impacts[s] for s, n in slices])
        scores = np.bincount(docs, weights=impacts, minlength=len(self.doc_ids))
        if allowed is not None:
            scores[~allowed] = 0.0
        matched = np.flatnonzero(scores)
        if len(matched) > depth:
            matched = matched[np.argpartition(-scores[matched], depth - 1)[:depth]]
        # Best first; equal scores in passage order, so results are stable from run to run.
        order = np.lexsort((matched, -scores[matched]))
        best = matched[order]
        return Hits(self.doc_ids[best], scores[best])


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
