"""Thread pools shared by every search of the process: one per job, one thread per core, made on first use.

FAISS and numpy let go of the GIL while they work, so a search spreads its parts (segments' vector walks,
BM25) over the cores through these pools. Separate pools per job, so a BM25 task waiting for a core never
holds a worker that a segment search needs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_POOLS: dict[str, ThreadPoolExecutor] = {}
_LOCK = threading.Lock()


def shared_pool(name: str, initializer: Callable[..., Any] | None = None, initargs: tuple = ()) -> ThreadPoolExecutor:
    """The pool called `name` (its threads are named after it), made on the first call; `initializer` runs
    once in each of its threads."""
    with _LOCK:
        pool = _POOLS.get(name)
        if pool is None:
            pool = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 1, thread_name_prefix=name, initializer=initializer, initargs=initargs
            )
            _POOLS[name] = pool
        return pool
