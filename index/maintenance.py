"""Changing an index after it is built: remove articles, rebuild it from its sources, update it,
compact it, rebuild its vector index.

Every operation writes a new generation through `index.build.writing`, under the same lock as a
build, so a running server switches to the result atomically and two jobs never interleave.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index import layout, vectors
from index.build import writing
from index.encoders import DEFAULT_BACKEND, Encoder, load_encoder
from index.errors import NewsdeskError
from index.readers import DEFAULT_MAX_FILE_BYTES, read_paths
from index.report import BuildReport, ProgressFactory, no_progress
from index.sources import Source

_RECORD_SUFFIX = re.compile(r"(.*?)(?::\d+|\[\d+\])")  # "path:12" (a line) or "path[3]" (a record)


@dataclass(slots=True)
class RemoveReport:
    """What `remove` did: the ids removed, the keys that matched no article, the index after it."""

    removed: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    articles: int = 0
    passages: int = 0
    generation: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def remove(index_dir: Path, keys: Iterable[str]) -> RemoveReport:
    """Delete articles by id or URL (rows, passages, and from the next generation their vectors and
    postings) in a new generation. Keys that match nothing are reported; when none matches, no generation
    is written."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    report = RemoveReport()
    with writing(index_dir) as writer:
        for key in dict.fromkeys(keys):
            article_id = writer.resolve(key)
            if article_id is None:
                report.not_found.append(key)
            elif article_id not in report.removed:
                report.removed.append(article_id)
        writer.remove(report.removed)
    report.generation = writer.report.generation
    report.articles, report.passages = writer.report.articles, writer.report.passages
    report.seconds = round(time.perf_counter() - started, 2)
    return report


@dataclass(slots=True)
class ReindexReport:
    """What `reindex_vectors` did: the vector index type before and after, over how many passages."""

    previous: str
    kind: str
    passages: int = 0
    generation: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def reindex_vectors(index_dir: Path, kind: str | None = None) -> ReindexReport:
    """Rebuild the vector index from the stored vectors, as type `kind` (default: the one its size calls for),
    by compacting the index into segments of that type, in a new generation published like a build's.
    Nothing is embedded; the rows are unchanged."""
    started = time.perf_counter()
    if kind is not None and kind not in vectors.KINDS:
        raise NewsdeskError(f"unknown vector index type {kind!r}; choose from {', '.join(vectors.KINDS)}")
    with writing(index_dir) as writer:
        kind = writer.force_vector_index(kind)
    return ReindexReport(
        previous=writer.previous.get("vector_index", vectors.FLAT),
        kind=kind,
        passages=writer.report.passages,
        generation=writer.report.generation,
        seconds=round(time.perf_counter() - started, 2),
    )


@dataclass(slots=True)
class CompactReport:
    """What `compact` did: segments and deleted passages before and after, the index's size on disk."""

    segments_before: int
    segments: int
    deleted_before: int
    deleted: int
    passages: int = 0
    generation: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def compact(index_dir: Path) -> CompactReport:
    """Merge the index's segments (up to the segment size cap) and drop deleted passages from them, in a new
    generation published like a build's: searches touch fewer segments and no dead vectors. Nothing is
    embedded; the rows are unchanged. Updates merge small segments as they go; this does the rest."""
    started = time.perf_counter()
    before = layout.read_manifest(index_dir)
    with writing(index_dir) as writer:
        writer.compact()
    after = layout.read_manifest(index_dir)
    return CompactReport(
        segments_before=int(before.get("segments", 1)),
        segments=int(after.get("segments", 1)),
        deleted_before=int(before.get("deleted", 0)),
        deleted=int(after.get("deleted", 0)),
        passages=writer.report.passages,
        generation=writer.report.generation,
        bytes=layout.index_bytes(index_dir),
        seconds=round(time.perf_counter() - started, 2),
    )


def encoder_for(index_dir: Path, model: str | None = None, backend: str | None = None) -> Encoder:
    """The encoder that built `index_dir` (unless `model`/`backend` say otherwise), else the default."""
    if layout.live_generation(index_dir) and model is None and backend is None:
        built = layout.read_manifest(index_dir)["encoder"]
        model, backend = built["name"], built.get("backend")
    return load_encoder(model, backend or DEFAULT_BACKEND)


def rebuild(
    sources: Iterable[Source],
    index_dir: Path,
    encoder: Encoder,
    progress: ProgressFactory = no_progress,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> BuildReport:
    """The whole index again from `sources`: articles no longer in the sources are removed. Vectors of
    passages the index had are reused, not re-embedded; counts and first-seen dates are relative to the
    previous generation. Sources that give no article at all never
    replace an index that has some (NewsdeskError)."""
    with writing(index_dir, encoder, fresh=True) as writer:
        for source in sources:
            writer.add(read_paths(source.paths, max_file_bytes), progress, outlet=source.outlet)
    return writer.report


def update(
    sources: Iterable[Source],
    index_dir: Path,
    encoder: Encoder,
    prune: bool = False,
    progress: ProgressFactory = no_progress,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> BuildReport:
    """Add new and changed articles from `sources`; with `prune`, also remove articles whose file is gone.

    Only articles read from a file given by absolute path (as sources.toml gives them) can be pruned,
    and only when that file no longer exists and no file read now holds them: an article removed from a
    file that is still there (an old entry dropped from a feed) stays.
    """
    with writing(index_dir, encoder) as writer:
        for source in sources:
            writer.add(read_paths(source.paths, max_file_bytes), progress, outlet=source.outlet)
        if prune:
            writer.remove_unseen(origin_gone)
    return writer.report


def origin_file(origin: str | None) -> Path | None:
    """The file an article was read from, given its origin ("path", "path:line" or "path[record]");
    None when that is not an absolute path (articles sent through the API, relative CLI paths)."""
    if not origin or not Path(origin).is_absolute():
        return None
    path = Path(origin)
    if path.exists():
        return path
    match = _RECORD_SUFFIX.fullmatch(origin)
    return Path(match.group(1)) if match else path


def origin_gone(origin: str | None) -> bool:
    """True when the article came from an absolute path (see `origin_file`) that no longer exists."""
    path = origin_file(origin)
    return path is not None and not path.exists()
