"""The index directory on disk and its generations.

    DIR/manifest.json            written last, atomically: names the live generation
    DIR/generations/<n>/news.sqlite
    DIR/generations/<n>/vectors.faiss

A build writes generation n+1 beside the live one and switches by replacing manifest.json in one
rename, so a reader sees the old generation or the new one, never half a build. A killed build
leaves only an unreferenced folder, which the next build removes.
"""

from __future__ import annotations

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
KEEP_OLD_GENERATIONS = 1  # a server that opened the previous generation keeps reading it a while


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
    """The manifest and generation a reader should open."""
    manifest = read_manifest(index_dir)
    number = int(manifest["generation"])
    generation = Generation(number, Path(index_dir) / "generations" / str(number))
    if not generation.sqlite.is_file():
        raise IndexFormatError(f"{generation.sqlite} is missing — rebuild with `newsdesk index`")
    return manifest, generation


def new_generation(index_dir: Path) -> Generation:
    """A fresh folder for the next generation, seeded with a copy of the live store when there is one."""
    index_dir = Path(index_dir)
    root = index_dir / "generations"
    root.mkdir(parents=True, exist_ok=True)
    live = live_generation(index_dir)
    existing = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
    number = max([*existing, live.number if live else 0]) + 1
    generation = Generation(number, root / str(number))
    generation.path.mkdir()
    if live and live.sqlite.is_file():
        shutil.copyfile(live.sqlite, generation.sqlite)
    return generation


def publish(index_dir: Path, generation: Generation, manifest: dict[str, Any]) -> None:
    """Make `generation` live: write the manifest to a temp file, fsync, rename over the old one."""
    index_dir = Path(index_dir)
    manifest = {**manifest, "format_version": FORMAT_VERSION, "generation": generation.number}
    for path in (generation.sqlite, generation.faiss):
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=".manifest-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, index_dir / MANIFEST)
    remove_stale_generations(index_dir)


def remove_stale_generations(index_dir: Path) -> None:
    """Drop generations older than the live one (keeping a few) and any left by a killed build."""
    live = live_generation(index_dir)
    root = Path(index_dir) / "generations"
    if not live or not root.is_dir():
        return
    for path in root.iterdir():
        if not path.name.isdigit():
            continue
        number = int(path.name)
        if number < live.number - KEEP_OLD_GENERATIONS or number > live.number:
            shutil.rmtree(path, ignore_errors=True)
    for tmp in Path(index_dir).glob(".manifest-*.json"):
        tmp.unlink(missing_ok=True)
