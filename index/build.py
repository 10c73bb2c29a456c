"""Build or update an index: read → dedupe → chunk → embed → store → vector index → publish.

Every change to an index goes through `writing()`: under the build lock it opens a new generation (see
index/layout.py) and yields a GenerationWriter, whose `add` and `remove` change it; when the block ends
the generation is published, or dropped when nothing in it changed. Articles whose text is unchanged keep
their passages and vectors, and an encoder input seen before reuses its stored vector: nothing is
embedded twice.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index import dedupe, layout, lexical, vectors
from index.chunking import TITLE_CHARS, ChunkingParams, chunk_text, encoder_input, input_hash
from index.encoders import Encoder, check_encoder
from index.errors import IndexMissingError, NewsdeskError
from index.locking import build_lock, pause_point
from index.model import Article, Passage, Skip
from index.normalize import finalize
from index.readers import DEFAULT_MAX_FILE_BYTES, read_paths
from index.report import BuildReport, ProgressFactory, no_progress
from index.store import Store, now_iso


@dataclass(slots=True)
class _Pending:
    """An article whose passages must be (re)written in this build."""

    article: Article
    passages: list[Passage]
    inputs: list[str]
    hashes: list[str]


class GenerationWriter:
    """A build in progress: a new generation written under the build lock. Get one from `writing()`;
    `add` articles, `remove` some, and the generation is published when the `with` block ends.

    `report` fills in as the build goes; `previous` is the manifest of the generation it started from
    ({} for a new index)."""

    def __init__(
        self,
        index_dir: Path,
        generation: layout.Generation,
        previous: dict[str, Any],
        store: Store,
        reuse: Store | None,
        encoder: Encoder | None,
        params: ChunkingParams | None,
    ) -> None:
        self.index_dir, self.generation, self.previous = index_dir, generation, previous
        self.report = BuildReport()
        self._store = store
        self._reuse = reuse  # a fresh build's previous generation: its vectors and dates are carried over
        self._encoder, self._params = encoder, params
        self._seen: set[str] = set()  # ids met in this build: written, unchanged, or merged into
        self._signatures: dict[str, bytes] = {}  # new or changed articles, to be given a story
        self._vector_kind: str | None = None  # forced by force_vector_index; else chosen by size
        self._manifest: dict[str, Any] = {}
        self._started = time.perf_counter()

    def add(
        self,
        items: Iterable[Article | Skip],
        progress: ProgressFactory = no_progress,
        batch_size: int = 64,
        outlet: str | None = None,
    ) -> None:
        """Index `items` (a reader's output); `outlet` sets every article's source."""
        if self._encoder is None or self._params is None:
            raise NewsdeskError("adding articles needs an encoder; this writer was opened without one")
        pending = self._read_articles(items, self._encoder, self._params, progress, outlet)
        self._embed_and_store(pending, self._encoder, progress, batch_size)

    def remove(self, article_ids: Iterable[str]) -> None:
        """Delete articles (rows, URLs, passages, FTS entries); vectors go when FAISS is rebuilt."""
        for article_id in article_ids:
            self._store.delete_article(article_id)
            self.report.removed += 1

    def remove_unseen(self, gone: Callable[[str | None], bool]) -> None:
        """Delete the articles this build has not met (neither added, unchanged nor merged into) for which
        `gone(origin)` is true: an update pruning articles whose file is no longer there."""
        self.remove([aid for aid, origin in self._store.origins() if aid not in self._seen and gone(origin)])

    def force_vector_index(self, kind: str | None = None) -> str:
        """Rebuild the vector index as type `kind` (default: the one the index's size calls for) and publish
        even if nothing else changed. Returns the type."""
        self._vector_kind = kind or vectors.choose_index_type(self._store.counts()["passages"])
        return self._vector_kind

    # --- the stages of `add` ---------------------------------------------------------------------------

    def _read_articles(
        self,
        items: Iterable[Article | Skip],
        encoder: Encoder,
        params: ChunkingParams,
        progress: ProgressFactory,
        outlet: str | None,
    ) -> list[_Pending]:
        """Sort every article into unchanged / duplicate / to be (re)written; chunk the latter."""
        store, report, seen, reuse = self._store, self.report, self._seen, self._reuse
        pending: list[_Pending] = []
        bar = progress("reading", None)
        for number, item in enumerate(items):
            if number == 0:
                pause_point("reading")
            bar.update()
            if isinstance(item, Skip):
                report.skipped.append({"path": item.path, "reason": item.reason})
                continue
            if outlet:
                item.source = outlet
            article = finalize(item)
            report.warnings.extend({"path": article.origin, "warning": w} for w in article.warnings)
            if not article.text:
                report.skipped.append({"path": article.origin, "reason": "no article text after cleaning"})
                continue
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
                continue
            twin = store.article_with_hash(article.content_hash)
            if twin and twin != article.id:
                # The same text under another URL: one article, every URL kept. An article edited into a
                # copy of another one must not keep serving its old text.
                if state:
                    store.delete_article(article.id)
                for url in article.urls:
                    store.add_url(twin, article.canonical_url, url)
                report.duplicates += 1
                seen.add(twin)
                continue
            if article.id in seen:
                report.skipped.append(
                    {
                        "path": article.origin,
                        "reason": f"same id as an article earlier in this build ({article.id}), "
                        "different text; the first one was kept",
                    }
                )
                continue
            seen.add(article.id)
            # A fresh rebuild compares with the previous generation, so its report and dates stay meaningful.
            before = reuse.article_times(article.id) if reuse is not None and not state else None
            if state:
                store.delete_passages(article.id)
                report.updated += 1
            elif before and before[0] == article.content_hash:
                report.unchanged += 1
            elif before:
                report.updated += 1
            else:
                report.added += 1
            signature = dedupe.signature(article.text)
            self._signatures[article.id] = signature
            first_seen = state[1] if state else before[1] if before else None
            store.put_article(article, first_seen=first_seen, signature=signature)
            if before and before[0] == article.content_hash:
                store.set_times(article.id, before[1], before[2])
            passages = chunk_text(article.id, article.text, params, encoder.count_tokens)
            inputs = [encoder_input(article.title, p.text, TITLE_CHARS) for p in passages]
            pending.append(_Pending(article, passages, inputs, [input_hash(t) for t in inputs]))
        bar.close()
        return pending

    def _embed_and_store(
        self, pending: list[_Pending], encoder: Encoder, progress: ProgressFactory, batch_size: int
    ) -> None:
        """Embed every encoder input not already in the store (or the previous generation's), once, then
        write all passages."""
        all_hashes = [h for p in pending for h in p.hashes]
        known = self._store.vectors_by_input_hash(all_hashes)
        if self._reuse is not None:
            known.update(self._reuse.vectors_by_input_hash([h for h in all_hashes if h not in known]))
        todo: dict[str, str] = {}
        for item in pending:
            for digest, text in zip(item.hashes, item.inputs, strict=True):
                if digest not in known:
                    todo.setdefault(digest, text)
        if todo:
            pause_point("embedding")
            bar = progress("embedding", len(todo))
            fresh = encoder.encode(list(todo.values()), batch_size=batch_size, progress=bar.update)
            bar.close()
            known.update(zip(todo.keys(), fresh, strict=True))
            self.report.embedded += len(todo)
        for item in pending:
            matrix = np.stack([known[h] for h in item.hashes]) if item.hashes else np.empty((0, encoder.dimension))
            self._store.put_passages(item.article.title, item.passages, item.hashes, matrix)

    # --- the end of a build: `writing` calls these ----------------------------------------------------

    def _complete(self) -> bool:
        """Everything the generation needs while its store is open: stories, commit, the derived files.
        False when nothing changed, so there is nothing to publish."""
        store, report = self._store, self.report
        if self._reuse is not None:
            self._count_replaced(self._reuse)
        elif self.previous and store.changes() == 0 and self._vector_kind is None:
            self._count(store)  # a cron update that found nothing new: the live generation stays
            report.generation = int(self.previous["generation"])
            report.seconds = round(time.perf_counter() - self._started, 2)
            return False
        self._group_stories()
        store.commit()
        pause_point("writing")
        counts = self._count(store)
        lexical.export_postings(store.term_instances(), self.generation.lexical)
        # A removal or a reindex has no encoder: the index keeps the one that built it.
        described: dict[str, Any] = self._encoder.describe() if self._encoder else self.previous["encoder"]
        dimension = self._encoder.dimension if self._encoder else int(described["dimension"])
        kind = self._vector_kind or vectors.choose_index_type(report.passages)
        index = vectors.build_index(dimension, store.iter_vectors(), kind)
        vectors.write_index(index, self.generation.faiss)
        self._manifest = {
            "encoder": described,
            "chunking": self._params.as_dict() if self._params else self.previous["chunking"],
            "vector_index": kind,
            "counts": counts,
            "created": self.previous.get("created", now_iso()),
        }
        return True

    def _publish(self) -> None:
        """Switch readers to this generation: the manifest, written last (the store is closed by now)."""
        report = self.report
        report.generation = self.generation.number
        report.seconds = round(time.perf_counter() - self._started, 2)
        pause_point("publishing")
        # Counts only: the full skip and warning lists belong in the build report, not the manifest.
        last_build = report.as_dict() | {"skipped": len(report.skipped), "warnings": len(report.warnings)}
        layout.publish(self.index_dir, self.generation, self._manifest | {"built": now_iso(), "last_build": last_build})

    def _count(self, store: Store) -> dict[str, int]:
        counts = store.counts()
        self.report.articles, self.report.passages = counts["articles"], counts["passages"]
        self.report.stories = counts["stories"]
        return counts

    def _count_replaced(self, previous: Store) -> None:
        """A fresh build replaces the previous generation: what it did not meet again is removed. One that
        met nothing at all would empty the index, which unreadable sources never mean."""
        before = [article_id for article_id, _ in previous.origins()]
        self.report.removed = sum(1 for article_id in before if article_id not in self._seen)
        if before and not self._seen:
            raise NewsdeskError(
                f"the sources gave no article (skipped: {len(self.report.skipped)}); refusing to replace "
                f"{self.index_dir}, which has {len(before)} — check that the sources are readable"
            )

    def _group_stories(self) -> None:
        """Give each new or changed article a story id: its near-copy's story, or a story of its own."""
        fresh = self._signatures
        existing = [row for row in self._store.signatures() if row[0] not in fresh]
        grouper = dedupe.StoryGrouper(existing)
        self._store.set_stories({article_id: grouper.assign(article_id, sig) for article_id, sig in fresh.items()})


@contextmanager
def writing(
    index_dir: Path, encoder: Encoder | None = None, params: ChunkingParams | None = None, fresh: bool = False
) -> Iterator[GenerationWriter]:
    """Lock the index, open a new generation (a copy of the live store, or an empty store when `fresh`,
    reusing the live one's vectors by input hash), and publish it when the block ends without error —
    unless nothing in it changed, when it is dropped and the report names the live generation.
    A fresh build counts what it did not meet again as removed, and refuses to replace an index with
    nothing. Without an encoder only removals are possible, and the index must exist."""
    index_dir = Path(index_dir)
    with build_lock(index_dir):
        live = layout.live_generation(index_dir)
        previous = layout.read_manifest(index_dir) if live else {}
        params = _chunking_for(index_dir, previous, encoder, params)
        generation = layout.new_generation(index_dir, seed=not fresh)
        try:
            # Each store is closed once, when this block ends; the generation is published after that.
            with closing(Store(generation.sqlite)) as store, _open_readonly(live if fresh else None) as reuse:
                writer = GenerationWriter(index_dir, generation, previous, store, reuse, encoder, params)
                yield writer
                changed = writer._complete()
            if changed:
                writer._publish()
            else:
                shutil.rmtree(generation.path, ignore_errors=True)
        except BaseException:
            live = layout.live_generation(index_dir)
            if live is None or live.number != generation.number:  # not published: nobody will read it
                shutil.rmtree(generation.path, ignore_errors=True)
            raise


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


def _open_readonly(generation: layout.Generation | None) -> AbstractContextManager[Store | None]:
    return closing(Store(generation.sqlite, readonly=True)) if generation else nullcontext(None)


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
