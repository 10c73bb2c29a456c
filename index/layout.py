"""The index directory on disk: the store, the segments, the generations that name them, the manifest.

    DIR/news.sqlite (+ -wal, -shm)  the store (index/store.py), updated in place; its `meta` table records
                                    the generation its last commit published: that is the live one
    DIR/segments/<name>/            immutable derived data (index/segments.py): vectors, postings, passage map
    DIR/generations/<n>/            small, one per publication: generation.json (the segments making up the
                                    index), deleted.npy (passage ids deleted since those segments were
                                    written), .readers (the pin)
    DIR/manifest.json               a copy of the live generation's description, written after the commit:
                                    what a server stats to notice a new generation
    DIR/staging.sqlite              a build's vector cache (index/staging.py): what it embedded, until published

A build writes new segments and generation n+1's folder first, then commits its rows together with
`meta.generation = n+1` in one SQLite transaction: that commit is the switch. A reader opens one read
transaction, reads the generation there and pins its folder, so the rows and the derived files it uses
belong to the same generation. A killed build leaves only folders no commit names; the next build removes
them. Readers pin the generation they opened with a shared flock on its `.readers` file; a build never
deletes a pinned generation (it goes on a later build), nor a segment a remaining generation names.

Format 1 (before issue 15) kept a full copy of the store per generation (generations/<n>/news.sqlite,
vectors.faiss, lexical.npz); it is still read (index/legacy.py), and the first write migrates it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.durable import fsync_tree, write_json
from index.errors import IndexFormatError, IndexMissingError

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
MANIFEST = "manifest.json"
STORE = "news.sqlite"
STAGING = "staging.sqlite"
SEGMENTS = "segments"
GENERATIONS = "generations"
READERS = ".readers"  # flock'ed shared by readers of a generation, exclusively by a build deleting it
GENERATION_FILE = "generation.json"
DELETED_FILE = "deleted.npy"
KEEP_OLD_GENERATIONS = 1  # kept even when unpinned: a reader between reading the generation and pinning


@dataclass(slots=True, frozen=True)
class Generation:
    """A generation's folder. `sqlite` is the store a reader of it opens: the index's one store (format 2),
    or the generation's own copy (format 1, with its `faiss` and `lexical` files)."""

    number: int
    path: Path
    store: Path

    @property
    def sqlite(self) -> Path:
        return self.store

    @property
    def faiss(self) -> Path:
        return self.path / "vectors.faiss"

    @property
    def lexical(self) -> Path:
        return self.path / "lexical.npz"


@dataclass(slots=True, frozen=True)
class GenerationRecord:
    """What a format-2 generation is made of: its segments (oldest first) and its deleted passages."""

    number: int
    segments: list[str]
    deleted: np.ndarray  # sorted passage ids


def default_index_dir() -> Path:
    return Path(os.environ.get("NEWSDESK_INDEX", "var/index"))


def store_path(index_dir: Path) -> Path:
    return Path(index_dir) / STORE


def segments_dir(index_dir: Path) -> Path:
    return Path(index_dir) / SEGMENTS


def generation(index_dir: Path, number: int, format_version: int = FORMAT_VERSION) -> Generation:
    path = Path(index_dir) / GENERATIONS / str(number)
    return Generation(number, path, path / STORE if format_version == 1 else store_path(index_dir))


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest; IndexMissingError when there is no index here."""
    path = Path(index_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexMissingError(index_dir) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"cannot read {path}: {exc}") from exc
    if manifest.get("format_version") not in READABLE_FORMATS:
        raise IndexFormatError(
            f"{path} has format version {manifest.get('format_version')}, this newsdesk reads "
            f"{' and '.join(map(str, READABLE_FORMATS))} — rebuild it with `newsdesk index`"
        )
    return manifest


def live_generation(index_dir: Path) -> Generation | None:
    """The generation the manifest names (None without an index). A writer goes by the store's own record
    instead: the manifest is written just after the commit, so a killed build can leave it one behind."""
    try:
        manifest = read_manifest(index_dir)
    except IndexMissingError:
        return None
    return generation(index_dir, int(manifest["generation"]), manifest["format_version"])


def open_generation(index_dir: Path) -> tuple[dict[str, Any], Generation]:
    """The manifest and the generation it names (unpinned; see `open_pinned`)."""
    manifest = read_manifest(index_dir)
    found = generation(index_dir, int(manifest["generation"]), manifest["format_version"])
    if not found.sqlite.is_file():
        raise IndexFormatError(f"{found.sqlite} is missing — rebuild with `newsdesk index`")
    return manifest, found


class GenerationPin:
    """A shared flock on a generation: while it is held no build deletes that generation.
    Released by `release()`, when garbage-collected, or by the kernel when the process dies."""

    def __init__(self, handle) -> None:
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __del__(self) -> None:
        self.release()


def pin_generation(found: Generation) -> GenerationPin | None:
    """Pin a generation for reading; None when it is gone (or its folder is incomplete)."""
    try:
        handle = open(found.path / READERS, "rb")  # noqa: SIM115 (held for the pin's lifetime)
    except OSError:
        return None
    fcntl.flock(handle, fcntl.LOCK_SH)  # waits only while a build is moving this generation away
    if not found.path.is_dir():  # renamed away while we waited: deleted
        handle.close()
        return None
    return GenerationPin(handle)


def open_pinned(index_dir: Path) -> tuple[dict[str, Any], Generation, GenerationPin | None]:
    """The manifest's generation, pinned. A build that publishes twice between our reading the manifest and
    pinning may delete the generation first: then read the manifest again."""
    for _attempt in range(20):
        manifest = read_manifest(index_dir)
        found = generation(index_dir, int(manifest["generation"]), manifest["format_version"])
        pin = pin_generation(found)
        if pin is not None and found.sqlite.is_file():
            return manifest, found, pin
        if pin is not None:
            pin.release()
        if read_manifest(index_dir).get("generation") == found.number:
            break  # the manifest names a generation that is not there: damaged, not a race
    raise IndexFormatError(
        f"generation {manifest['generation']} of {index_dir} is missing — rebuild with `newsdesk index`"
    )


def index_bytes(index_dir: Path) -> int:
    """Bytes on disk of everything under `index_dir`."""
    return sum(p.stat().st_size for p in Path(index_dir).rglob("*") if p.is_file())


# --- format-2 generations --------------------------------------------------------------------------


def write_generation(index_dir: Path, number: int, segments: list[str], deleted: np.ndarray) -> Generation:
    """Generation `number`'s folder, written and fsync'ed; it is live once the store commits its number."""
    made = generation(index_dir, number)
    shutil.rmtree(made.path, ignore_errors=True)  # a killed build's, never committed
    made.path.mkdir(parents=True)
    (made.path / READERS).touch()
    np.save(made.path / DELETED_FILE, np.asarray(deleted, dtype=np.int64), allow_pickle=False)
    record = {"format_version": FORMAT_VERSION, "generation": number, "segments": segments, "deleted": len(deleted)}
    (made.path / GENERATION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    fsync_tree(made.path)
    fsync_tree(made.path.parent)
    return made


def read_generation(found: Generation) -> GenerationRecord:
    try:
        record = json.loads((found.path / GENERATION_FILE).read_text(encoding="utf-8"))
        deleted = np.load(found.path / DELETED_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"cannot read generation {found.path}: {exc} — rebuild the index") from exc
    return GenerationRecord(found.number, list(record["segments"]), deleted)


def write_manifest(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Replace manifest.json (a copy of what the store committed): a server notices the new generation."""
    write_json(Path(index_dir) / MANIFEST, manifest)


def remove_uncommitted(index_dir: Path, committed: int) -> None:
    """What a killed build left beyond the committed generation: its generation folders, its temporary and
    unnamed segments. Call it holding the build lock."""
    root = Path(index_dir) / GENERATIONS
    if root.is_dir():
        for path in root.iterdir():
            if (path.name.isdigit() and int(path.name) > committed) or path.name.startswith(".trash-"):
                shutil.rmtree(path, ignore_errors=True)
    _remove_unreferenced_segments(index_dir)


def remove_stale_generations(index_dir: Path, live: int | None = None) -> None:
    """Drop generations older than the live one (keeping a few, and any a reader has pinned), then the
    segments no remaining generation names. Call it holding the build lock."""
    root = Path(index_dir) / GENERATIONS
    if live is None:
        current = live_generation(index_dir)
        live = current.number if current else None
    if live is None or not root.is_dir():
        return
    remove_uncommitted(index_dir, live)
    for path in root.iterdir():
        if path.name.isdigit() and int(path.name) < live - KEEP_OLD_GENERATIONS:
            _remove_unless_pinned(path)
    _remove_unreferenced_segments(index_dir)
    for tmp in Path(index_dir).glob(".manifest-*.json"):
        tmp.unlink(missing_ok=True)


def _remove_unreferenced_segments(index_dir: Path) -> None:
    root = segments_dir(index_dir)
    if not root.is_dir():
        return
    named: set[str] = set()
    generations = Path(index_dir) / GENERATIONS
    for path in generations.iterdir() if generations.is_dir() else ():
        record = path / GENERATION_FILE
        if path.name.isdigit() and record.is_file():
            named.update(json.loads(record.read_text(encoding="utf-8"))["segments"])
    for path in root.iterdir():
        if path.name not in named:
            shutil.rmtree(path, ignore_errors=True)


def _remove_unless_pinned(path: Path) -> bool:
    """Delete a generation folder unless a reader holds a pin on it. The folder is renamed away while
    the exclusive lock is held, so a reader pinning it afterwards finds it gone and looks again."""
    try:
        handle = open(path / READERS, "rb")  # noqa: SIM115
    except FileNotFoundError:
        handle = None  # built before pins existed: nothing to honour
    try:
        if handle is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # in use; a later build removes it
        trash = path.with_name(f".trash-{path.name}")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(path, trash)
    finally:
        if handle is not None:
            handle.close()
    shutil.rmtree(trash, ignore_errors=True)
    return True
