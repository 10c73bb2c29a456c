"""Build or update an index: read → dedupe → chunk → embed → store → vector index → publish.

Each run writes a new generation (see index/layout.py) through `writing()`, which index/maintenance.py
uses too. Articles whose text is unchanged keep their passages and vectors; an encoder input seen
before reuses its stored vector, so nothing is embedded twice.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index import dedupe, layout, lexical, vectors
from index.chunking import ChunkingParams, chunk_text, encoder_input, input_hash
from index.encoder import Encoder
from index.errors import EncoderMismatchError, IndexBusyError, IndexMissingError, NewsdeskError
from index.model import Article, Passage, Skip
from index.normalize import finalize
from index.readers import DEFAULT_MAX_FILE_BYTES, read_paths
from index.store import Store, now_iso

TITLE_CHARS = 160  # ~32 word pieces of title given to the encoder as context
PAUSE_ENV = "NEWSDESK_TEST_PAUSE_AT"


@dataclass(slots=True)
class BuildReport:
    """What a build did. `skipped` lists every file or record not indexed, with the reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # exact copies merged into an article already indexed (their URLs kept)
    removed: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)  # indexed, but part of the record was unusable
    passages: int = 0  # passages in the index after the build
    embedded: int = 0  # passages the encoder ran on in this build
    articles: int = 0  # articles in the index after the build
    stories: int = 0  # stories with more than one article
    seconds: float = 0.0
    generation: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(slots=True)
class _Pending:
    """An article whose passages must be (re)written in this build."""

    article: Article
    passages: list[Passage]
    inputs: list[str]
    hashes: list[str]


ProgressFactory = Callable[[str, int | None], "Progress"]


class Progress:
    """Minimal progress sink; the CLI passes a tqdm-backed one."""

    def update(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


def _no_progress(_label: str, _total: int | None) -> Progress:
    return Progress()


_held_locks = threading.local()  # index dirs whose lock this thread holds: build_lock nests


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index directory; a second one fails at once (IndexBusyError) rather
    than interleaving. A flock: the kernel releases it when its process dies, so a killed build never
    leaves a lock behind. Nested use in one thread is allowed (a script locks before loading a model)."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    key = str(index_dir.resolve())
    held: set[str] = _held_locks.__dict__.setdefault("dirs", set())
    if key in held:
        yield
        return
    with open(index_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip()
            raise IndexBusyError(
                f"another build (pid {owner or '?'}) is writing {index_dir}; try again when it finishes"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)


def pause_point(stage: str) -> None:
    """Test hook: with NEWSDESK_TEST_PAUSE_AT=<stage> a build writes `newsdesk-pause: <stage>` to stderr
    and sleeps there, so tests/test_reliability.py can SIGKILL it at that exact point.
    Stages, in order: reading, embedding, writing (store committed, FAISS not yet), publishing."""
    if os.environ.get(PAUSE_ENV) == stage:
        print(f"newsdesk-pause: {stage}", file=sys.stderr, flush=True)
        time.sleep(3600)


def check_encoder(manifest: dict, encoder: Encoder) -> None:
    """Refuse to mix vectors of two encoders in one index."""
    built = manifest.get("encoder", {})
    mine = encoder.describe()
    keys = ("name", "fingerprint", "backend", "dimension")
    if any(built.get(key) != mine.get(key) for key in keys):
        raise EncoderMismatchError(
            f"this index was built with encoder {built.get('name')} ({built.get('backend')}), not "
            f"{mine['name']} ({mine['backend']}); use the same --model/--backend or build a new index"
        )


class GenerationWriter:
    """A build in progress: a new generation written under the build lock. Get one from `writing()`;
    `add` articles, `remove` some, and the generation is published when the `with` block ends."""

    def __init__(
        self,
        index_dir: Path,
        generation: layout.Generation,
        store: Store,
        previous: dict,
        encoder: Encoder | None,
        params: ChunkingParams | None,
        reuse: Store | None,
    ) -> None:
        self.index_dir, self.generation, self.store, self.previous = index_dir, generation, store, previous
        self.encoder, self.params, self.reuse = encoder, params, reuse
        self.report = BuildReport()
        self.seen: set[str] = set()  # ids met in this build: written, unchanged, or merged into
        self.signatures: dict[str, bytes] = {}  # new or changed articles, to be given a story
        self.vector_kind: str | None = None  # the vector index type when forced (reindex-vectors); else by size
        self.started = time.perf_counter()

    def add(
        self,
        items: Iterable[Article | Skip],
        progress: ProgressFactory = _no_progress,
        batch_size: int = 64,
        outlet: str | None = None,
    ) -> None:
        """Index `items` (a reader's output); `outlet` sets every article's source."""
        if self.encoder is None or self.params is None:
            raise NewsdeskError("adding articles needs an encoder; this writer was opened without one")
        pending = _read_articles(self, items, progress, outlet)
        _embed_and_store(pending, self, progress, batch_size)

    def remove(self, article_ids: Iterable[str]) -> None:
        """Delete articles (rows, URLs, passages, FTS entries); vectors go when FAISS is rebuilt."""
        for article_id in article_ids:
            self.store.delete_article(article_id)
            self.report.removed += 1


@contextmanager
def writing(
    index_dir: Path, encoder: Encoder | None = None, params: ChunkingParams | None = None, fresh: bool = False
) -> Iterator[GenerationWriter]:
    """Lock the index, open a new generation (a copy of the live store, or an empty store when `fresh`,
    reusing the live one's vectors by input hash), and publish it when the block ends without error —
    unless nothing in it changed, when it is dropped and the report names the live generation.
    Without an encoder only removals are possible, and the index must exist."""
    index_dir = Path(index_dir)
    with build_lock(index_dir):
        live = layout.live_generation(index_dir)
        previous = layout.read_manifest(index_dir) if live else {}
        if encoder is None and not previous:
            raise IndexMissingError(index_dir)
        if encoder is not None:
            params = (params or ChunkingParams()).fitted(encoder.max_tokens)
            if previous:
                check_encoder(previous, encoder)
                if previous.get("chunking") != params.as_dict():
                    raise NewsdeskError(
                        f"{index_dir} was chunked with {previous.get('chunking')}, not {params.as_dict()}; "
                        "build a new index to change chunking"
                    )
        generation = layout.new_generation(index_dir, seed=not fresh)
        store = Store(generation.sqlite)
        reuse = Store(live.sqlite, readonly=True) if fresh and live else None
        writer = GenerationWriter(index_dir, generation, store, previous, encoder, params, reuse)
        try:
            yield writer
            if previous and live and not fresh and writer.store.total_changes == 0 and writer.vector_kind is None:
                _discard_unchanged(writer, live)  # nothing to publish: a cron update that found nothing new
            else:
                finish_generation(writer)
        except BaseException:
            store.close()
            live = layout.live_generation(index_dir)
            if live is None or live.number != generation.number:  # not published: nobody will read it
                shutil.rmtree(generation.path, ignore_errors=True)
            raise
        finally:
            store.close()
            if reuse is not None:
                reuse.close()


def finish_generation(writer: GenerationWriter) -> BuildReport:
    """Stories, commit, the FAISS file, the manifest: the one way a generation goes live."""
    store, report, previous = writer.store, writer.report, writer.previous
    _group_stories(store, writer.signatures)
    store.commit()
    pause_point("writing")
    counts = store.counts()
    report.articles, report.passages, report.stories = counts["articles"], counts["passages"], counts["stories"]
    lexical.export_postings(store.term_instances(), writer.generation.lexical)
    described = writer.encoder.describe() if writer.encoder else previous["encoder"]
    kind = writer.vector_kind or vectors.choose_index_type(report.passages)
    index = vectors.build_index(int(described["dimension"]), store.iter_vectors(), kind)
    vectors.write_index(index, writer.generation.faiss)
    store.close()
    report.generation = writer.generation.number
    report.seconds = round(time.perf_counter() - writer.started, 2)
    pause_point("publishing")
    layout.publish(
        writer.index_dir,
        writer.generation,
        {
            "encoder": described,
            "chunking": writer.params.as_dict() if writer.params else previous["chunking"],
            "vector_index": kind,
            "counts": counts,
            "created": previous.get("created", now_iso()),
            "built": now_iso(),
            # Counts only: the full skip and warning lists belong in the build report, not the manifest.
            "last_build": report.as_dict() | {"skipped": len(report.skipped), "warnings": len(report.warnings)},
        },
    )
    return report


def _discard_unchanged(writer: GenerationWriter, live: layout.Generation) -> None:
    counts = writer.store.counts()
    report = writer.report
    report.articles, report.passages, report.stories = counts["articles"], counts["passages"], counts["stories"]
    report.generation = live.number
    report.seconds = round(time.perf_counter() - writer.started, 2)
    writer.store.close()
    shutil.rmtree(writer.generation.path, ignore_errors=True)


def build(
    paths: Iterable[str | Path],
    index_dir: Path,
    encoder: Encoder,
    params: ChunkingParams | None = None,
    progress: ProgressFactory = _no_progress,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    batch_size: int = 64,
    fresh: bool = False,
) -> BuildReport:
    """Index `paths` into `index_dir`, adding to what is there (or, `fresh`, replacing it). Returns the report."""
    with writing(index_dir, encoder, params, fresh=fresh) as writer:
        writer.add(read_paths(paths, max_file_bytes), progress, batch_size)
    return writer.report


def _read_articles(
    writer: GenerationWriter, items: Iterable[Article | Skip], progress: ProgressFactory, outlet: str | None
) -> list[_Pending]:
    """Sort every article into unchanged / duplicate / to be (re)written; chunk the latter."""
    store, report, seen, reuse = writer.store, writer.report, writer.seen, writer.reuse
    assert writer.encoder is not None and writer.params is not None
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
        writer.signatures[article.id] = signature
        first_seen = state[1] if state else before[1] if before else None
        store.put_article(article, first_seen=first_seen, signature=signature)
        if before and before[0] == article.content_hash:
            store.set_times(article.id, before[1], before[2])
        passages = chunk_text(article.id, article.text, writer.params, writer.encoder.count_tokens)
        inputs = [encoder_input(article.title, p.text, TITLE_CHARS) for p in passages]
        pending.append(_Pending(article, passages, inputs, [input_hash(t) for t in inputs]))
    bar.close()
    return pending


def _embed_and_store(
    pending: list[_Pending], writer: GenerationWriter, progress: ProgressFactory, batch_size: int
) -> None:
    """Embed every encoder input not already in the store (or the previous generation's), once, then
    write all passages."""
    store, encoder = writer.store, writer.encoder
    assert encoder is not None
    all_hashes = [h for p in pending for h in p.hashes]
    known = store.vectors_by_input_hash(all_hashes)
    if writer.reuse is not None:
        known.update(writer.reuse.vectors_by_input_hash([h for h in all_hashes if h not in known]))
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
        writer.report.embedded += len(todo)
    for item in pending:
        matrix = np.stack([known[h] for h in item.hashes]) if item.hashes else np.empty((0, encoder.dimension))
        store.put_passages(item.article.title, item.passages, item.hashes, matrix)


def _group_stories(store: Store, fresh: dict[str, bytes]) -> None:
    """Give each new or changed article a story id: its near-copy's story, or a story of its own."""
    existing = [row for row in store.signatures() if row[0] not in fresh]
    grouper = dedupe.StoryGrouper(existing)
    assignments = {article_id: grouper.assign(article_id, signature) for article_id, signature in fresh.items()}
    store.set_stories(assignments)
