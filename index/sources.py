"""`sources.toml`: what an index is built from, for scripts/rebuild_index.py and scripts/update_index.py.

    index = "var/index"            # optional: the index these sources build (--index overrides it)

    [[source]]
    paths = ["news/wire/*.jsonl.gz", "news/pages"]   # files, folders (walked) and globs (** recurses)
    outlet = "Wire Service"        # optional: sets `source` on every article read from here

Relative paths are taken from the folder holding the TOML file, and are made absolute, so each
article's origin names its file wherever the script runs from (`update_index.py --prune` relies on it).
A path or glob that matches nothing is an error, not an empty source: a rebuild from a missing mount
must not replace the index with an empty one.
"""

from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass
from pathlib import Path

from index.errors import NewsdeskError

SOURCE_KEYS = ("paths", "path", "outlet")
TOP_KEYS = ("index", "source")
_GLOB_CHARS = set("*?[")


class SourcesError(NewsdeskError):
    """sources.toml cannot be read, or one of its sources matches nothing."""


@dataclass(slots=True, frozen=True)
class Source:
    """Files and folders to read, and the outlet name to give their articles (None: as read)."""

    paths: tuple[Path, ...]
    outlet: str | None = None


@dataclass(slots=True, frozen=True)
class SourcesConfig:
    path: Path
    sources: tuple[Source, ...]
    index: Path | None = None


def load_sources(path: str | Path) -> SourcesConfig:
    """Read and expand a sources file; SourcesError says what is wrong and where."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(f"no sources file at {path} — copy sources.example.toml and edit it") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SourcesError(f"cannot read {path}: {exc}") from exc
    unknown = sorted(set(document) - set(TOP_KEYS))
    if unknown:
        raise SourcesError(f"{path}: unknown key(s) {', '.join(unknown)}; choose from {', '.join(TOP_KEYS)}")
    base = path.resolve().parent
    entries = document.get("source", [])
    if not isinstance(entries, list) or not entries:
        raise SourcesError(f"{path} lists no sources; add a [[source]] table with paths = [...]")
    sources = tuple(_source(entry, number, base, path) for number, entry in enumerate(entries, start=1))
    index = document.get("index")
    if index is not None and not isinstance(index, str):
        raise SourcesError(f"{path}: index must be a string (a folder)")
    return SourcesConfig(path=path, sources=sources, index=(base / index) if index else None)


def _source(entry: object, number: int, base: Path, path: Path) -> Source:
    where = f"{path}, source {number}"
    if not isinstance(entry, dict):
        raise SourcesError(f"{where}: expected a table ([[source]])")
    unknown = sorted(set(entry) - set(SOURCE_KEYS))
    if unknown:
        raise SourcesError(f"{where}: unknown key(s) {', '.join(unknown)}; choose from {', '.join(SOURCE_KEYS)}")
    patterns = entry.get("paths", [])
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    if "path" in entry:
        patterns.append(entry["path"])
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise SourcesError(f"{where}: paths must be a non-empty list of strings")
    outlet = entry.get("outlet")
    if outlet is not None and (not isinstance(outlet, str) or not outlet.strip()):
        raise SourcesError(f"{where}: outlet must be a non-empty string")
    return Source(paths=tuple(p for pattern in patterns for p in _expand(pattern, base, where)), outlet=outlet)


def _expand(pattern: str, base: Path, where: str) -> list[Path]:
    full = Path(pattern).expanduser()
    full = full if full.is_absolute() else base / full
    if _GLOB_CHARS & set(pattern):
        matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True))
        if not matches:
            raise SourcesError(f"{where}: {pattern} matches no file (looked in {full.parent})")
        return matches
    if not full.exists():
        raise SourcesError(f"{where}: {pattern} does not exist ({full})")
    return [full]
