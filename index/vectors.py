"""The FAISS vector index: passage vectors keyed by passage id, derived from the store.

The index type follows the collection's size. Everything here can be rebuilt from SQLite at any time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np

EXACT = "flat"


def choose_index_type(count: int) -> str:
    """Exact inner product for now; compressed / graph types are chosen by measurement (scripts/bench_ann.py)."""
    return EXACT


def build_index(dimension: int, batches: Iterable[tuple[np.ndarray, np.ndarray]], kind: str = EXACT) -> faiss.Index:
    """An id-mapped inner-product index over (ids, vectors) batches."""
    if kind != EXACT:
        raise ValueError(f"unknown vector index type {kind!r}; choose from {EXACT!r}")
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    for ids, vectors in batches:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
    return index


def write_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def read_index(path: Path) -> faiss.Index:
    # Memory-mapped: a server opens a large index without reading it all into RAM first.
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def search(
    index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, passage ids) of the k nearest passages; `allowed` restricts the search to those ids."""
    # One query is too small to split: a 2-thread OpenMP team made a flat search over 54k passages
    # 24 ms instead of 3.7 ms (scripts/bench_query.py), and BM25 runs beside it anyway. The setting
    # is per thread in OpenMP, so it is made here, on the thread that searches, and costs nothing.
    faiss.omp_set_num_threads(1)
    query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    k = min(k, index.ntotal)
    if k <= 0:
        return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
    params = None
    if allowed is not None:
        if len(allowed) == 0:
            return np.empty(0, dtype=np.float32), np.empty(0, dtype=np.int64)
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64)))
        k = min(k, len(allowed))
    scores, ids = index.search(query, k, params=params)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]
