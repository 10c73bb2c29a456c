"""The `newsdesk` commands that change an index: index, update, rebuild, remove, compact, reindex-vectors.

Each builds under the index's lock, taken before the encoder is loaded, so a second run fails at once;
`update` and `rebuild` exit 75 (EX_TEMPFAIL) then, for cron. Every build prints its report with
`index.report.report_lines` and shows progress with the one tqdm bar below.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from index.errors import IndexBusyError
from index.layout import default_index_dir
from search.cli_options import (
    BACKEND_OPTION,
    INDEX_OPTION,
    JSON_OPTION,
    MAX_FILE_OPTION,
    MODEL_OPTION,
    echo_json,
    sources_options,
)

if TYPE_CHECKING:
    from index.encoders import Encoder
    from index.report import BuildReport
    from index.sources import Source

EXIT_BUSY = 75  # EX_TEMPFAIL: another build holds the index; try again later


class TqdmProgress:
    """The progress bar of every command that builds: tqdm on stderr, on a terminal only (silent under cron)."""

    def __init__(self, label: str, total: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            desc=label,
            unit=" items" if total is None else " passages",
            file=sys.stderr,
            disable=None,
            dynamic_ncols=True,
        )

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def _build_and_report(
    index_dir: Path, model: str | None, backend: str | None, as_json: bool, job: Callable[[Encoder], BuildReport]
) -> None:
    """Lock the index, load the encoder, run `job` with it and print its report. The lock comes first, so
    a second run fails at once instead of after loading a model."""
    from index.locking import build_lock
    from index.maintenance import encoder_for
    from index.report import report_lines

    with build_lock(index_dir):
        encoder = encoder_for(index_dir, model, backend)  # an existing index keeps the encoder it was built with
        report = job(encoder)
    if as_json:
        echo_json(report.as_dict())
        return
    for line in report_lines(report, index_dir):
        click.echo(line)


@click.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@INDEX_OPTION
@MODEL_OPTION
@BACKEND_OPTION
@MAX_FILE_OPTION
@JSON_OPTION
def index_command(paths, index_dir, model, backend, max_file_mb, as_json) -> None:
    """Index news files or folders into INDEX (adding to what is there)."""
    from index.build import build

    _build_and_report(
        index_dir,
        model,
        backend,
        as_json,
        lambda encoder: build(paths, index_dir, encoder, progress=TqdmProgress, max_file_bytes=max_file_mb * 2**20),
    )


def _from_sources(
    sources_file: Path,
    index_dir: Path | None,
    model: str | None,
    backend: str | None,
    as_json: bool,
    job: Callable[[Sequence[Source], Path, Encoder], BuildReport],
) -> None:
    """Run `job(sources, index_dir, encoder)` for a sources file: on the index it names unless `index_dir`
    is given. For cron, another build holding the index exits 75 (EX_TEMPFAIL), not 1: run it again later."""
    from index.sources import load_sources

    config = load_sources(sources_file)
    target = index_dir or config.index or default_index_dir()
    try:
        _build_and_report(target, model, backend, as_json, lambda encoder: job(config.sources, target, encoder))
    except IndexBusyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BUSY)


@click.command("update")
@sources_options
@click.option("--prune", is_flag=True, help="Also remove articles whose file is gone.")
def update_command(sources_file, index_dir, model, backend, max_file_mb, as_json, prune) -> None:
    """Add new and changed articles from the sources file to INDEX; safe from cron while a server runs.
    Unchanged articles cost nothing. Exits 75 when another build holds the index (run it again later)."""
    from index.maintenance import update

    job = partial(update, prune=prune, progress=TqdmProgress, max_file_bytes=max_file_mb * 2**20)
    _from_sources(sources_file, index_dir, model, backend, as_json, job)


@click.command("rebuild")
@sources_options
def rebuild_command(sources_file, index_dir, model, backend, max_file_mb, as_json) -> None:
    """Rebuild INDEX from the sources file into a new generation (vectors reused, not re-embedded);
    articles no longer in the sources are gone. Exits 75 when another build holds the index."""
    from index.maintenance import rebuild

    job = partial(rebuild, progress=TqdmProgress, max_file_bytes=max_file_mb * 2**20)
    _from_sources(sources_file, index_dir, model, backend, as_json, job)


@click.command("remove")
@click.argument("keys", nargs=-1, required=True, metavar="ID_OR_URL...")
@INDEX_OPTION
@JSON_OPTION
def remove_command(keys, index_dir, as_json) -> None:
    """Remove articles (by id or URL) from INDEX, in a new generation a running server picks up.
    Exits 1 when any of them is not in the index (the others are still removed)."""
    from index.maintenance import remove

    report = remove(index_dir, keys)
    if as_json:
        echo_json(report.as_dict())
    else:
        for article_id in report.removed:
            click.echo(f"removed {article_id}")
        click.echo(
            f"{len(report.removed)} removed; articles {report.articles}, passages {report.passages} "
            f"→ {index_dir} (generation {report.generation})"
        )
    for key in report.not_found:
        click.echo(f"error: no article with id or url {key!r}", err=True)
    if report.not_found:
        sys.exit(1)


@click.command("reindex-vectors")
@INDEX_OPTION
@click.option(
    "--type",
    "kind",
    default=None,
    help="Vector index type: flat (exact) or hnsw (graph). Default: the one the index's size calls for.",
)
@JSON_OPTION
def reindex_vectors_command(index_dir, kind, as_json) -> None:
    """Rebuild the vector index of INDEX from its stored vectors (nothing is embedded), in a new
    generation a running server picks up."""
    from index.maintenance import reindex_vectors

    report = reindex_vectors(index_dir, kind)
    if as_json:
        echo_json(report.as_dict())
        return
    click.echo(
        f"vector index {report.previous} → {report.kind} over {report.passages} passages, {report.seconds:.1f} s "
        f"→ {index_dir} (generation {report.generation})"
    )


@click.command("compact")
@INDEX_OPTION
@JSON_OPTION
def compact_command(index_dir, as_json) -> None:
    """Merge the segments of INDEX and drop its deleted passages from them (nothing is embedded), in a new
    generation a running server picks up. Updates merge small segments as they go; run this after many
    removals or corrections, or to search fewer segments."""
    from index.maintenance import compact

    report = compact(index_dir)
    if as_json:
        echo_json(report.as_dict())
        return
    click.echo(
        f"segments {report.segments_before} → {report.segments}, deleted passages {report.deleted_before} → "
        f"{report.deleted}; {report.passages} passages, {report.bytes / 2**20:.1f} MiB, {report.seconds:.1f} s "
        f"→ {index_dir} (generation {report.generation})"
    )


WRITE_COMMANDS = (
    index_command,
    update_command,
    rebuild_command,
    remove_command,
    compact_command,
    reindex_vectors_command,
)
