"""One writer per index directory (`build_lock`), and the points where a build can be paused for tests
that kill it there (`pause_point`)."""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from index.errors import IndexBusyError

PAUSE_ENV = "NEWSDESK_TEST_PAUSE_AT"

_held_locks = threading.local()  # index dirs whose lock this thread holds: build_lock nests


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index directory; a second one fails at once (IndexBusyError) rather
    than interleaving. A flock: the kernel releases it when its process dies, so a killed build never
    leaves a lock behind. Nested use in one thread is allowed (a command locks before loading a model)."""
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
    Stages, in order: reading (the first article), embedding (before the first encoder call), streaming (a
    batch's vectors committed to the vector cache), segments (the new segments written), committing (the
    generation's folder written, the store not yet committed), publishing (committed, manifest.json not yet
    replaced), cleaning (published; old generations not yet removed)."""
    if os.environ.get(PAUSE_ENV) == stage:
        print(f"newsdesk-pause: {stage}", file=sys.stderr, flush=True)
        time.sleep(3600)
