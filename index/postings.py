"""BM25 postings as arrays: per term (sorted), its documents and per-column term frequencies, plus each
document's length. Built from a batch's term instances (index.tokens), merged batch by batch into a segment,
filtered when a segment is compacted, and scored with FTS5's bm25() formula (`tf_norm`).

Documents are positions into `doc_ids` (passage ids, ascending); every passage of a segment is a document,
even one without a single token, because FTS5 counts those rows too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.tokens import TermInstances

# FTS5's bm25() constants (fts5_aux.c); changing them would break agreement with FTS5.
K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
DEFAULT_WEIGHTS = (1.0, 1.0)  # title, text: the weights a segment's stored tf_norm is computed for
# Term frequencies are kept in a byte: a passage is at most a few hundred word pieces, and BM25's tf part
# has saturated long before (tf 255 vs 300 changes it by under 0.2 %). Saves 2 bytes a posting.
TF_MAX = 255
TF_TYPE = np.uint8
_CHUNK = 1 << 22


@dataclass(slots=True)
class Postings:
    """Postings over the documents `doc_ids`; `terms` is sorted (by code point, as FTS5 sorts UTF-8)."""

    terms: np.ndarray  # object array of str, V
    indptr: np.ndarray  # int64, V + 1: term t's postings are [indptr[t], indptr[t + 1])
    docs: np.ndarray  # int32 positions into doc_ids, ascending within each term
    tf_title: np.ndarray  # TF_TYPE
    tf_text: np.ndarray  # TF_TYPE
    doc_ids: np.ndarray  # int64, ascending
    doc_lengths: np.ndarray  # int32 tokens per document, all columns

    @property
    def tokens(self) -> int:
        return int(self.doc_lengths.sum(dtype=np.int64))

    @classmethod
    def empty(cls) -> Postings:
        return cls(
            np.empty(0, dtype=object),
            np.zeros(1, dtype=np.int64),
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=TF_TYPE),
            np.empty(0, dtype=TF_TYPE),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.int32),
        )


def from_instances(instances: TermInstances, doc_ids: np.ndarray) -> Postings:
    """The postings of `instances` (index.tokens.tokenize) over the documents `doc_ids` (ascending; every
    rowid in the instances must be one of them)."""
    terms, rowid_lists, title_flags, _ = instances
    counts = np.fromiter((len(f) for f in title_flags), dtype=np.int64, count=len(title_flags))
    if counts.sum():
        instance_rowids = np.array(",".join(rowid_lists).split(","), dtype=np.int64)
    else:
        instance_rowids = np.empty(0, dtype=np.int64)
    in_title = np.frombuffer("".join(title_flags).encode("ascii"), dtype=np.uint8) == ord("1")
    instance_terms = np.repeat(np.arange(len(terms), dtype=np.int64), counts)
    instance_docs = np.searchsorted(doc_ids, instance_rowids)
    n = max(len(doc_ids), 1)
    doc_lengths = np.bincount(instance_docs, minlength=len(doc_ids)).astype(np.int32)
    # One posting per (term, document): its term frequency in each column.
    posting_keys, posting_of_instance = np.unique(instance_terms * n + instance_docs, return_inverse=True)
    tf_title = np.bincount(posting_of_instance, weights=in_title, minlength=len(posting_keys))
    tf_text = np.bincount(posting_of_instance, weights=~in_title, minlength=len(posting_keys))
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(posting_keys // n, minlength=len(terms)), out=indptr[1:])
    return Postings(
        np.array(terms, dtype=object),
        indptr,
        (posting_keys % n).astype(np.int32),
        np.minimum(tf_title, TF_MAX).astype(TF_TYPE),
        np.minimum(tf_text, TF_MAX).astype(TF_TYPE),
        np.asarray(doc_ids, dtype=np.int64),
        doc_lengths,
    )


def merge(parts: Sequence[Postings]) -> Postings:
    """One postings over the documents of `parts`, whose doc ids must be disjoint and ascending from one
    part to the next (batches of a build, neighbouring segments of a compaction)."""
    return merge_parts([functools.partial(_itself, part) for part in parts])


def _itself(postings: Postings) -> Postings:
    return postings


def merge_parts(parts: Sequence[Callable[[], Postings]]) -> Postings:
    """`merge` for parts loaded one at a time (a segment being finished keeps its batches' postings on
    disk). Memory: the result, the vocabulary and one part; no sort of all postings: each part's postings
    are copied to their places (per term, parts come in document order)."""
    vocabulary_set: set[str] = set()
    for load in parts:
        vocabulary_set.update(load().terms.tolist())
    vocabulary = np.array(sorted(vocabulary_set), dtype=object)
    del vocabulary_set
    counts = np.zeros(len(vocabulary), dtype=np.int64)
    term_ids: list[np.ndarray] = []
    sizes = []
    for load in parts:
        part = load()
        ids = np.searchsorted(vocabulary, part.terms) if len(part.terms) else np.empty(0, dtype=np.int64)
        np.add.at(counts, ids, np.diff(part.indptr))
        term_ids.append(ids)
        sizes.append((len(part.doc_ids), int(part.indptr[-1])))
    indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    total = int(indptr[-1])
    docs = np.empty(total, dtype=np.int32)
    tf_title, tf_text = np.empty(total, dtype=TF_TYPE), np.empty(total, dtype=TF_TYPE)
    doc_ids, doc_lengths = [], []
    filled = indptr[:-1].copy()
    offset = 0
    for load, ids, (documents, postings) in zip(parts, term_ids, sizes, strict=True):
        part = load()
        lengths = np.diff(part.indptr)
        # Posting j of local term t goes to filled[t] + (j - part.indptr[t]).
        destination = np.repeat(filled[ids] - part.indptr[:-1], lengths) + np.arange(postings, dtype=np.int64)
        filled[ids] += lengths
        docs[destination] = np.asarray(part.docs, dtype=np.int32) + offset
        tf_title[destination] = part.tf_title
        tf_text[destination] = part.tf_text
        doc_ids.append(np.asarray(part.doc_ids))
        doc_lengths.append(np.asarray(part.doc_lengths))
        offset += documents
    return Postings(
        vocabulary,
        indptr,
        docs,
        tf_title,
        tf_text,
        np.concatenate(doc_ids) if doc_ids else np.empty(0, dtype=np.int64),
        np.concatenate(doc_lengths) if doc_lengths else np.empty(0, dtype=np.int32),
    )


def keep_documents(postings: Postings, keep: np.ndarray) -> Postings:
    """The postings of the documents where `keep` (bool, one per document) is true; terms left without
    a posting are dropped."""
    if keep.all():
        return postings
    new_position = np.cumsum(keep, dtype=np.int64) - 1
    kept = keep[postings.docs]
    running = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(kept, out=running[1:])
    per_term = running[postings.indptr[1:]] - running[postings.indptr[:-1]]
    alive = per_term > 0
    indptr = np.zeros(int(alive.sum()) + 1, dtype=np.int64)
    np.cumsum(per_term[alive], out=indptr[1:])
    return Postings(
        postings.terms[alive],
        indptr,
        new_position[postings.docs[kept]].astype(np.int32),
        postings.tf_title[kept],
        postings.tf_text[kept],
        postings.doc_ids[keep],
        postings.doc_lengths[keep],
    )


def tf_norm(
    docs: np.ndarray,
    tf_title: np.ndarray,
    tf_text: np.ndarray,
    doc_lengths: np.ndarray,
    average_length: float,
    weights: tuple[float, float] = DEFAULT_WEIGHTS,
) -> np.ndarray:
    """Each posting's BM25 term-frequency part, tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl)), with tf the
    column-weighted frequency: a posting's score is this times its term's idf. Computed in float64, a
    chunk at a time (a segment has tens of millions of postings)."""
    title_weight, text_weight = weights
    out = np.empty(len(docs), dtype=np.float32)
    for begin in range(0, len(docs), _CHUNK):
        chunk = slice(begin, begin + _CHUNK)
        tf = title_weight * tf_title[chunk].astype(np.float64) + text_weight * tf_text[chunk].astype(np.float64)
        norm = K1 * (1 - B + B * doc_lengths[docs[chunk]].astype(np.float64) / (average_length or 1.0))
        out[chunk] = tf * (K1 + 1) / (tf + norm)
    return out


def idf(documents: int, frequency: np.ndarray | int) -> np.ndarray:
    """FTS5's idf: log((N − n + 0.5) / (n + 0.5)), never below a tiny positive floor."""
    value = np.log((documents - np.asarray(frequency, dtype=np.float64) + 0.5) / (np.asarray(frequency) + 0.5))
    return np.where(value <= 0.0, MIN_IDF, value)
