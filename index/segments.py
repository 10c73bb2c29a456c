"""Segments: the immutable pieces an index's derived data is made of.

    DIR/segments/<name>/segment.json     passages, vector index kind, dimension, first and last passage id
                        ids.npy          passage ids, ascending (int64)
                        articles.npy     each passage's article id (fixed-width bytes): the passage map
                        vectors.faiss    the passages' vectors (flat or HNSW, keyed by passage id)
                        *.npy            BM25 postings (index/lexical.py), with lexical.json

A build writes its new passages into a new segment (several, past MAX_SEGMENT_PASSAGES, so the memory
of writing one stays bounded), and compaction merges segments, leaving deleted passages out. A segment
is never changed once its folder has its final name; which segments make up the index is recorded per
generation (index/layout.py). Everything is memory-mapped when opened: a million passages open in
seconds without being read.
"""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from index import vectors
from index.durable import fsync_dir, fsync_tree
from index.errors import IndexFormatError
from index.lexical import LexicalSegment, TermTable
from index.postings import Postings, keep_documents, merge_parts

FORMAT = 1
# A segment is built in memory when it is finished (the HNSW graph needs its vectors in RAM: ~1.8 KB a
# passage, and the postings merge ~2.5 KB a passage at its peak), so this caps a build's memory. At a
# million passages it makes four segments, each searched in ~1 ms (docs/benchmarks.md).
MAX_SEGMENT_PASSAGES = 250_000
_VECTOR_CHUNK = 65_536


@dataclass(slots=True, frozen=True)
class SegmentInfo:
    """What segment.json records about a segment."""

    name: str
    passages: int
    kind: str
    dimension: int
    first_id: int
    last_id: int
    tokens: int
    format: int = FORMAT


class Segment:
    """An open segment, its arrays memory-mapped."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            self.info = SegmentInfo(**json.loads((folder / "segment.json").read_text(encoding="utf-8")))
            if self.info.format != FORMAT:
                raise IndexFormatError(f"segment {folder} has format {self.info.format}, not {FORMAT}")
            # Plain ndarray views of the maps: numpy's memmap subclass costs a Python call per slice.
            self.ids = np.asarray(np.load(folder / "ids.npy", mmap_mode="r", allow_pickle=False))
            self.articles = np.asarray(np.load(folder / "articles.npy", mmap_mode="r", allow_pickle=False))
        except (OSError, ValueError, TypeError) as exc:
            raise IndexFormatError(f"cannot read segment {folder}: {exc} — rebuild the index") from exc
        self.lexical = LexicalSegment.load(folder)

    @functools.cached_property
    def index(self) -> faiss.Index:
        """The vector index, read on first use (a build looks most segments' vectors up rarely, if ever:
        an HNSW graph is ~270 bytes a passage of RAM it need not load)."""
        try:
            return vectors.read_index(self.folder / "vectors.faiss", in_memory=self.info.kind == vectors.FLAT)
        except RuntimeError as exc:
            raise IndexFormatError(f"cannot read {self.folder / 'vectors.faiss'}: {exc} — rebuild the index") from exc

    @property
    def name(self) -> str:
        return self.info.name

    def vectors_at(self, positions: np.ndarray) -> np.ndarray:
        """The stored vectors at `positions` (a copy)."""
        return np.array(vectors.stored_vectors(self.index)[positions])


class SegmentWriter:
    """A segment being written into a temporary folder; `finish` gives it its final name."""

    def __init__(self, folder: Path, dimension: int) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder, self.dimension = folder, dimension
        self._ids: list[np.ndarray] = []
        self._articles: list[np.ndarray] = []
        self._parts: list[Callable[[], Postings]] = []  # the postings added, spilled to the folder
        self._vectors = open(folder / "vectors.f32", "wb")  # noqa: SIM115 (appended to until finish)
        self.passages = 0

    def add(
        self, ids: np.ndarray, articles: Sequence[str] | np.ndarray, matrix: np.ndarray, postings: Postings
    ) -> None:
        """Append passages (ids above every id added so far), their articles, vectors and postings."""
        self.add_passages(ids, articles, matrix)
        self.add_postings(postings)

    def add_passages(self, ids: np.ndarray, articles: Sequence[str] | np.ndarray, matrix: np.ndarray) -> None:
        if not len(ids):
            return
        if self._ids and ids[0] <= self._ids[-1][-1]:
            raise ValueError("segment passages must be added in ascending id order")
        self._ids.append(np.asarray(ids, dtype=np.int64))
        self._articles.append(np.asarray(articles, dtype=np.bytes_))
        self._vectors.write(np.ascontiguousarray(matrix, dtype=np.float32).tobytes())
        self.passages += len(ids)

    def add_postings(self, postings: Postings) -> None:
        """Postings of passages added (or to be added) here, in the same order as their passages: they
        are kept on disk until the segment is finished, then merged by document id."""
        if len(postings.doc_ids):
            self._parts.append(_spill(self.folder / f"part-{len(self._parts):05d}", postings))

    def finish(self, final: Path, kind: str | None = None, vector_file: Path | None = None) -> SegmentInfo:
        """Write the vector index (`kind`, default: by size) and the postings, fsync everything and move the
        folder to `final`. The segment is not part of the index until a generation names it.
        `vector_file`: a vector index over exactly these passages, already built (a migration's), copied."""
        self._vectors.close()
        ids = np.concatenate(self._ids) if self._ids else np.empty(0, dtype=np.int64)
        np.save(self.folder / "ids.npy", ids, allow_pickle=False)
        articles = np.concatenate(self._articles) if self._articles else np.empty(0, dtype="S16")
        np.save(self.folder / "articles.npy", articles, allow_pickle=False)
        postings = merge_parts(self._parts)
        self._parts = []
        for part in self.folder.glob("part-*"):
            part.unlink()
        if not np.array_equal(postings.doc_ids, ids):
            raise ValueError("the postings of a segment must cover exactly its passages")
        tokens = postings.tokens
        LexicalSegment.of(postings).save(self.folder)
        del postings
        kind = kind or vectors.choose_index_type(len(ids))
        raw = self.folder / "vectors.f32"
        if vector_file is not None:
            shutil.copyfile(vector_file, self.folder / "vectors.faiss")
        else:
            with open(raw, "rb") as handle:
                # Read a chunk at a time (not mapped): the file's pages do not pile up in this process.
                chunks = (ids[b : b + _VECTOR_CHUNK] for b in range(0, len(ids), _VECTOR_CHUNK))
                batches = (
                    (c, np.fromfile(handle, np.float32, len(c) * self.dimension).reshape(len(c), -1)) for c in chunks
                )
                vectors.write_index(vectors.build_index(self.dimension, batches, kind), self.folder / "vectors.faiss")
        raw.unlink()
        info = SegmentInfo(
            final.name,
            len(ids),
            kind,
            self.dimension,
            int(ids[0]) if len(ids) else 0,
            int(ids[-1]) if len(ids) else -1,
            tokens,
        )
        (self.folder / "segment.json").write_text(json.dumps(asdict(info)), encoding="utf-8")
        fsync_tree(self.folder)
        shutil.rmtree(final, ignore_errors=True)  # a killed run's leftover of the same name: never published
        self.folder.rename(final)
        fsync_dir(final.parent)
        return info

    def abandon(self) -> None:
        self._vectors.close()
        shutil.rmtree(self.folder, ignore_errors=True)


_PART_ARRAYS = ("indptr", "docs", "tf_title", "tf_text", "doc_ids", "doc_lengths")


def _spill(prefix: Path, postings: Postings) -> Callable[[], Postings]:
    """Write `postings` beside a segment being built; returns what loads them back (memory-mapped)."""
    table = TermTable.of(postings.terms)
    np.save(f"{prefix}-terms.npy", table.blob, allow_pickle=False)
    np.save(f"{prefix}-term_offsets.npy", table.offsets, allow_pickle=False)
    for name in _PART_ARRAYS:
        np.save(f"{prefix}-{name}.npy", getattr(postings, name), allow_pickle=False)

    def load() -> Postings:
        def array(name: str) -> np.ndarray:
            return np.load(f"{prefix}-{name}.npy", mmap_mode="r", allow_pickle=False)

        terms = TermTable(array("terms"), array("term_offsets")).strings()
        return Postings(terms, *(array(name) for name in _PART_ARRAYS))

    return load


def merge_segments(
    segments: Sequence[Segment], dead: np.ndarray, tmp: Path, final: Path, kind: str | None = None
) -> SegmentInfo | None:
    """One segment with the live passages of `segments` (neighbours, in id order); `dead` are the sorted ids of
    deleted passages. None when nothing in them is alive."""
    if not segments:
        return None
    writer = SegmentWriter(tmp, segments[0].info.dimension)
    try:
        for segment in segments:
            keep = ~np.isin(segment.ids, dead, assume_unique=True)
            positions = np.flatnonzero(keep)
            if not len(positions):
                continue
            writer.add_postings(keep_documents(segment.lexical.postings(segment.ids), keep))
            for begin in range(0, len(positions), _VECTOR_CHUNK):
                at = positions[begin : begin + _VECTOR_CHUNK]
                writer.add_passages(
                    np.asarray(segment.ids[at]), np.asarray(segment.articles[at]), segment.vectors_at(at)
                )
        if writer.passages == 0:
            writer.abandon()
            return None
        return writer.finish(final, kind)
    except BaseException:
        writer.abandon()
        raise
