"""BM25 postings as arrays: per term (sorted), its documents and per-column term frequencies, plus each
document's length. Built from a batch's term instances (index.tokens), merged batch by batch into a segment,
filtered when a segment is compacted, and scored with FTS5's bm25() formula (`tf_norm`).

Documents are positions into `doc_ids` (passage ids, ascending); every passage of a segment is a document,
even one without a single token, because FTS5 counts those rows too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.tokens import TermInstances

# FTS5's bm25() constants (fts5_aux.c); changing them would break agreement with FTS5.
K1 = 1.2
B = 0.75
MIN_IDF = 1e-6
DEFAULT_WEIGHTS = (1.0, 1.0)  # title, text: the weights a segment's stored tf_norm is computed for
TF_MAX = 65535  # a term more than this many times in one passage column is not a passage any more


@dataclass(slots=True)
class Postings:
    """Postings over the documents `doc_ids`; `terms` is sorted (by code point, as FTS5 sorts UTF-8)."""

    terms: np.ndarray  # object array of str, V
    indptr: np.ndarray  # int64, V + 1: term t's postings are [indptr[t], indptr[t + 1])
    docs: np.ndarray  # int32 positions into doc_ids, ascending within each term
    tf_title: np.ndarray  # uint16
    tf_text: np.ndarray  # uint16
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
            np.empty(0, dtype=np.uint16),
            np.empty(0, dtype=np.uint16),
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
        np.minimum(tf_title, TF_MAX).astype(np.uint16),
        np.minimum(tf_text, TF_MAX).astype(np.uint16),
        np.asarray(doc_ids, dtype=np.int64),
        doc_lengths,
    )


def merge(parts: Sequence[Postings]) -> Postings:
    """One postings over the documents of `parts`, whose doc ids must be disjoint and ascending from one
    part to the next (batches of a build, neighbouring segments of a compaction)."""
    parts = [p for p in parts if len(p.doc_ids)]
    if not parts:
        return Postings.empty()
    if len(parts) == 1:
        return parts[0]
    vocabulary, term_of = np.unique(np.concatenate([p.terms for p in parts]), return_inverse=True)
    posting_terms, docs = [], []
    start = offset = 0
    for part in parts:
        mapped = term_of[start : start + len(part.terms)].astype(np.int32)
        posting_terms.append(np.repeat(mapped, np.diff(part.indptr)))
        docs.append(part.docs.astype(np.int32) + offset)
        start += len(part.terms)
        offset += len(part.doc_ids)
    terms_of_postings = np.concatenate(posting_terms)
    # Stable: within a term, the parts' postings stay in part order, which is document order.
    order = np.argsort(terms_of_postings, kind="stable")
    indptr = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms_of_postings, minlength=len(vocabulary)), out=indptr[1:])
    del terms_of_postings
    return Postings(
        vocabulary,
        indptr,
        np.concatenate(docs)[order],
        np.concatenate([p.tf_title for p in parts])[order],
        np.concatenate([p.tf_text for p in parts])[order],
        np.concatenate([p.doc_ids for p in parts]),
        np.concatenate([p.doc_lengths for p in parts]),
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
    column-weighted frequency: a posting's score is this times its term's idf."""
    title_weight, text_weight = weights
    tf = title_weight * tf_title.astype(np.float64) + text_weight * tf_text.astype(np.float64)
    norm = K1 * (1 - B + B * doc_lengths[docs].astype(np.float64) / (average_length or 1.0))
    return (tf * (K1 + 1) / (tf + norm)).astype(np.float32)


def idf(documents: int, frequency: np.ndarray | int) -> np.ndarray:
    """FTS5's idf: log((N − n + 0.5) / (n + 0.5)), never below a tiny positive floor."""
    value = np.log((documents - np.asarray(frequency, dtype=np.float64) + 0.5) / (np.asarray(frequency) + 0.5))
    return np.where(value <= 0.0, MIN_IDF, value)
