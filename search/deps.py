"""The live searcher behind the API: opened once, reopened only when a new generation is published."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from index.encoder import Encoder
from index.errors import EncoderMismatchError, IndexMissingError
from index.layout import MANIFEST
from search.searcher import Searcher
from search.settings import Settings


class SearcherHolder:
    """Hands out the current Searcher. A stat of manifest.json per request is the only per-request
    cost; when a build publishes a new generation the next request opens it, reusing the encoder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index)
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._stamp: tuple[int, int] | None = None
        self._encoder: Encoder | None = None

    def _manifest_stamp(self) -> tuple[int, int] | None:
        try:
            info = os.stat(self.index_dir / MANIFEST)
        except FileNotFoundError:
            return None
        return (info.st_mtime_ns, info.st_ino)

    def get(self) -> Searcher:
        stamp = self._manifest_stamp()
        if stamp is None:
            raise IndexMissingError(self.index_dir)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        searcher = Searcher.open(self.index_dir, self.settings, encoder=self._encoder)
                    except EncoderMismatchError:
                        # Rebuilt with another model or backend: load that one instead of failing forever.
                        searcher = Searcher.open(self.index_dir, self.settings)
                    self._encoder = searcher.encoder
                    self._searcher, self._stamp = searcher, stamp
        assert self._searcher is not None
        return self._searcher
