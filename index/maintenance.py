"""Changing an index after it is built: remove articles, rebuild it from its sources (files and the web),
update it, compact it, rebuild its vector index.

Every operation writes a new generation through `index.build.writing`, under the same lock as a
build, so a running server switches to the result atomically and two jobs never interleave.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from index import layout, vectors
from index.build import GenerationWriter, writing
from index.encoders import DEFAULT_BACKEND, Encoder, load_encoder
from index.errors import NewsdeskError
from index.locking import build_lock
from index.model import Article, Skip
from index.readers import DEFAULT_MAX_FILE_BYTES, read_paths
from index.report import BuildReport, ProgressFactory, ReportSection, no_progress
from index.sources import Source, SourcesConfig
from index.store import Store

if TYPE_CHECKING:
    from index.web import FetchOptions, WebReport, WebRun

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


@dataclass(slots=True)
class SourcesReport(BuildReport):
    """What `update` or `rebuild` did: the build's report and, when the sources list feeds or sitemaps,
    what following them cost and gave (`web`, per source: requests, bytes, 304s, articles, failures)."""

    web: WebReport | None = None

    @classmethod
    def of(cls, build: BuildReport, web: WebReport | None) -> SourcesReport:
        return cls(**{item.name: getattr(build, item.name) for item in fields(BuildReport)}, web=web)

    def as_dict(self) -> dict[str, object]:
        return asdict(replace(self, web=None)) | {"web": self.web.as_dict() if self.web else None}

    def sections(self) -> Sequence[ReportSection]:
        return (self.web,) if self.web else ()


def rebuild(
    sources: SourcesConfig | Iterable[Source],
    index_dir: Path,
    encoder: Encoder,
    progress: ProgressFactory = no_progress,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    fetch_options: FetchOptions | None = None,
) -> SourcesReport:
    """The whole index again from `sources`: articles no longer in the sources are removed. Vectors of
    passages the index had are reused, not re-embedded; counts and first-seen dates are relative to the
    previous generation. Sources that give no article at all never replace an index that has some
    (NewsdeskError).

    Web sources are followed as `update` does. Pages fetched before are not fetched again, so their
    articles are carried over from the previous generation: every article whose origin is a page that
    one of these feeds or sitemaps listed (articles of web sources no longer in the file are gone)."""
    config = _as_config(sources)
    with build_lock(index_dir), _following(config, index_dir, fetch_options) as run:
        with writing(index_dir, encoder, fresh=True) as writer:
            _read_files(writer, config, progress, max_file_bytes)
            if run is not None:
                fetched: set[str] = set()
                writer.add(_noting_origins(run, fetched), progress)
                with _live_store(index_dir) as live:
                    if live is not None:
                        writer.add(_carried_over(live, run.listed_pages() - fetched), progress)
        if run is not None:
            run.commit()  # only now: the generation holding its articles is published
    return SourcesReport.of(writer.report, run.report if run else None)


def update(
    sources: SourcesConfig | Iterable[Source],
    index_dir: Path,
    encoder: Encoder,
    prune: bool = False,
    progress: ProgressFactory = no_progress,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    fetch_options: FetchOptions | None = None,
) -> SourcesReport:
    """Add new and changed articles from `sources`; with `prune`, also remove articles whose file is gone.

    Only articles read from a file given by absolute path (as sources.toml gives them) can be pruned,
    and only when that file no longer exists and no file read now holds them: an article removed from a
    file that is still there (an old entry dropped from a feed) stays. Articles from the web never are.

    `sources` is a SourcesConfig (sources.toml) or just its sources. Its feeds and sitemaps are followed
    (index.web), keeping the fetch state in the index directory, and their articles go into the same
    generation as the files'; the fetch state takes note of them only once that generation is published.
    A feed summary stored under the feed's link is removed when the page's full text arrives under its
    canonical URL. `fetch_options` tunes timeouts and caps (tests shorten them)."""
    config = _as_config(sources)
    with build_lock(index_dir), _following(config, index_dir, fetch_options) as run:
        with writing(index_dir, encoder) as writer:
            _read_files(writer, config, progress, max_file_bytes)
            if run is not None:
                with _live_store(index_dir) as live:
                    writer.add(_replacing_summaries(run, writer, live), progress)
            if prune:
                writer.remove_unseen(origin_gone)
        if run is not None:
            run.commit()  # only now: the generation holding its articles is published (or had them already)
    return SourcesReport.of(writer.report, run.report if run else None)


def _as_config(sources: SourcesConfig | Iterable[Source]) -> SourcesConfig:
    if isinstance(sources, SourcesConfig):
        return sources
    return SourcesConfig(path=Path("sources.toml"), sources=tuple(sources))


def _read_files(writer: GenerationWriter, config: SourcesConfig, progress: ProgressFactory, max_bytes: int) -> None:
    for source in config.sources:
        if source.paths:
            writer.add(read_paths(source.paths, max_bytes), progress, outlet=source.outlet)


@contextmanager
def _following(config: SourcesConfig, index_dir: Path, options: FetchOptions | None) -> Iterator[WebRun | None]:
    """A run over the web sources, its fetch state beside the index; None (and no state file) without any."""
    if not config.web_sources:
        yield None
        return
    from index.web import fetch_state_path, follow_web_sources  # the fetching stack only when it is needed

    with follow_web_sources(config, fetch_state_path(index_dir), options) as run:
        yield run


def _live_store(index_dir: Path) -> AbstractContextManager[Store | None]:
    """The store as the live generation has it, through a read-only connection of its own (a build in progress
    has not committed its changes yet); None for a new index."""
    live = layout.live_generation(index_dir)
    return closing(Store(live.sqlite, readonly=True)) if live else nullcontext(None)


def _replacing_summaries(run: WebRun, writer: GenerationWriter, live: Store | None) -> Iterator[Article | Skip]:
    """The run's items; before each full text, the feed summaries it supersedes (stored under the feed's
    link, another id) are removed, so their URLs pass to it."""
    for item in run:
        stale = [article_id for article_id in run.take_superseded() if live and live.article_state(article_id)]
        if stale:
            writer.remove(stale)
        yield item


def _noting_origins(items: Iterable[Article | Skip], origins: set[str]) -> Iterator[Article | Skip]:
    for item in items:
        if isinstance(item, Article):
            origins.add(item.origin)
        yield item


def _carried_over(live: Store, pages: set[str], batch: int = 500) -> Iterator[Article]:
    """The articles of `live` whose origin is one of `pages`, as articles to store again (same id, same
    text: nothing is embedded, first-seen is kept)."""
    origin_of = {article_id: origin for article_id, origin in live.origins() if origin in pages}
    ids = sorted(origin_of)
    for start in range(0, len(ids), batch):
        for article_id, stored in live.articles(ids[start : start + batch]).items():
            yield Article(
                title=stored.title,
                text=stored.text,
                url=stored.url,
                source=stored.source,
                authors=list(stored.authors),
                published=stored.published,
                language=stored.language,
                origin=origin_of[article_id],
                canonical_url=stored.canonical_url,
                urls=list(stored.urls),
            )


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
