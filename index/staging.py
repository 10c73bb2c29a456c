"""The build's vector cache, `DIR/staging.sqlite`: every vector embedded since the last publication, by
the hash of what the encoder saw, committed batch by batch.

A build's rows are written in one transaction of the store, which a kill rolls back by itself; only the
embeddings are worth keeping across a kill, because they are what costs hours. So a batch's new vectors are
committed here before anything else uses them, and the next run takes them from here instead of the
encoder. Once a generation holding them is committed (its segments keep the vectors), the cache is deleted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from index.store import IN_CHUNK


class VectorCache:
    """Vectors by input hash for one encoder (described by `encoder`): a cache made by another is dropped."""

    def __init__(self, path: Path, encoder: Mapping[str, Any]) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # losing the last batch to a power cut only costs embedding it
        self.db.execute("CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (input_hash TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        described = json.dumps(dict(encoder), sort_keys=True)
        row = self.db.execute("SELECT value FROM info WHERE key='encoder'").fetchone()
        if row is None or row[0] != described:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM vectors")
            self.db.execute("INSERT OR REPLACE INTO info(key, value) VALUES ('encoder', ?)", (described,))
            self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def get(self, digests: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those of `digests` embedded before."""
        keys = list(set(digests))
        found: dict[str, np.ndarray] = {}
        for begin in range(0, len(keys), IN_CHUNK):
            chunk = keys[begin : begin + IN_CHUNK]
            rows = self.db.execute(
                f"SELECT input_hash, vector FROM vectors WHERE input_hash IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update((digest, np.frombuffer(blob, dtype=np.float32)) for digest, blob in rows)
        return found

    def put(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Keep freshly embedded vectors: committed when this returns, so a kill after it loses none."""
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT OR REPLACE INTO vectors(input_hash, vector) VALUES (?, ?)",
            [(digest, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for digest, v in vectors.items()],
        )
        self.db.execute("COMMIT")

    def discard(self) -> None:
        """Close and delete the cache: its vectors are in a published generation's segments now (a fresh
        build of a large corpus leaves ~1.5 KB a passage here, which need not stay on disk)."""
        self.db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
