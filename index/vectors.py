"""The FAISS vector indexes: passage vectors keyed by passage id, one index per segment (index/segments.py).

A segment's index type follows its size (`choose_index_type`): an exact scan while that is fast enough, an
HNSW graph past it. Both kinds keep the full float vectors (the only copy: the store keeps none), so scores
are true cosines and a vector can be read back for reuse or a rebuild (`stored_vectors`). A `VectorSet`
searches the segments of one generation as one index, its deleted passages masked out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.model import Hits
from index.threads import shared_pool

# faiss's own stubs (faiss/__init__.pyi) lack what the filtered and HNSW searches use: keyword
# SearchParameters, SearchParametersHNSW, the attributes of downcast indexes and selectors. Those go
# through this untyped handle; tests/test_vectors.py exercises every one of them.
_faiss: Any = faiss

FLAT = "flat"  # exact inner product: a query scans every vector
HNSW = "hnsw"  # a graph over the full vectors: a query visits a few thousand of them
# Also measured, and left out: sq8 (flat, quantized) does not change how a scan scales; ivf_sq8 was as fast
# at depth and 4.6x smaller, but the nprobe it needed swung from 7-10 % of the lists (real questions) to
# 0.3 % (synthetic 1M), where HNSW's efSearch held steady; hnsw_sq8 builds as slowly as hnsw and scores
# approximately (docs/benchmarks.md).
KINDS = (FLAT, HNSW)

# Measured with scripts/bench_ann.py (docs/benchmarks.md), one core per query as the searcher runs it:
# a flat scan at the searcher's depth (k=200) passes 5 ms per query near 60k vectors (60.2k synthetic,
# 60.4k real passages; 52k-58k in a more loaded run), while HNSW answers in 0.6-1.5 ms from 25k to a
# million with recall@10 and recall@200 >= 0.98. Below this size the scan is exact, builds in no time
# and is fast enough.
HNSW_FROM = 60_000

HNSW_M = 32  # links per node: 270 bytes a vector beside its 1,536; 412 s of one core to build a million
HNSW_EF_CONSTRUCTION = 80
# The walk keeps the ef best nodes it has seen; ef well above k makes the last of the k right. Measured
# needs for recall >= 0.98: ef up to 96 for k=10 and up to 400 for k=200, on real passages (25k-114k) and
# synthetic ones (25k-1M); dev-question retrieval with ef 600 at k=200 scored the same as flat (ef 200: lower).
HNSW_EF_SEARCH = 128  # at least this
HNSW_EF_PER_RESULT = 3  # and this many per result asked for
# A filtered search scans the allowed vectors (cost ~ allowed) or walks the graph keeping ef / share nodes
# to meet ef allowed ones (cost ~ ef / share graph steps, each dearer than a scanned vector). Measured,
# the two cost the same near a share of 0.4 at 100k vectors and 0.1 at 1M (part (d)): where
# allowed * share = HNSW_SCAN_FACTOR * ef, with ef = 600 at the searcher's depth. Scans below that.
HNSW_SCAN_FACTOR = 25


def choose_index_type(count: int) -> str:
    """The index type for `count` passages: exact while small, HNSW from `HNSW_FROM` on."""
    return HNSW if count >= HNSW_FROM else FLAT


def new_index(kind: str, dimension: int) -> faiss.Index:
    """An empty inner-product index of `kind`, keyed by passage id."""
    if kind == FLAT:
        inner: faiss.Index = faiss.IndexFlatIP(dimension)
    elif kind == HNSW:
        graph = _faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.hnsw.efSearch = HNSW_EF_SEARCH
        inner = graph
    else:
        raise ValueError(f"unknown vector index type {kind!r}; choose from {', '.join(KINDS)}")
    return faiss.IndexIDMap(inner)


def build_index(dimension: int, batches: Iterable[tuple[np.ndarray, np.ndarray]], kind: str = FLAT) -> faiss.Index:
    """An index of `kind` over (ids, vectors) batches. Neither kind needs training, so one pass will do."""
    index = new_index(kind, dimension)
    for ids, vectors in batches:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))
    return index


def index_type(index: faiss.Index | VectorSet) -> str:
    """The kind of an index written by `build_index` (of a VectorSet: the kind of its largest segment)."""
    if isinstance(index, VectorSet):
        return index.kind
    inner = _faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap | faiss.IndexIDMap2) else index
    return HNSW if isinstance(inner, faiss.IndexHNSW) else FLAT


def stored_vectors(index: faiss.Index) -> np.ndarray:
    """The full vectors an index holds, in insertion order, as a (memory-mapped, read-only) matrix view:
    valid while `index` lives."""
    mapped: Any = index
    inner = _faiss.downcast_index(mapped.index) if isinstance(index, faiss.IndexIDMap | faiss.IndexIDMap2) else index
    flat: Any = _faiss.downcast_index(inner.storage) if isinstance(inner, faiss.IndexHNSW) else inner
    count = flat.ntotal * flat.d
    if count == 0:
        return np.empty((0, flat.d), dtype=np.float32)
    return faiss.rev_swig_ptr(flat.get_xb(), count).reshape(flat.ntotal, flat.d)


def write_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def read_index(path: Path, in_memory: bool = False) -> faiss.Index:
    """An index as written. Its vectors stay memory-mapped (IO_FLAG_MMAP_IFC): opening reads nothing, and
    searchers of consecutive generations share the pages. `in_memory` reads them into RAM instead, for a
    flat index: a scan of mapped pages ran at 5.2 ms over rtqa-5k's 54k vectors, of RAM at 3.1 ms (page
    walks); an HNSW walk touches too few vectors to care (3.1 ms either way at 85k)."""
    flags = faiss.IO_FLAG_READ_ONLY | (faiss.IO_FLAG_MMAP if in_memory else faiss.IO_FLAG_MMAP_IFC)
    return faiss.read_index(str(path), flags)


def search(index: faiss.Index | VectorSet, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> Hits:
    """The k nearest passages and their cosines; `allowed` restricts the search to those ids.
    With a filter, every kind returns min(k, len(allowed)) passages: none is lost to the filter."""
    if isinstance(index, VectorSet):
        return index.search(query, k, allowed)
    k = min(k, index.ntotal)
    if allowed is not None:
        k = min(k, len(allowed))
    selector = None if allowed is None else _selector(allowed)
    return _search_one(index, _as_query(query), k, selector, index.ntotal if allowed is None else len(allowed))


def _segment_pool() -> ThreadPoolExecutor:
    """The threads that search a generation's segments side by side, each with one OpenMP thread (as
    `_as_query` sets it on the calling thread)."""
    return shared_pool("segment-search", faiss.omp_set_num_threads, (1,))


def _as_query(query: np.ndarray) -> np.ndarray:
    # One query is too small to split: a 2-thread OpenMP team made a flat search over 54k passages
    # 24 ms instead of 3.7 ms (scripts/bench_query.py), and BM25 runs beside it anyway. The setting
    # is per thread in OpenMP, so it is made here, on the thread that searches, and costs nothing.
    faiss.omp_set_num_threads(1)
    return np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)


def _search_one(index: faiss.Index, query: np.ndarray, k: int, selector: Any, candidates: int) -> Hits:
    """k nearest in one index, `selector` (None: every vector) letting through `candidates` of its vectors."""
    if k <= 0 or candidates <= 0:
        return Hits.empty(np.float32)
    if index_type(index) == FLAT:
        return _run(index, query, k, _faiss.SearchParameters(sel=selector) if selector else None)
    share = candidates / index.ntotal
    ef = max(HNSW_EF_SEARCH, HNSW_EF_PER_RESULT * k)
    if candidates * share < HNSW_SCAN_FACTOR * ef:
        return _exact_scan(index, query, k, selector)  # a narrow filter, a deep search or a small index
    # A filter hides 1 - share of the nodes the walk meets, so it keeps proportionally more of them.
    params = _faiss.SearchParametersHNSW(efSearch=math.ceil(ef / share), sel=selector)  # sel None: every node
    hits = _run(index, query, k, params)
    if len(hits.ids) < k:  # the walk met too few allowed nodes: scan rather than return fewer
        return _exact_scan(index, query, k, selector)
    return hits


def _selector(allowed: np.ndarray) -> faiss.IDSelector:
    """The filter as a bitmap over passage ids: under 1 ms to make for any filter over a million ids, where
    an IDSelectorBatch hashes every id (measured: 7 ms for 50k allowed ids, 80 ms for 500k)."""
    allowed = np.asarray(allowed, dtype=np.int64)
    bits = np.zeros(int(allowed.max()) + 1 if len(allowed) else 1, dtype=bool)
    bits[allowed] = True
    return _bitmap_selector(bits)


def _bitmap_selector(bits: np.ndarray) -> faiss.IDSelector:
    packed = np.packbits(bits, bitorder="little")  # FAISS reads bit i of byte i >> 3 as id i
    selector = _faiss.IDSelectorBitmap(len(packed), faiss.swig_ptr(packed))
    selector.referenced_objects = [packed]  # FAISS reads the array in place: it lives as long as the selector
    return selector


def _run(index: faiss.Index, query: np.ndarray, k: int, params: faiss.SearchParameters | None) -> Hits:
    scores, ids = index.search(query, k, params=params)
    keep = ids[0] >= 0
    return Hits(ids[0][keep], scores[0][keep])


def _exact_scan(index: faiss.Index, query: np.ndarray, k: int, selector: faiss.IDSelector | None) -> Hits:
    """Exact search of an HNSW index's full vectors (its storage, in insertion order), skipping the graph."""
    mapped: Any = index  # an IndexIDMap (the stubs type it as a plain Index)
    storage = _faiss.downcast_index(_faiss.downcast_index(mapped.index).storage)
    params = None
    if selector is not None:
        # The storage numbers vectors by position; the translated selector looks each one's id up.
        params = _faiss.SearchParameters(sel=_faiss.IDSelectorTranslated(mapped.id_map, selector))
    found = _run(storage, query, k, params)
    id_map = faiss.rev_swig_ptr(mapped.id_map.data(), mapped.id_map.size())
    return Hits(id_map[found.ids], found.scores)


class VectorSet:
    """The vector indexes of a generation's segments searched as one. `ids[i]` are the passage ids of
    `indexes[i]` (ascending; the segments cover disjoint, increasing id ranges) and `dead` the sorted ids of
    deleted passages still in them, which no search returns. `ntotal` counts the live vectors."""

    def __init__(self, indexes: Sequence[faiss.Index], ids: Sequence[np.ndarray], dead: np.ndarray) -> None:
        self.indexes, self.ids = list(indexes), list(ids)
        self.dead = np.asarray(dead, dtype=np.int64)
        sizes = [int(index.ntotal) for index in self.indexes]
        self._live_per_segment = [
            size - self._in_range(self.dead, ids_) for size, ids_ in zip(sizes, self.ids, strict=True)
        ]
        self.ntotal = sum(self._live_per_segment)
        self.kind = index_type(self.indexes[int(np.argmax(sizes))]) if sizes else FLAT
        self._live = None
        if len(self.dead):
            top = max(int(ids_[-1]) for ids_ in self.ids if len(ids_))
            bits = np.ones(top + 1, dtype=bool)
            bits[self.dead[self.dead <= top]] = False
            self._live = _bitmap_selector(bits)

    @staticmethod
    def _in_range(values: np.ndarray, ids: np.ndarray) -> int:
        """How many of the sorted `values` fall in the id range of a segment."""
        if not len(ids):
            return 0
        return int(np.searchsorted(values, ids[-1], side="right") - np.searchsorted(values, ids[0], side="left"))

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> Hits:
        """The k nearest live passages (of `allowed`, when given: ids of live passages) over every segment."""
        query = _as_query(query)
        selector: faiss.IDSelector | None
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.int64)
            # A filter's ids come ascending (the passage map's order); sorting them again cost 2.5 ms a
            # search at rtqa-5k's 54k passages, where checking the order costs ~0.05 ms.
            if len(allowed) > 1 and not (allowed[1:] > allowed[:-1]).all():
                allowed = np.unique(allowed)
            selector = _selector(allowed)
            counts = [self._in_range(allowed, ids_) for ids_ in self.ids]
        else:
            selector, counts = self._live, self._live_per_segment
        tasks = [(index, min(k, count), count) for index, count in zip(self.indexes, counts, strict=True) if count]
        if len(tasks) > 1:
            # FAISS lets go of the GIL while it searches: the segments' walks run side by side on the cores
            # (at 1M passages, 4 segments of 250k: 10.5 ms one after another on 2 cores).
            found = list(_segment_pool().map(lambda t: _search_one(t[0], query, t[1], selector, t[2]), tasks))
        else:
            found = [_search_one(index, query, top, selector, count) for index, top, count in tasks]
        found = [hits for hits in found if len(hits.ids)]
        if not found:
            return Hits.empty(np.float32)
        if len(found) == 1:
            return found[0]
        ids_ = np.concatenate([hits.ids for hits in found])
        scores = np.concatenate([hits.scores for hits in found])
        order = np.lexsort((ids_, -scores))[:k]
        return Hits(ids_[order], scores[order])

    def vectors_of(self, passage_ids: np.ndarray) -> np.ndarray:
        """The stored vectors of `passage_ids` (each must be in a segment), one row each, in that order."""
        passage_ids = np.asarray(passage_ids, dtype=np.int64)
        dimension = int(self.indexes[0].d) if self.indexes else 0
        out = np.empty((len(passage_ids), dimension), dtype=np.float32)
        placed = np.zeros(len(passage_ids), dtype=bool)
        for index, ids_ in zip(self.indexes, self.ids, strict=True):
            if not len(ids_):
                continue
            at = np.searchsorted(ids_, passage_ids)
            hit = (at < len(ids_)) & (ids_[np.minimum(at, len(ids_) - 1)] == passage_ids)
            if hit.any():
                out[hit] = stored_vectors(index)[at[hit]]
                placed |= hit
        if not placed.all():
            raise KeyError(f"no stored vector for passage ids {passage_ids[~placed][:5].tolist()}")
        return out
