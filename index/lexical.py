"""BM25 over the segments' postings, held as (memory-mapped) arrays for the query path.

Ranking an OR query inside FTS5 costs about a microsecond per matching row, and a news question of ten
content words matches half of rtqa-5k's 54k passages: 22-29 ms p50, most of a hybrid query. So each
segment keeps its postings as per-term arrays of (passage, term frequency per column) with each posting's
BM25 term-frequency part already computed (`tf_norm`, for the default column weights and the segment's own
average length). A query looks up its stemmed terms in each segment, multiplies their postings by the
term's idf over the live index (documents and document frequencies counted across segments, deleted
passages left out) and sums them with one `bincount`. For a single segment without deletions these are
the scores of FTS5's own `bm25()` (same k1, b, idf, column weights and lengths; tests/test_lexical.py
compares them); across segments, only the average length is each segment's own (a drift of a few
percent of b's share at most, gone at the next compaction).
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import IndexFormatError
from index.model import Hits
from index.postings import DEFAULT_WEIGHTS, Postings, idf, tf_norm
from index.tokens import FTS_TOKENIZER, QueryStemmer, TermInstances

__all__ = ["FTS_TOKENIZER", "LexicalIndex", "LexicalSegment", "QueryStemmer", "TermInstances", "TermTable"]

FORMAT = 2
_ARRAYS = ("indptr", "docs", "tf_title", "tf_text", "tf_norm", "doc_lengths", "term_offsets", "terms")


class TermTable:
    """A segment's sorted terms as one UTF-8 blob with offsets, looked up by binary search: a million
    terms open without a million Python strings."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob, self.offsets = blob, offsets

    @classmethod
    def of(cls, terms: np.ndarray) -> TermTable:
        encoded = [t.encode("utf-8") for t in terms.tolist()]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.blob[self.offsets[i] : self.offsets[i + 1]].tobytes()

    def find(self, term: str) -> int:
        """The term's index, or -1 (UTF-8 byte order is code point order, the order terms are kept in)."""
        key = term.encode("utf-8")
        at = bisect.bisect_left(self, key)  # a sequence of bytes, by __getitem__
        return at if at < len(self) and self[at] == key else -1

    def strings(self) -> np.ndarray:
        """Every term as a str (for merging segments)."""
        data = self.blob.tobytes()
        bounds = self.offsets.tolist()
        return np.array([data[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds)], dtype=object)


@dataclass(slots=True)
class LexicalSegment:
    """One segment's postings as the query path reads them (docs are positions in the segment)."""

    terms: TermTable
    indptr: np.ndarray
    docs: np.ndarray
    tf_title: np.ndarray
    tf_text: np.ndarray
    tf_norm: np.ndarray  # for DEFAULT_WEIGHTS and `average_length`
    doc_lengths: np.ndarray
    average_length: float

    @classmethod
    def of(cls, postings: Postings) -> LexicalSegment:
        average = postings.tokens / len(postings.doc_ids) if len(postings.doc_ids) else 1.0
        norm = tf_norm(postings.docs, postings.tf_title, postings.tf_text, postings.doc_lengths, average)
        return cls(
            TermTable.of(postings.terms),
            postings.indptr,
            postings.docs,
            postings.tf_title,
            postings.tf_text,
            norm,
            postings.doc_lengths,
            average,
        )

    def postings(self, doc_ids: np.ndarray) -> Postings:
        """Back to mergeable postings over `doc_ids` (the segment's passage ids)."""
        return Postings(
            self.terms.strings(),
            np.asarray(self.indptr),
            np.asarray(self.docs),
            np.asarray(self.tf_title),
            np.asarray(self.tf_text),
            np.asarray(doc_ids, dtype=np.int64),
            np.asarray(self.doc_lengths),
        )

    def save(self, folder: Path) -> None:
        """Write the arrays as .npy files in `folder` (plus lexical.json), for `load` to map them."""
        arrays = {
            "indptr": self.indptr,
            "docs": self.docs,
            "tf_title": self.tf_title,
            "tf_text": self.tf_text,
            "tf_norm": self.tf_norm,
            "doc_lengths": self.doc_lengths,
            "term_offsets": self.terms.offsets,
            "terms": self.terms.blob,
        }
        for name, array in arrays.items():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        info = {"format": FORMAT, "tokenizer": FTS_TOKENIZER, "average_length": self.average_length}
        (folder / "lexical.json").write_text(json.dumps(info), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalSegment:
        """The arrays written by `save`, memory-mapped: opening reads no postings."""
        try:
            info = json.loads((folder / "lexical.json").read_text(encoding="utf-8"))
            if info.get("format") != FORMAT or info.get("tokenizer") != FTS_TOKENIZER:
                raise IndexFormatError(f"{folder} holds postings of format {info.get('format')}, not {FORMAT}")
            # Plain ndarray views of the maps: numpy's memmap subclass costs a Python call per slice.
            arrays = {
                name: np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)) for name in _ARRAYS
            }
        except (OSError, ValueError, KeyError) as exc:
            raise IndexFormatError(f"cannot read the postings in {folder}: {exc} — rebuild the index") from exc
        return cls(
            TermTable(arrays["terms"], arrays["term_offsets"]),
            arrays["indptr"],
            arrays["docs"],
            arrays["tf_title"],
            arrays["tf_text"],
            arrays["tf_norm"],
            arrays["doc_lengths"],
            float(info["average_length"]),
        )


class LexicalIndex:
    """BM25 over segments (documents numbered across them in order: positions into `doc_ids`), the
    `dead` positions (deleted passages) left out of the scores and of the statistics. Column weights other
    than the default ones recompute every posting's tf part once, when the index is made."""

    def __init__(
        self,
        segments: Sequence[LexicalSegment],
        doc_ids: np.ndarray,
        dead: np.ndarray | None = None,
        title_weight: float = 1.0,
        text_weight: float = 1.0,
    ) -> None:
        self.weights = (title_weight, text_weight)
        self.segments = list(segments)
        self.doc_ids = doc_ids
        self.dead = dead if dead is not None and dead.any() else None
        self.offsets = np.zeros(len(self.segments) + 1, dtype=np.int64)
        np.cumsum([len(s.doc_lengths) for s in self.segments], out=self.offsets[1:])
        if self.offsets[-1] != len(doc_ids):
            raise IndexFormatError(f"the postings cover {self.offsets[-1]} passages, the index {len(doc_ids)}")
        self.documents = len(doc_ids) - (int(self.dead.sum()) if self.dead is not None else 0)
        if self.weights == DEFAULT_WEIGHTS:
            self.norms = [s.tf_norm for s in self.segments]
        else:
            lengths = [np.asarray(s.doc_lengths) for s in self.segments]
            total = sum(int(x.sum(dtype=np.int64)) for x in lengths)
            if self.dead is not None:
                total -= int(np.concatenate(lengths)[self.dead].sum(dtype=np.int64))
            average = total / self.documents if self.documents else 1.0
            self.norms = [
                tf_norm(s.docs, s.tf_title, s.tf_text, s.doc_lengths, average, self.weights) for s in self.segments
            ]

    def allowed_mask(self, passage_ids: np.ndarray) -> np.ndarray:
        """Which documents a filter keeps, from the passage ids it allows."""
        return np.isin(self.doc_ids, passage_ids, assume_unique=False)

    def passage_counts(self, terms: Iterable[str], excluding: np.ndarray | None = None) -> dict[str, int]:
        """Per known term, the live passages holding it (its document frequency), leaving out the passages
        whose ids are in `excluding`: given an article's own, a term no other article uses counts 0."""
        own = np.empty(0, dtype=np.int64)
        if excluding is not None and len(excluding) and len(self.doc_ids):
            wanted = np.asarray(excluding, dtype=np.int64)
            at = np.minimum(np.searchsorted(self.doc_ids, wanted), len(self.doc_ids) - 1)
            own = np.unique(at[self.doc_ids[at] == wanted])
        counts: dict[str, int] = {}
        for term in terms:
            found = self._postings_of(term)
            if not found:
                continue
            count = 0
            for *_, docs in found:
                live = docs if self.dead is None else docs[~self.dead[docs]]
                count += len(live)
                if len(own):  # a term's documents are ascending: one binary search per own passage
                    at = np.minimum(np.searchsorted(live, own), max(len(live) - 1, 0))
                    count -= int((live[at] == own).sum()) if len(live) else 0
            counts[term] = count
        return counts

    def search(self, terms: dict[str, int], depth: int, allowed: np.ndarray | None = None) -> Hits:
        """The `depth` best passages and their BM25 scores, of those matching any of the stemmed `terms`
        (term -> times it occurs in the query: FTS5 scores each occurrence, so "featured" and
        "featuring" count twice, and so does this)."""
        if depth <= 0:
            return Hits.empty(np.float64)
        docs_parts: list[np.ndarray] = []
        impact_parts: list[np.ndarray] = []
        for term, times in sorted(terms.items()):
            found = self._postings_of(term)
            if not found:
                continue
            frequency = sum(len(docs) for *_, docs in found)
            if self.dead is not None:
                frequency -= sum(int(self.dead[docs].sum()) for *_, docs in found)
            weight = float(idf(self.documents, frequency)) * times
            for number, begin, end, docs in found:
                docs_parts.append(docs)
                impact_parts.append(self.norms[number][begin:end] * weight)
        if not docs_parts:
            return Hits.empty(np.float64)
        scores = np.bincount(
            np.concatenate(docs_parts), weights=np.concatenate(impact_parts), minlength=len(self.doc_ids)
        )
        if self.dead is not None:
            scores[self.dead] = 0.0
        if allowed is not None:
            scores[~allowed] = 0.0
        matched = np.flatnonzero(scores)
        if len(matched) > depth:
            matched = matched[np.argpartition(-scores[matched], depth - 1)[:depth]]
        # Best first; equal scores in passage order, so results are stable from run to run.
        order = np.lexsort((matched, -scores[matched]))
        best = matched[order]
        return Hits(self.doc_ids[best], scores[best])

    def documents_with(self, term: str) -> np.ndarray:
        """The documents holding the stemmed `term` in any column (positions into `doc_ids`, ascending),
        deleted passages left out."""
        found = self._postings_of(term)
        if not found:
            return np.empty(0, dtype=np.int64)
        docs = np.concatenate([docs for *_, docs in found])
        return docs if self.dead is None else docs[~self.dead[docs]]

    def _postings_of(self, term: str) -> list[tuple[int, int, int, np.ndarray]]:
        """Where `term`'s postings are, segment by segment: (segment number, begin, end, its documents as
        positions into `doc_ids`)."""
        found = []
        for number, segment in enumerate(self.segments):
            at = segment.terms.find(term)
            if at >= 0:
                begin, end = int(segment.indptr[at]), int(segment.indptr[at + 1])
                found.append((number, begin, end, segment.docs[begin:end] + self.offsets[number]))
        return found
