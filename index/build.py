"""Build or update an index: read → dedupe → chunk → embed → store → segments → publish.

Every change to an index goes through `writing()`: under the build lock it opens the store's write
transaction and yields a GenerationWriter (index/writer.py), whose `add` and `remove` change it batch by
batch. When the block ends the next generation is published, in this order, each step durable before the
next, so that a kill anywhere leaves the old generation or the new one live, never a mix:

1. segments: the build's last segment finished, then the tiered merges (index/merging.py);
2. generations/<n+1>/: the segments it is made of and its deleted passage ids;
3. one commit of the store: the build's rows and `meta.generation = n+1` (the switch);
4. manifest.json, the copy servers watch; the vector cache deleted; old generations and segments no
   generation names any more removed (unless pinned by a reader).

A generation that would change nothing is not written. Articles whose text is unchanged keep their
passages and vectors, and an encoder input seen before reuses its vector: nothing is embedded twice, not
even after a kill (the vector cache). Cost follows the change: the rows changed, a segment for the new
passages, and a small generation folder; never a copy of the store or a rebuild of the whole vector index.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from index import layout, merging, vectors
from index.chunking import ChunkingParams
from index.encoders import Encoder, check_encoder
from index.errors import IndexFormatError, IndexMissingError, NewsdeskError
from index.locking import build_lock, pause_point
from index.readers import DEFAULT_MAX_FILE_BYTES, read_paths
from index.report import BuildReport, ProgressFactory, no_progress
from index.segments import Segment
from index.snapshot import open_segments
from index.staging import VectorCache
from index.store import Store, now_iso
from index.writer import Committed, Drained, GenerationWriter

__all__ = ["GenerationWriter", "build", "writing"]


@contextmanager
def writing(
    index_dir: Path, encoder: Encoder | None = None, params: ChunkingParams | None = None, fresh: bool = False
) -> Iterator[GenerationWriter]:
    """Lock the index, open the store's write transaction and yield the writer; publish the next generation
    when the block ends without error, unless nothing changed (then the report names the live generation).
    `fresh`: the block's articles replace the index (what it does not meet again is removed; an index is
    never replaced with nothing). Without an encoder only removals are possible, and the index must exist.
    A format-1 index is migrated first (nothing is embedded)."""
    index_dir = Path(index_dir)
    with build_lock(index_dir):
        store = _open_store(index_dir, must_exist=encoder is None)
        try:
            committed = _committed(index_dir, store)
            previous = json.loads(store.meta("manifest") or "{}")
            params = _chunking_for(index_dir, previous, encoder, params)
            layout.remove_uncommitted(index_dir, committed.number)
            cache = VectorCache(index_dir / layout.STAGING, encoder.describe()) if encoder else None
            try:
                store.begin()
                writer = GenerationWriter(index_dir, store, committed, previous, encoder, params, cache, fresh)
                try:
                    yield writer
                    manifest = _commit(writer, writer.drain(), store, encoder, params)
                except BaseException:
                    store.rollback()
                    writer.abandon()
                    layout.remove_uncommitted(index_dir, committed.number)
                    raise
                if manifest is not None:
                    _publish(index_dir, manifest, store, cache)
            finally:
                if cache is not None:
                    cache.close()
        finally:
            store.close()


def _commit(
    writer: GenerationWriter, drained: Drained, store: Store, encoder: Encoder | None, params: ChunkingParams | None
) -> dict[str, Any] | None:
    """Steps 1-3: the next generation's segments and folder, then the commit. Returns its manifest (None:
    nothing changed, nothing written)."""
    report, committed = writer.report, drained.committed
    if not drained.changed and committed.number:
        store.rollback()
        _count(report, store, committed.segments, committed.deleted)
        report.generation = committed.number
        report.seconds = round(time.perf_counter() - writer.started, 2)
        return None
    segments = committed.segments + drained.new_segments
    dead = np.union1d(committed.deleted, drained.dead).astype(np.int64)
    if drained.compact:
        merged = merging.compact(segments, dead, writer.merge, drained.vector_kind)
    else:
        merged = merging.tiered(segments, dead, writer.merge)
    counts = _count(report, store, merged.segments, merged.dead)
    pause_point("segments")
    number = writer.number
    layout.write_generation(writer.index_dir, number, [s.name for s in merged.segments], merged.dead)
    previous = writer.previous
    sizes = [len(s.ids) for s in merged.segments]
    kind = drained.vector_kind or (merged.segments[int(np.argmax(sizes))].info.kind if sizes else vectors.FLAT)
    report.generation = number
    report.seconds = round(time.perf_counter() - writer.started, 2)
    manifest = {
        "format_version": layout.FORMAT_VERSION,
        "generation": number,
        # A removal or a compaction has no encoder: the index keeps the one that built it.
        "encoder": encoder.describe() if encoder else previous["encoder"],
        "chunking": params.as_dict() if params else previous["chunking"],
        "vector_index": kind,
        "segments": len(merged.segments),
        "deleted": len(merged.dead),
        "counts": counts,
        "created": previous.get("created", now_iso()),
        "built": now_iso(),
        # Counts only: the full skip and warning lists belong in the build report, not the manifest.
        "last_build": report.as_dict() | {"skipped": len(report.skipped), "warnings": len(report.warnings)},
    }
    pause_point("committing")
    store.set_meta("format", str(layout.FORMAT_VERSION))
    store.set_meta("generation", str(number))
    store.set_meta("manifest", json.dumps(manifest, ensure_ascii=False))
    store.commit()  # the switch: readers opening from now on see generation `number`
    return manifest


def _publish(index_dir: Path, manifest: dict[str, Any], store: Store, cache: VectorCache | None) -> None:
    """Step 4, after the commit: the manifest servers watch, then clean-up."""
    pause_point("publishing")
    layout.write_manifest(index_dir, manifest)
    if cache is not None:
        cache.discard()
    pause_point("cleaning")
    layout.remove_stale_generations(index_dir, int(manifest["generation"]))
    store.checkpoint()


def _count(report: BuildReport, store: Store, segments: Sequence[Segment], dead: np.ndarray) -> dict[str, int]:
    """The generation's counts for its report and manifest. Its passages are counted from the segments it
    names (ids less the deleted ones): a `count(*)` of the passage rows reads the whole table, a step of every
    update that grew with the index."""
    passages = sum(merging.live_passages(segment, dead) for segment in segments)
    counts = {**store.article_counts(), "passages": passages}
    report.articles, report.passages, report.stories = counts["articles"], counts["passages"], counts["stories"]
    return counts


def _open_store(index_dir: Path, must_exist: bool) -> Store:
    """The index's store, migrated from format 1 first if need be; a manifest a killed build left one
    generation behind the store is brought up to date."""
    path = layout.store_path(index_dir)
    if not path.exists():
        try:
            manifest: dict[str, Any] | None = layout.read_manifest(index_dir)
        except IndexMissingError:
            manifest = None
        if manifest is not None and manifest["format_version"] == 1:
            from index.legacy import migrate

            migrate(index_dir, f"{int(manifest['generation']) + 1:06d}-000")
        elif manifest is not None:
            raise IndexFormatError(f"{path} is missing — rebuild the index with `newsdesk index`")
        elif must_exist:
            raise IndexMissingError(index_dir)
    store = Store(path)
    committed = store.meta("manifest")
    if committed:
        try:
            current = layout.read_manifest(index_dir)
        except (IndexMissingError, IndexFormatError):
            current = {}
        stale = current.get("generation") != int(store.meta("generation") or 0)
        if stale or current.get("format_version") != layout.FORMAT_VERSION:
            layout.write_manifest(index_dir, json.loads(committed))
    return store


def _committed(index_dir: Path, store: Store) -> Committed:
    number = int(store.meta("generation") or 0)
    if number == 0:
        return Committed(0, [], np.empty(0, dtype=np.int64))
    record = layout.read_generation(layout.generation(index_dir, number))
    return Committed(number, open_segments(index_dir, record), record.deleted)


def _chunking_for(
    index_dir: Path, previous: dict[str, Any], encoder: Encoder | None, params: ChunkingParams | None
) -> ChunkingParams | None:
    """This build's chunking, fitted to the encoder; an existing index keeps its encoder and chunking."""
    if encoder is None:
        if not previous:
            raise IndexMissingError(index_dir)
        return None
    params = (params or ChunkingParams()).fitted(encoder.max_tokens)
    if previous:
        check_encoder(previous, encoder)
        if previous.get("chunking") != params.as_dict():
            raise NewsdeskError(
                f"{index_dir} was chunked with {previous.get('chunking')}, not {params.as_dict()}; "
                "build a new index to change chunking"
            )
    return params


def build(
    paths: Iterable[str | Path],
    index_dir: Path,
    encoder: Encoder,
    params: ChunkingParams | None = None,
    progress: ProgressFactory = no_progress,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    batch_size: int = 64,
    fresh: bool = False,
) -> BuildReport:
    """Index `paths` into `index_dir`, adding to what is there (or, `fresh`, replacing it). Returns the report."""
    with writing(index_dir, encoder, params, fresh=fresh) as writer:
        writer.add(read_paths(paths, max_file_bytes), progress, batch_size)
    return writer.report
