"""Build or update an index: read → dedupe → chunk → embed → store → vector index → publish.

Each run writes a new generation (see index/layout.py). Articles whose text is unchanged keep their
passages and vectors; an encoder input seen before reuses its stored vector, so nothing is embedded twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index import dedupe, layout, vectors
from index.chunking import ChunkingParams, chunk_text, encoder_input
from index.encoder import Encoder
from index.errors import EncoderMismatchError, NewsdeskError
from index.model import Article, Passage, Skip
from index.normalize import finalize
from index.readers import DEFAULT_MAX_FILE_BYTES, read_paths
from index.store import Store, now_iso

TITLE_CHARS = 160  # ~32 word pieces of title given to the encoder as context


@dataclass(slots=True)
class BuildReport:
    """What a build did. `skipped` lists every file or record not indexed, with the reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # exact copies merged into an article already indexed (their URLs kept)
    skipped: list[dict[str, str]] = field(default_factory=list)
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


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index directory; a second one fails at once rather than interleaving."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NewsdeskError(f"another build is writing {index_dir}; try again when it finishes") from None
        handle.write(str(os.getpid()))
        handle.flush()
        yield


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


def _input_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def build(
    paths: Iterable[str | Path],
    index_dir: Path,
    encoder: Encoder,
    params: ChunkingParams | None = None,
    progress: ProgressFactory = _no_progress,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    batch_size: int = 64,
) -> BuildReport:
    """Index `paths` into `index_dir`, adding to what is there. Returns the build report."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    params = (params or ChunkingParams()).fitted(encoder.max_tokens)
    report = BuildReport()
    with build_lock(index_dir):
        live = layout.live_generation(index_dir)
        previous = layout.read_manifest(index_dir) if live else {}
        if previous:
            check_encoder(previous, encoder)
            if previous.get("chunking") != params.as_dict():
                raise NewsdeskError(
                    f"{index_dir} was chunked with {previous.get('chunking')}, not {params.as_dict()}; "
                    "build a new index to change chunking"
                )
        generation = layout.new_generation(index_dir)
        store = Store(generation.sqlite)
        try:
            pending, signatures = _read_articles(paths, store, params, encoder, report, progress, max_file_bytes)
            _embed_and_store(pending, store, encoder, report, progress, batch_size)
            _group_stories(store, signatures)
            store.commit()
            counts = store.counts()
            report.articles, report.passages, report.stories = counts["articles"], counts["passages"], counts["stories"]
            index = vectors.build_index(
                encoder.dimension, store.iter_vectors(), vectors.choose_index_type(report.passages)
            )
            vectors.write_index(index, generation.faiss)
        finally:
            store.close()
        report.generation = generation.number
        report.seconds = round(time.perf_counter() - started, 2)
        layout.publish(
            index_dir,
            generation,
            {
                "encoder": encoder.describe(),
                "chunking": params.as_dict(),
                "vector_index": vectors.choose_index_type(report.passages),
                "counts": counts,
                "created": previous.get("created", now_iso()),
                "built": now_iso(),
                "last_build": {k: v for k, v in report.as_dict().items() if k != "skipped"}
                | {"skipped": len(report.skipped)},
            },
        )
    return report


def _read_articles(
    paths,
    store: Store,
    params: ChunkingParams,
    encoder: Encoder,
    report: BuildReport,
    progress: ProgressFactory,
    max_file_bytes: int,
) -> tuple[list[_Pending], dict[str, bytes]]:
    """Sort every article into unchanged / duplicate / to be (re)written; chunk the latter."""
    pending: list[_Pending] = []
    signatures: dict[str, bytes] = {}
    seen_this_build: set[str] = set()
    bar = progress("reading", None)
    for item in read_paths(paths, max_file_bytes):
        bar.update()
        if isinstance(item, Skip):
            report.skipped.append({"path": item.path, "reason": item.reason})
            continue
        article = finalize(item)
        if not article.text:
            report.skipped.append({"path": article.origin, "reason": "no article text after cleaning"})
            continue
        state = store.article_state(article.id)
        if state and state[0] == article.content_hash:
            for url in article.urls:
                store.add_url(article.id, article.canonical_url, url)
            if article.id not in seen_this_build:
                report.unchanged += 1
            seen_this_build.add(article.id)
            continue
        twin = store.article_with_hash(article.content_hash)
        if twin and twin != article.id:
            # The same text under another URL: one article, every URL kept.
            for url in article.urls:
                store.add_url(twin, article.canonical_url, url)
            report.duplicates += 1
            continue
        if article.id in seen_this_build:
            report.skipped.append(
                {
                    "path": article.origin,
                    "reason": f"same id as an article earlier in this build ({article.id}), "
                    "different text; the first one was kept",
                }
            )
            continue
        seen_this_build.add(article.id)
        if state:
            store.delete_passages(article.id)
            report.updated += 1
        else:
            report.added += 1
        signature = dedupe.signature(article.text)
        signatures[article.id] = signature
        store.put_article(article, first_seen=state[1] if state else None, signature=signature)
        passages = chunk_text(article.id, article.text, params, encoder.count_tokens)
        inputs = [encoder_input(article.title, p.text, TITLE_CHARS) for p in passages]
        pending.append(_Pending(article, passages, inputs, [_input_hash(t) for t in inputs]))
    bar.close()
    return pending, signatures


def _embed_and_store(
    pending: list[_Pending],
    store: Store,
    encoder: Encoder,
    report: BuildReport,
    progress: ProgressFactory,
    batch_size: int,
) -> None:
    """Embed every encoder input not already in the store, once, then write all passages."""
    all_hashes = [h for p in pending for h in p.hashes]
    known = store.vectors_by_input_hash(all_hashes)
    todo: dict[str, str] = {}
    for item in pending:
        for digest, text in zip(item.hashes, item.inputs, strict=True):
            if digest not in known:
                todo.setdefault(digest, text)
    if todo:
        bar = progress("embedding", len(todo))
        fresh = encoder.encode(list(todo.values()), batch_size=batch_size, progress=bar.update)
        bar.close()
        known.update(zip(todo.keys(), fresh, strict=True))
        report.embedded = len(todo)
    for item in pending:
        matrix = np.stack([known[h] for h in item.hashes]) if item.hashes else np.empty((0, encoder.dimension))
        store.put_passages(item.article.title, item.passages, item.hashes, matrix)


def _group_stories(store: Store, fresh: dict[str, bytes]) -> None:
    """Give each new or changed article a story id: its near-copy's story, or a story of its own."""
    existing = [row for row in store.signatures() if row[0] not in fresh]
    grouper = dedupe.StoryGrouper(existing)
    assignments = {article_id: grouper.assign(article_id, signature) for article_id, signature in fresh.items()}
    store.set_stories(assignments)
