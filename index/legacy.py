"""Format 1 (a full store copy, vectors.faiss and lexical.npz per generation): read as it is, and migrated
to format 2 by the first build that writes to it.

Reading one costs what it always did (the passage map is read from the store when it opens), so a server
keeps answering from an old index until the index is next written. Migrating copies the rows into the
format-2 store (without the vectors, the FTS5 table and the passage texts, which format 2 keeps elsewhere
or derives), files every article's story band keys, and makes one segment from the old files: the postings
from lexical.npz, the vector index copied as it is (an HNSW graph is not rebuilt). Nothing is embedded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from index import layout
from index.durable import fsync_dir, fsync_file
from index.errors import IndexFormatError
from index.lexical import LexicalSegment
from index.postings import TF_MAX, TF_TYPE, Postings, from_instances
from index.segments import SegmentWriter
from index.snapshot import Parts, Snapshot
from index.store import Store
from index.stories import band_keys
from index.vectors import FLAT, index_type, read_index

LEXICAL_FORMAT = 1  # the `format` of a format-1 lexical.npz
_COPIED = {
    "articles": "id, url, canonical_url, title, source, authors, published, language, pack_text(text), content_hash, "
    "story_id, signature, origin, first_seen, updated",
    "article_urls": "url, article_id, original",
    "passages": "id, article_id, ordinal, start, end, input_hash",
    "stories": "id, size",
}


def open_format1(index_dir: Path) -> Snapshot:
    """A reader's snapshot of a format-1 index (each generation is immutable: no transaction needed)."""
    manifest, generation, pin = layout.open_pinned(index_dir)
    store = Store(generation.sqlite, readonly=True)
    try:
        owners = store.passage_owners()
        ids = owners.passage_ids
        lexical = LexicalSegment.of(_postings(generation, store, ids))
        articles = np.array(owners.article_ids, dtype=np.bytes_) if len(ids) else np.empty(0, dtype="S16")
        index = read_index(generation.faiss, in_memory=manifest.get("vector_index") == FLAT)
        parts = Parts([ids], [articles], [index], [lexical], np.empty(0, dtype=np.int64))
    except BaseException:
        store.close()
        raise
    return Snapshot(Path(index_dir), manifest, generation, store, parts, pin)


def _postings(generation: layout.Generation, store: Store, ids: np.ndarray) -> Postings:
    """The generation's postings over every passage `ids`: from lexical.npz, or from its FTS5 table when the
    generation is older than the export."""
    if not generation.lexical.is_file():
        return from_instances(store.term_instances(), ids)
    try:
        with np.load(generation.lexical) as arrays:
            if int(arrays["format"][0]) != LEXICAL_FORMAT:
                raise IndexFormatError(f"{generation.lexical} has postings format {int(arrays['format'][0])}")
            raw_terms = bytes(arrays["terms"]).decode("utf-8")
            # lexical.npz numbers only the passages with a token; a segment numbers every passage.
            position = np.searchsorted(ids, arrays["doc_ids"])
            lengths = np.zeros(len(ids), dtype=np.int32)
            lengths[position] = arrays["doc_lengths"]
            return Postings(
                np.array(raw_terms.split("\n") if raw_terms else [], dtype=object),
                arrays["indptr"].astype(np.int64),
                position[arrays["docs"]].astype(np.int32),
                np.minimum(arrays["tf_title"], TF_MAX).astype(TF_TYPE),
                np.minimum(arrays["tf_text"], TF_MAX).astype(TF_TYPE),
                np.asarray(ids, dtype=np.int64),
                lengths,
            )
    except (OSError, ValueError, KeyError) as exc:
        raise IndexFormatError(f"cannot read {generation.lexical}: {exc} — rebuild the index") from exc


def migrate(index_dir: Path, segment_name: str) -> None:
    """Turn the format-1 index at `index_dir` into format 2 (call it holding the build lock). The old
    generation stays readable until no reader pins it; a kill at any point leaves the format-1 index live
    (or the migrated one, once its store has its final name), and the next build carries on."""
    index_dir = Path(index_dir)
    manifest = layout.read_manifest(index_dir)
    old = layout.generation(index_dir, int(manifest["generation"]), 1)
    number = old.number + 1
    work = index_dir / f"{layout.STORE}.migrating"
    for leftover in index_dir.glob(f"{layout.STORE}.migrating*"):
        leftover.unlink()
    store = Store(work, wal=False)
    try:
        _copy_rows(store, old)
        source = Store(old.sqlite, readonly=True)
        try:
            owners = source.passage_owners()
            postings = _postings(old, source, owners.passage_ids)
        finally:
            source.close()
        writer = SegmentWriter(
            layout.segments_dir(index_dir) / f".tmp-{segment_name}", int(manifest["encoder"]["dimension"])
        )
        writer.add_passages(owners.passage_ids, np.array(owners.article_ids, dtype=np.bytes_), np.empty((0, 0)))
        writer.add_postings(postings)
        del postings, owners
        kind = index_type(read_index(old.faiss))
        writer.finish(layout.segments_dir(index_dir) / segment_name, kind, vector_file=old.faiss)
        layout.write_generation(index_dir, number, [segment_name], np.empty(0, dtype=np.int64))
        migrated = {**manifest, "format_version": layout.FORMAT_VERSION, "generation": number, "vector_index": kind}
        store.set_meta("format", str(layout.FORMAT_VERSION))
        store.set_meta("generation", str(number))
        store.set_meta("manifest", json.dumps(migrated, ensure_ascii=False))
        store.commit()
    finally:
        store.close()
    fsync_file(work)
    work.rename(layout.store_path(index_dir))  # the switch: from here on the store says generation n + 1
    fsync_dir(index_dir)
    layout.write_manifest(index_dir, migrated)


def _copy_rows(store: Store, old: layout.Generation) -> None:
    store.copy_rows_from(old.sqlite, _COPIED)
    store.begin()
    for article_id, signature in list(store.signatures()):
        keys = band_keys(signature)
        if keys:
            store.add_story_bands(article_id, keys)
