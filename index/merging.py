"""Which segments to merge, and merging them: after each build (the cheap, tiered merges that keep the
number of segments logarithmic) and on `newsdesk compact` (everything, deleted passages dropped).

The tiered rule looks at the newest segments: while the newest one holds at least 1/MERGE_FACTOR of the
passages of the one before it (and both fit in one segment), the two become one. Sizes then fall
geometrically from the oldest segment to the newest, so an update writes a small segment and sometimes
merges a few small ones, each passage is rewritten about log_4(n) times over its life, and a search visits
O(log n) segments. A merge whose result reaches HNSW_FROM builds a graph: the rare expensive update.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from index.segments import MAX_SEGMENT_PASSAGES, Segment

MERGE_FACTOR = 4

# Makes a new segment from (neighbouring segments, deleted ids, forced kind): the opened result, None if
# nothing in them was alive.
MergeFn = Callable[[Sequence[Segment], np.ndarray, str | None], Segment | None]


@dataclass(slots=True)
class Merged:
    """The segments of a generation after merging, and its deleted ids (those still in a segment)."""

    segments: list[Segment]
    dead: np.ndarray


def live_passages(segment: Segment, dead: np.ndarray) -> int:
    ids = segment.ids
    if not len(ids):
        return 0
    inside = np.searchsorted(dead, ids[-1], side="right") - np.searchsorted(dead, ids[0], side="left")
    return len(ids) - int(inside)


def tiered(segments: Sequence[Segment], dead: np.ndarray, merge: MergeFn) -> Merged:
    """Apply the tiered rule to `segments` (oldest first)."""
    kept = list(segments)
    while len(kept) >= 2:
        newest, before = live_passages(kept[-1], dead), live_passages(kept[-2], dead)
        if newest * MERGE_FACTOR < before or newest + before > MAX_SEGMENT_PASSAGES:
            break
        result = merge(kept[-2:], dead, None)
        kept[-2:] = [result] if result is not None else []
        dead = _still_present(kept, dead)
    return Merged(kept, _still_present(kept, dead))


def compact(segments: Sequence[Segment], dead: np.ndarray, merge: MergeFn, kind: str | None = None) -> Merged:
    """Everything merged, deleted passages dropped: runs of neighbours up to MAX_SEGMENT_PASSAGES each
    (a single clean segment is kept as it is unless `kind` asks for another vector index)."""
    runs: list[list[Segment]] = []
    size = 0
    for segment in segments:
        live = live_passages(segment, dead)
        if not live:
            continue
        if not runs or size + live > MAX_SEGMENT_PASSAGES:
            runs.append([])
            size = 0
        runs[-1].append(segment)
        size += live
    kept: list[Segment] = []
    for run in runs:
        clean = len(run) == 1 and live_passages(run[0], dead) == len(run[0].ids)
        if clean and kind in (None, run[0].info.kind):
            kept.append(run[0])
            continue
        result = merge(run, dead, kind)
        if result is not None:
            kept.append(result)
    return Merged(kept, _still_present(kept, dead))


def _still_present(segments: Sequence[Segment], dead: np.ndarray) -> np.ndarray:
    """The deleted ids that are still in one of `segments` (the others went with a merge)."""
    if not len(dead) or not segments:
        return np.empty(0, dtype=np.int64)
    inside = np.zeros(len(dead), dtype=bool)
    for segment in segments:
        ids = segment.ids
        if len(ids):
            at = np.minimum(np.searchsorted(ids, dead), len(ids) - 1)
            inside |= np.asarray(ids[at]) == dead
    return dead[inside]
