"""The FAISS vector index: passage vectors keyed by passage id, derived from the store.

The index type follows the collection's size (`choose_index_type`): an exact scan while that is fast
enough, an HNSW graph past it. Everything here can be rebuilt from SQLite at any time
(`newsdesk reindex-vectors`). Both kinds keep the full float vectors, so scores are true cosines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.model import Hits

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
    return faiss.IndexIDMap2(inner)


def build_index(dimension: int, batches: Iterable[tuple[np.ndarray, np.ndarray]], kind: str = FLAT) -> faiss.Index:
    """An index of `kind` over (ids, vectors) batches. Neither kind needs training, so one pass will do."""
    index = new_index(kind, dimension)
    for ids, vectors in batches:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))
    return index


def index_type(index: faiss.Index) -> str:
    """The kind of an index written by `build_index`."""
    inner = _faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    return HNSW if isinstance(inner, faiss.IndexHNSW) else FLAT


def write_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def read_index(path: Path) -> faiss.Index:
    # Memory-mapped: a server opens a large index without reading it all into RAM first.
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def search(index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> Hits:
    """The k nearest passages and their cosines; `allowed` restricts the search to those ids.
    With a filter, every kind returns min(k, len(allowed)) passages: none is lost to the filter."""
    # One query is too small to split: a 2-thread OpenMP team made a flat search over 54k passages
    # 24 ms instead of 3.7 ms (scripts/bench_query.py), and BM25 runs beside it anyway. The setting
    # is per thread in OpenMP, so it is made here, on the thread that searches, and costs nothing.
    faiss.omp_set_num_threads(1)
    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    k = min(k, index.ntotal)
    if allowed is not None:
        k = min(k, len(allowed))
    if k <= 0:
        return Hits.empty(np.float32)
    selector = None if allowed is None else _selector(allowed)
    if index_type(index) == FLAT:
        return _run(index, query, k, _faiss.SearchParameters(sel=selector) if selector else None)
    candidates = index.ntotal if allowed is None else len(allowed)
    share = candidates / index.ntotal
    ef = max(HNSW_EF_SEARCH, HNSW_EF_PER_RESULT * k)
    if candidates * share < HNSW_SCAN_FACTOR * ef:
        return _exact_scan(index, query, k, selector)  # a narrow filter, a deep search or a small index
    # A filter hides 1 - share of the nodes the walk meets, so it keeps proportionally more of them.
    params = _faiss.SearchParametersHNSW(efSearch=math.ceil(ef / share), sel=selector)
    hits = _run(index, query, k, params)
    if len(hits.ids) < k:  # the walk met too few allowed nodes: scan rather than return fewer
        return _exact_scan(index, query, k, selector)
    return hits


def _selector(allowed: np.ndarray) -> faiss.IDSelector:
    """The filter as a bitmap over passage ids: under 1 ms to make for any filter over a million ids, where
    an IDSelectorBatch hashes every id (measured: 7 ms for 50k allowed ids, 80 ms for 500k)."""
    allowed = np.asarray(allowed, dtype=np.int64)
    bits = np.zeros(int(allowed.max()) + 1, dtype=bool)
    bits[allowed] = True
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
    mapped: Any = index  # an IndexIDMap2 (the stubs type it as a plain Index)
    storage = _faiss.downcast_index(_faiss.downcast_index(mapped.index).storage)
    params = None
    if selector is not None:
        # The storage numbers vectors by position; the translated selector looks each one's id up.
        params = _faiss.SearchParameters(sel=_faiss.IDSelectorTranslated(mapped.id_map, selector))
    found = _run(storage, query, k, params)
    id_map = faiss.rev_swig_ptr(mapped.id_map.data(), mapped.id_map.size())
    return Hits(id_map[found.ids], found.scores)
