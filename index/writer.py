"""The build writer: articles sorted, chunked, embedded and written in bounded batches.

A `GenerationWriter` (get one from `index.build.writing`) works inside one transaction of the store. Each
batch of BATCH_ARTICLES articles (or BATCH_PASSAGES passages) goes: new or changed articles' rows → vectors
(from the build's vector cache, else from the segments of a passage with the same encoder input, else the
encoder, whose results are committed to the cache at once) → passage rows with their ids → a new segment
(vectors and postings; finished every MAX_SEGMENT_PASSAGES). Memory holds one batch, the segment being
written and the ids of the articles met; nothing else grows with the corpus. Replaced and removed
passages become deleted ids of the next generation; their vectors stay reusable until it is published.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import dedupe, layout, vectors
from index.chunking import TITLE_CHARS, ChunkingParams, chunk_text, encoder_input, input_hash
from index.encoders import Encoder
from index.errors import NewsdeskError
from index.locking import pause_point
from index.model import Article, Passage, Skip
from index.normalize import finalize
from index.postings import from_instances
from index.report import BuildReport, Progress, ProgressFactory, no_progress
from index.segments import MAX_SEGMENT_PASSAGES, Segment, SegmentWriter, merge_segments
from index.staging import VectorCache
from index.store import Store
from index.stories import StoryKeeper
from index.tokens import tokenize

BATCH_ARTICLES = 256
BATCH_PASSAGES = 2048


@dataclass
class Committed:
    """The generation a build starts from (0: none yet): its segments, opened, and its deleted ids."""

    number: int
    segments: list[Segment]
    deleted: np.ndarray

    @functools.cached_property
    def vectors(self) -> vectors.VectorSet:
        """Its vectors, for reuse (opened when first needed: most builds find nothing to reuse)."""
        return vectors.VectorSet([s.index for s in self.segments], [s.ids for s in self.segments], self.deleted)


@dataclass(slots=True)
class Drained:
    """What a build leaves for its generation: the one it started from, the segments it wrote, the passage
    ids it deleted, whether to compact (and into which vector index type, None: by size); `changed` is False
    when publishing would change nothing."""

    committed: Committed
    new_segments: list[Segment]
    dead: np.ndarray
    compact: bool
    vector_kind: str | None
    changed: bool


@dataclass(slots=True)
class _Pending:
    """An article whose passages must be written in this batch."""

    article: Article
    passages: list[Passage]
    inputs: list[str]
    hashes: list[str]


class GenerationWriter:
    """A build in progress under the build lock. `add` articles, `remove` some; `index.build.writing`
    publishes the next generation when its `with` block ends. `report` fills in as the build goes;
    `previous` is the manifest of the generation it started from ({} for a new index)."""

    def __init__(
        self,
        index_dir: Path,
        store: Store,
        committed: Committed,
        previous: dict[str, Any],
        encoder: Encoder | None,
        params: ChunkingParams | None,
        cache: VectorCache | None,
        fresh: bool = False,
    ) -> None:
        self.index_dir, self.previous = index_dir, previous
        self.report = BuildReport()
        self._store, self._committed, self._cache, self._fresh = store, committed, cache, fresh
        self._encoder, self._params = encoder, params
        last_in_segments = max((int(s.info.last_id) for s in committed.segments), default=0)
        # New ids above every id in a segment, live or deleted: segments cover disjoint, rising id ranges.
        self._first_new_id = self._next_id = max(store.max_passage_id(), last_in_segments) + 1
        self._seen: set[str] = set()  # ids met in this build: written, unchanged, or merged into
        self._dead: list[np.ndarray] = []  # passage ids deleted by this build
        self._dead_hashes: dict[str, int] = {}  # their encoder inputs: the vectors are still in a segment
        self._stories = StoryKeeper(store)
        self._segment: SegmentWriter | None = None
        self._new_segments: list[Segment] = []
        self._serial = 0
        self._vector_kind: str | None = None  # forced by force_vector_index
        self._compact = False
        self._embed_bar: Progress | None = None
        self._paused: set[str] = set()
        self.started = time.perf_counter()

    # --- what a caller does ---------------------------------------------------------------------------

    def add(
        self,
        items: Iterable[Article | Skip],
        progress: ProgressFactory = no_progress,
        batch_size: int = 64,
        outlet: str | None = None,
    ) -> None:
        """Index `items` (a reader's output); `outlet` sets every article's source. `batch_size` is the
        encoder's batch."""
        if self._encoder is None or self._params is None:
            raise NewsdeskError("adding articles needs an encoder; this writer was opened without one")
        batch: list[_Pending] = []
        passages = 0
        bar = progress("reading", None)
        try:
            for number, item in enumerate(items):
                if number == 0:
                    pause_point("reading")
                bar.update()
                pending = self._sort(item, outlet, self._encoder, self._params)
                if pending is None:
                    continue
                batch.append(pending)
                passages += len(pending.passages)
                if len(batch) >= BATCH_ARTICLES or passages >= BATCH_PASSAGES:
                    self._write_batch(batch, self._encoder, progress, batch_size)
                    batch, passages = [], 0
            self._write_batch(batch, self._encoder, progress, batch_size)
        finally:
            bar.close()
            if self._embed_bar is not None:
                self._embed_bar.close()
                self._embed_bar = None

    def resolve(self, id_or_url: str) -> str | None:
        """The id of a stored article given by id or any of its URLs (None: no such article)."""
        return self._store.resolve_id(id_or_url)

    def remove(self, article_ids: Iterable[str]) -> None:
        """Delete articles (rows, URLs, passages); their vectors and postings leave with the next generation."""
        for article_id in article_ids:
            self._delete(article_id)
            self.report.removed += 1
        self._stories.flush()

    def remove_unseen(self, gone: Callable[[str | None], bool]) -> None:
        """Delete the articles this build has not met (neither added, unchanged nor merged into) for which
        `gone(origin)` is true: an update pruning articles whose file is no longer there."""
        self.remove([aid for aid, origin in self._store.origins() if aid not in self._seen and gone(origin)])

    def force_vector_index(self, kind: str | None = None) -> str:
        """Compact the index into segments of vector index type `kind` (default: the one its size calls for)
        and publish even if nothing else changed. Returns the type."""
        self._vector_kind = kind or vectors.choose_index_type(self._store.counts()["passages"])
        self._compact = True
        return self._vector_kind

    def compact(self) -> None:
        """Merge every segment (each vector index of the type its size calls for) and drop deleted passages
        from them, and drop the story band keys of removed articles, publishing even if nothing else changed."""
        self._compact = True
        self._store.prune_story_bands()

    # --- one article, one batch -----------------------------------------------------------------------

    def _sort(
        self, item: Article | Skip, outlet: str | None, encoder: Encoder, params: ChunkingParams
    ) -> _Pending | None:
        """Sort an item into skipped / unchanged / duplicate / to be (re)written; write the latter's row and
        story now, and return its passages for the batch."""
        store, report, seen = self._store, self.report, self._seen
        if isinstance(item, Skip):
            report.skipped.append({"path": item.path, "reason": item.reason})
            return None
        if outlet:
            item.source = outlet
        article = finalize(item)
        report.warnings.extend({"path": article.origin, "warning": w} for w in article.warnings)
        if not article.text:
            report.skipped.append({"path": article.origin, "reason": "no article text after cleaning"})
            return None
        state = store.article_state(article.id)
        if state and state[0] == article.content_hash:
            for url in article.urls:
                store.add_url(article.id, article.canonical_url, url)
            if article.id in seen:
                report.duplicates += 1  # a second copy within this build (same id, same text): merged
            else:
                store.set_origin(article.id, article.origin)  # the first file holding it now: it may have moved
                store.refresh_metadata(article)  # same text, so nothing to embed; fields may be corrected
                report.unchanged += 1
            seen.add(article.id)
            return None
        twin = store.article_with_hash(article.content_hash)
        if twin and twin != article.id:
            # The same text under another URL: one article, every URL kept. An article edited into a
            # copy of another one must not keep serving its old text.
            if state:
                self._delete(article.id)
            for url in article.urls:
                store.add_url(twin, article.canonical_url, url)
            report.duplicates += 1
            seen.add(twin)
            return None
        if article.id in seen:
            reason = (
                f"same id as an article earlier in this build ({article.id}), different text; the first one was kept"
            )
            report.skipped.append({"path": article.origin, "reason": reason})
            return None
        seen.add(article.id)
        if state:
            self._stories.forget(article.id)
            self._kill(store.delete_passages(article.id))
            report.updated += 1
        else:
            report.added += 1
        signature = dedupe.signature(article.text)
        store.put_article(article, first_seen=state[1] if state else None, signature=signature)
        self._stories.assign(article.id, signature)
        passages = chunk_text(article.id, article.text, params, encoder.count_tokens)
        inputs = [encoder_input(article.title, p.text, TITLE_CHARS) for p in passages]
        return _Pending(article, passages, inputs, [input_hash(t) for t in inputs])

    def _write_batch(self, batch: list[_Pending], encoder: Encoder, progress: ProgressFactory, batch_size: int) -> None:
        """Vectors for the batch (reused, cached or embedded once), then its passage rows and segment part."""
        if not batch:
            return
        known = self._known_vectors([h for item in batch for h in item.hashes])
        todo: dict[str, str] = {}
        for item in batch:
            for digest, text in zip(item.hashes, item.inputs, strict=True):
                if digest not in known:
                    todo.setdefault(digest, text)
        if todo:
            self._pause_once("embedding")
            if self._embed_bar is None:
                self._embed_bar = progress("embedding", None)
            fresh = dict(
                zip(todo, encoder.encode(list(todo.values()), batch_size, self._embed_bar.update), strict=True)
            )
            if self._cache is not None:
                self._cache.put(fresh)  # committed: a kill from here on does not lose these embeddings
            known.update(fresh)
            self.report.embedded += len(todo)
            self._pause_once("streaming")
        first = self._next_id
        documents, owners = [], []
        for item in batch:
            self._store.put_passages(self._next_id, item.passages, item.hashes)
            for n, passage in enumerate(item.passages):
                documents.append((self._next_id + n, item.article.title, passage.text))
                owners.append(item.article.id)
            self._next_id += len(item.passages)
        self._stories.flush()
        ids = np.arange(first, self._next_id, dtype=np.int64)
        if not len(ids):
            return
        matrix = np.stack([known[h] for item in batch for h in item.hashes])
        if self._segment is None:
            self._segment = SegmentWriter(self._segment_path(".tmp-"), encoder.dimension)
        self._segment.add(ids, owners, matrix, from_instances(tokenize(documents), ids))
        if self._segment.passages >= MAX_SEGMENT_PASSAGES:
            self._finish_segment()

    def _known_vectors(self, digests: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors already computed for these encoder inputs: embedded since the last publication (the
        cache), or held by a segment for a passage with the same input (live or replaced in this build)."""
        known = self._cache.get(digests) if self._cache is not None else {}
        missing = [d for d in set(digests) if d not in known]
        if missing:
            ids = self._store.passage_ids_by_input_hash(missing, below=self._first_new_id)
            ids.update((d, self._dead_hashes[d]) for d in missing if d not in ids and d in self._dead_hashes)
            if ids:
                found = self._committed.vectors.vectors_of(np.fromiter(ids.values(), dtype=np.int64, count=len(ids)))
                known.update(zip(ids, found, strict=True))
        return known

    def _delete(self, article_id: str) -> None:
        self._stories.forget(article_id)
        self._kill(self._store.delete_article(article_id))

    def _kill(self, rows: list[tuple[int, str]]) -> None:
        """Passages deleted from the store: dead in the next generation, their vectors still reusable."""
        if not rows:
            return
        self._dead.append(np.array([pid for pid, _ in rows], dtype=np.int64))
        for pid, digest in rows:
            if pid < self._first_new_id:
                self._dead_hashes.setdefault(digest, pid)

    def _pause_once(self, stage: str) -> None:
        if stage not in self._paused:
            self._paused.add(stage)
            pause_point(stage)

    # --- segments ---------------------------------------------------------------------------------------

    @property
    def number(self) -> int:
        """The generation this build writes."""
        return self._committed.number + 1

    def _segment_path(self, prefix: str = "") -> Path:
        return layout.segments_dir(self.index_dir) / f"{prefix}{self.number:06d}-{self._serial:03d}"

    def _finish_segment(self, kind: str | None = None) -> None:
        if self._segment is None:
            return
        final = self._segment_path()
        self._segment.finish(final, kind)
        self._new_segments.append(Segment(final))
        self._segment = None
        self._serial += 1

    def merge(self, segments: Sequence[Segment], dead: np.ndarray, kind: str | None) -> Segment | None:
        """Merge neighbouring segments into a new one of this build (index.merging calls it)."""
        final = self._segment_path()
        info = merge_segments(segments, dead, self._segment_path(".tmp-"), final, kind)
        self._serial += 1
        return Segment(final) if info is not None else None

    def drain(self) -> Drained:
        """The end of the caller's block: a fresh build removes what it did not meet, the last segment is
        finished. What the next generation is made of."""
        if self._fresh:
            self._remove_unmet()
        self._stories.flush()
        self._finish_segment()
        dead = np.unique(np.concatenate(self._dead)) if self._dead else np.empty(0, dtype=np.int64)
        changed = bool(self._store.changes() or self._new_segments or len(dead) or self._compact)
        return Drained(self._committed, self._new_segments, dead, self._compact, self._vector_kind, changed)

    def _remove_unmet(self) -> None:
        """A fresh build replaces the index: what it did not meet again is removed. One that met nothing at
        all would empty the index, which unreadable sources never mean."""
        before = [article_id for article_id, _ in self._store.origins()]
        if before and not self._seen:
            raise NewsdeskError(
                f"the sources gave no article (skipped: {len(self.report.skipped)}); refusing to replace "
                f"{self.index_dir}, which has {len(before)} — check that the sources are readable"
            )
        self.remove([article_id for article_id in before if article_id not in self._seen])

    def abandon(self) -> None:
        """The block failed: drop the unfinished segment (finished ones go with the next run's clean-up)."""
        if self._segment is not None:
            self._segment.abandon()
            self._segment = None
