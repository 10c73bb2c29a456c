"""The index directory on disk and its generations.

    DIR/manifest.json            written last, atomically: names the live generation
    DIR/generations/<n>/news.sqlite
    DIR/generations/<n>/vectors.faiss

A build writes generation n+1 beside the live one and switches by replacing manifest.json in one
rename, so a reader sees the old generation or the new one, never half a build. A killed build
leaves only an unreferenced folder, which the next build removes.

Readers pin the generation they opened with a shared flock on its `.readers` file; a build never
deletes a pinned generation (it goes on a later build), so a request in flight on an old generation
cannot lose its files. The kernel drops the flock when a reader dies, so pins never go stale.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import IndexFormatError, IndexMissingError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
READERS = ".readers"  # flock'ed shared by readers of a generation, exclusively by a build deleting it
KEEP_OLD_GENERATIONS = 1  # kept even when unpinned: a reader between reading the manifest and pinning


@dataclass(slots=True, frozen=True)
class Generation:
    number: int
    path: Path

    @property
    def sqlite(self) -> Path:
        return self.path / "news.sqlite"

    @property
    def faiss(self) -> Path:
        return self.path / "vectors.faiss"

    @property
    def lexical(self) -> Path:
        return self.path / "lexical.npz"


def default_index_dir() -> Path:
    return Path(os.environ.get("NEWSDESK_INDEX", "var/index"))


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The live manifest; IndexMissingError when there is no index here."""
    path = Path(index_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexMissingError(index_dir) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"cannot read {path}: {exc}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(
            f"{path} has format version {manifest.get('format_version')}, this newsdesk reads {FORMAT_VERSION} "
            "— rebuild it with `newsdesk index`"
        )
    return manifest


def live_generation(index_dir: Path) -> Generation | None:
    try:
        manifest = read_manifest(index_dir)
    except IndexMissingError:
        return None
    number = int(manifest["generation"])
    return Generation(number, Path(index_dir) / "generations" / str(number))


def open_generation(index_dir: Path) -> tuple[dict[str, Any], Generation]:
    """The manifest and generation a reader should open (unpinned; see `open_pinned`)."""
    manifest = read_manifest(index_dir)
    number = int(manifest["generation"])
    generation = Generation(number, Path(index_dir) / "generations" / str(number))
    if not generation.sqlite.is_file():
        raise IndexFormatError(f"{generation.sqlite} is missing — rebuild with `newsdesk index`")
    return manifest, generation


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


def pin_generation(generation: Generation) -> GenerationPin | None:
    """Pin `generation` for reading; None when it has no `.readers` file (gone, or an older build's)."""
    try:
        handle = open(generation.path / READERS, "rb")  # noqa: SIM115 (held for the pin's lifetime)
    except OSError:
        return None
    fcntl.flock(handle, fcntl.LOCK_SH)  # waits only while a build is moving this generation away
    return GenerationPin(handle)


def open_pinned(index_dir: Path) -> tuple[dict[str, Any], Generation, GenerationPin | None]:
    """Like `open_generation`, with the generation pinned. A build that publishes twice between our
    reading the manifest and pinning may delete the generation first: then read the manifest again."""
    for _attempt in range(20):
        manifest = read_manifest(index_dir)
        number = int(manifest["generation"])
        generation = Generation(number, Path(index_dir) / "generations" / str(number))
        pin = pin_generation(generation)
        if generation.sqlite.is_file():
            return manifest, generation, pin
        if pin is not None:
            pin.release()
        if read_manifest(index_dir).get("generation") == number:
            break  # the manifest names a generation that is not there: damaged, not a race
    raise IndexFormatError(f"{generation.sqlite} is missing — rebuild with `newsdesk index`")


def new_generation(index_dir: Path, seed: bool = True) -> Generation:
    """A fresh folder for the next generation, seeded with a copy of the live store when `seed` and
    there is one. Call it holding the build lock: folders beyond the live generation are left by
    killed builds, and are removed here."""
    index_dir = Path(index_dir)
    root = index_dir / "generations"
    root.mkdir(parents=True, exist_ok=True)
    live = live_generation(index_dir)
    _remove_unpublished(root, live.number if live else 0)
    existing = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
    number = max([*existing, live.number if live else 0]) + 1
    generation = Generation(number, root / str(number))
    generation.path.mkdir()
    (generation.path / READERS).touch()
    if seed and live and live.sqlite.is_file():
        shutil.copyfile(live.sqlite, generation.sqlite)
    return generation


def _remove_unpublished(root: Path, live_number: int) -> None:
    """Generations no manifest ever named (a killed build's) and half-deleted ones: nobody reads them."""
    for path in root.iterdir():
        if (path.name.isdigit() and int(path.name) > live_number) or path.name.startswith(".trash-"):
            shutil.rmtree(path, ignore_errors=True)


def publish(index_dir: Path, generation: Generation, manifest: dict[str, Any]) -> None:
    """Make `generation` live: write the manifest to a temp file, fsync, rename over the old one."""
    index_dir = Path(index_dir)
    manifest = {**manifest, "format_version": FORMAT_VERSION, "generation": generation.number}
    # Every file the manifest will vouch for is on disk before it does: a power cut must not leave a live
    # generation with half-written postings.
    durable = [generation.sqlite, generation.faiss]
    if generation.lexical.exists():  # generations written before postings were exported have none
        durable.append(generation.lexical)
    for path in durable:
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(generation.path)
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".manifest-", suffix=".json")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a server may run as another user
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / MANIFEST)
    _fsync_dir(index_dir)  # the rename itself survives a power cut
    remove_stale_generations(index_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_generations(index_dir: Path) -> None:
    """Drop generations older than the live one (keeping a few, and any a reader has pinned) and
    any left by a killed build. Call it holding the build lock."""
    live = live_generation(index_dir)
    root = Path(index_dir) / "generations"
    if not live or not root.is_dir():
        return
    _remove_unpublished(root, live.number)
    for path in root.iterdir():
        if path.name.isdigit() and int(path.name) < live.number - KEEP_OLD_GENERATIONS:
            _remove_unless_pinned(path)
    for tmp in Path(index_dir).glob(".manifest-*.json"):
        tmp.unlink(missing_ok=True)


def _remove_unless_pinned(path: Path) -> bool:
    """Delete a generation folder unless a reader holds a pin on it. The folder is renamed away while
    the exclusive lock is held, so a reader pinning it afterwards finds it gone and rereads the manifest."""
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
