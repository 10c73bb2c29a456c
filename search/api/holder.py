"""The live searcher behind the API: opened once, reopened only when a new generation is published."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from index.encoders import Encoder
from index.errors import EncoderMismatchError, IndexMissingError
from index.layout import MANIFEST
from search.searcher import Searcher
from search.settings import Settings


class SearcherHolder:
    """Hands out the current Searcher. A stat of manifest.json per request is the only per-request
    cost; when a build publishes a new generation the next request opens it, reusing the encoder.

    Requests `acquire` and `release` the searcher, so a replaced one unpins its generation (letting the
    next build delete it) as soon as its last request ends. Left to the garbage collector, a searcher
    caught in a reference cycle kept old generations on disk through several builds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index)
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._stamp: tuple[int, int] | None = None
        self._encoder: Encoder | None = None
        self._in_use: dict[Searcher, int] = {}

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
                    replaced, self._searcher, self._stamp = self._searcher, searcher, stamp
                    if replaced is not None and replaced not in self._in_use:
                        replaced.close()
        assert self._searcher is not None
        return self._searcher

    def acquire(self) -> Searcher:
        """The current Searcher, counted in use until `release`."""
        self.get()
        with self._lock:  # swaps happen under the lock too: the one counted here is not closed meanwhile
            searcher = self._searcher
            assert searcher is not None
            self._in_use[searcher] = self._in_use.get(searcher, 0) + 1
        return searcher

    def release(self, searcher: Searcher) -> None:
        with self._lock:
            left = self._in_use.pop(searcher) - 1
            if left:
                self._in_use[searcher] = left
                return
            if searcher is self._searcher:
                return
        searcher.close()  # replaced, and its last request is done
