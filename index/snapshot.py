"""What a reader opens: one generation of an index, its rows and its derived files together.

`Snapshot.open` starts a read transaction on the store and reads the generation its last commit published;
it pins that generation's folder and maps the segments it names. The store connection keeps that read
transaction (and so that view of the rows) for the snapshot's lifetime, whatever builds commit meanwhile:
the rows a search reads and the vectors and postings it ranks belong to one generation, never a mix. The
connection is shared by the reader's threads (SQLite serializes it; each statement is a fraction of a
millisecond), because a connection per thread would start each view at a different moment.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index import layout
from index.errors import IndexFormatError, IndexMissingError
from index.lexical import LexicalIndex, LexicalSegment
from index.segments import Segment
from index.store import Store
from index.vectors import VectorSet


@dataclass(slots=True)
class Parts:
    """A generation's derived data, segment by segment (in passage id order), with its deleted ids."""

    ids: list[np.ndarray]
    articles: list[np.ndarray]
    indexes: list[faiss.Index]
    lexical: list[LexicalSegment]
    dead: np.ndarray  # sorted passage ids

    @classmethod
    def of(cls, segments: Sequence[Segment], dead: np.ndarray) -> Parts:
        return cls(
            [s.ids for s in segments],
            [s.articles for s in segments],
            [s.index for s in segments],
            [s.lexical for s in segments],
            np.asarray(dead, dtype=np.int64),
        )


def open_segments(index_dir: Path, record: layout.GenerationRecord) -> list[Segment]:
    root = layout.segments_dir(index_dir)
    return [Segment(root / name) for name in record.segments]


class Snapshot:
    """One generation, open for reading: `store` (in its read transaction), `vectors`, the passage map
    (`passage_ids`, `passage_articles`) and `lexical(weights)`. `close` ends the transaction and unpins."""

    def __init__(
        self,
        index_dir: Path,
        manifest: dict[str, Any],
        generation: layout.Generation,
        store: Store,
        parts: Parts,
        pin: layout.GenerationPin | None,
    ) -> None:
        self.index_dir, self.manifest, self.generation, self.store = index_dir, manifest, generation, store
        self._pin = pin
        self._closed = False
        self.parts = parts
        self.vectors = VectorSet(parts.indexes, parts.ids, parts.dead)
        # The passage map: ids ascending across segments, each with its article id (fixed-width bytes).
        self.passage_ids = np.concatenate(parts.ids) if parts.ids else np.empty(0, dtype=np.int64)
        self.passage_articles = np.concatenate(parts.articles) if parts.articles else np.empty(0, dtype="S16")
        self._dead_positions = np.searchsorted(self.passage_ids, parts.dead) if len(parts.dead) else None
        store.vector_lookup = self.vectors.vectors_of

    @classmethod
    def open(cls, index_dir: Path) -> Snapshot:
        """The live generation of `index_dir` (format 1 or 2)."""
        index_dir = Path(index_dir)
        manifest = layout.read_manifest(index_dir)  # also: IndexMissingError, an unreadable format
        if manifest["format_version"] == 1:
            from index.legacy import open_format1

            return open_format1(index_dir)
        for _attempt in range(20):
            store = Store(layout.store_path(index_dir), readonly=True)
            try:
                number = store.begin_snapshot()
                if number == 0:
                    raise IndexMissingError(index_dir)
                generation = layout.generation(index_dir, number)
                pin = layout.pin_generation(generation)
                if pin is None:  # deleted after two more builds, between our read and our pin: look again
                    store.close()
                    continue
                record = layout.read_generation(generation)
                committed = json.loads(store.meta("manifest") or "{}") or manifest
                return cls(
                    index_dir,
                    committed,
                    generation,
                    store,
                    Parts.of(open_segments(index_dir, record), record.deleted),
                    pin,
                )
            except BaseException:
                store.close()
                raise
        raise IndexFormatError(f"{index_dir} changed under every attempt to open it; try again")

    def close(self) -> None:
        """End the read transaction, close the store and unpin the generation (a build may then delete it).
        Closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self.store.end_snapshot()
        self.store.close()
        if self._pin is not None:
            self._pin.release()
            self._pin = None

    def live_passage_ids(self) -> np.ndarray:
        """The ids of the passages of this generation (its segments' ids but the deleted ones), ascending."""
        mask = self.dead_mask()
        return self.passage_ids if mask is None else self.passage_ids[~mask]

    def dead_mask(self) -> np.ndarray | None:
        """Deleted passages, as a mask over the passage map's positions (None when there are none)."""
        if self._dead_positions is None:
            return None
        mask = np.zeros(len(self.passage_ids), dtype=bool)
        mask[self._dead_positions] = True
        return mask

    def lexical(self, title_weight: float = 1.0, text_weight: float = 1.0) -> LexicalIndex:
        """BM25 over the generation's postings, with these column weights."""
        return LexicalIndex(self.parts.lexical, self.passage_ids, self.dead_mask(), title_weight, text_weight)
