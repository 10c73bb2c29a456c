"""The `newsdesk` commands that change an index: index, update, rebuild, remove, compact, reindex-vectors.

Each builds under the index's lock, taken before the encoder is loaded, so a second run fails at once;
`update` and `rebuild` exit 75 (EX_TEMPFAIL) then, for cron. Every build prints its report with
`index.report.report_lines` (the web's part included) and shows progress with the one tqdm bar below.
After every build, outside its lock, the alerts are checked with its encoder (search.alerts).

With `--ray [ADDRESS]` (or a `[ray]` table in the sources file) the build embeds on Ray workers
(index/ray_session.py): they get the encoder loaded here, are stopped when the build ends, fails or is
interrupted, and the report gains a line (and `--json` a "ray" object) naming the cluster and its speed.

Exit codes of the commands that build, for cron: 0 when the build succeeded — even if some web sources
or pages failed, or an alert hit could not be delivered: those are named in the report and, one line
each, as warnings on stderr (a crontab that sends stdout to a log mails only those); 1 when the build
failed (nothing published; one line on stderr); 2 bad arguments; 75 another build holds the index.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from index.errors import IndexBusyError, NewsdeskError
from index.layout import default_index_dir
from search.cli_options import (
    BACKEND_OPTION,
    INDEX_OPTION,
    JSON_OPTION,
    MAX_FILE_OPTION,
    MODEL_OPTION,
    RAY_OPTION,
    echo_json,
    sources_options,
)

if TYPE_CHECKING:
    from index.encoders import Encoder
    from index.ray_session import RayBuildReport
    from index.report import BuildReport, Progress, ProgressFactory
    from index.sources import RaySettings, SourcesConfig
    from search.alerts import CheckReport

    Job = Callable[[Encoder, ProgressFactory], BuildReport]

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


class StageClock:
    """The progress factory a command passes to its build: tqdm bars, and the seconds each stage took
    (reading — fetching and extracting included — and embedding), summed over the build."""

    def __init__(self, bars: ProgressFactory = TqdmProgress) -> None:
        self._bars = bars
        self.seconds: dict[str, float] = {}

    def __call__(self, label: str, total: int | None) -> Progress:
        return _TimedStage(self, label, self._bars(label, total))

    def lines(self) -> list[str]:
        stages = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in self.seconds.items())
        return [f"time: {stages}"] if stages else []


class _TimedStage:
    def __init__(self, clock: StageClock, label: str, bar: Progress) -> None:
        self.clock, self.label, self.bar = clock, label, bar
        self.started = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()
        spent = time.perf_counter() - self.started
        self.clock.seconds[self.label] = round(self.clock.seconds.get(self.label, 0.0) + spent, 2)


def _build_and_report(
    index_dir: Path, model: str | None, backend: str | None, as_json: bool, job: Job, ray: RaySettings | None = None
) -> None:
    """Lock the index, load the encoder, run `job` with it (with `ray`, with that encoder on Ray workers)
    and print its report; then, the lock released, check the alerts with the same encoder, here. The lock
    comes first, so a second run fails at once instead of after loading a model. Failures the build went
    past are warnings on stderr (see the module doc)."""
    from index.locking import build_lock
    from index.maintenance import encoder_for
    from index.report import report_lines

    clock = StageClock()
    on_ray: RayBuildReport | None = None
    with build_lock(index_dir):
        encoder = encoder_for(index_dir, model, backend)  # an existing index keeps the encoder it was built with
        if ray is None:
            report = job(encoder, clock)
        else:
            report, on_ray = _on_ray(encoder, ray, clock, job)
    if not as_json:
        for line in report_lines(report, index_dir) + (on_ray.lines() if on_ray else []) + clock.lines():
            click.echo(line)
    alerts = _check_alerts(index_dir, encoder)
    if as_json:
        extra = {"ray": on_ray.as_dict()} if on_ray else {}
        echo_json(report.as_dict() | {"time": clock.seconds, "alerts": alerts.as_dict()} | extra)
    elif alerts.checked or alerts.errors:
        from search.cli_alerts import print_check_report

        print_check_report(alerts)
    for warning in _warnings(report, alerts):
        click.echo(f"warning: {warning}", err=True)


def _on_ray(encoder: Encoder, settings: RaySettings, clock: StageClock, job: Job) -> tuple[BuildReport, RayBuildReport]:
    """`job` run with `encoder` on Ray workers, which are stopped however the job ends."""
    from index.ray_session import RayEmbedding

    with RayEmbedding(encoder, settings) as embedding:
        report = job(embedding.encoder, clock)
    return report, embedding.report()


def _ray_settings(address: str | None, configured: RaySettings | None = None) -> RaySettings | None:
    """What --ray (None: not given; "": no address) and a sources file's [ray] table ask for together:
    the option's address first, then the file's; the file's workers."""
    from index.sources import RaySettings

    if address is None:
        return configured
    if configured is None:
        return RaySettings(address=address or None)
    return RaySettings(address=address or configured.address, workers=configured.workers)


def _check_alerts(index_dir: Path, encoder: Encoder) -> CheckReport:
    """Every alert checked on the index just built; a check that cannot run is one error in its report."""
    from search.alerts import CheckReport, check_index

    try:
        return check_index(index_dir, encoder=encoder)
    except NewsdeskError as exc:
        return CheckReport(errors=[{"alert": "*", "error": f"{exc}; run `newsdesk alerts check` later"}])


def _warnings(report: BuildReport, alerts: CheckReport) -> list[str]:
    """What went wrong without failing the command: each web source with failures, each alert problem."""
    lines = [line for section in report.sections() for line in section.warnings()]
    lines += [f"alert {p.alert}, article {p.article_id} not delivered: {p.error}" for p in alerts.problems]
    lines += [f"alert {error['alert']}: {error['error']}" for error in alerts.errors]
    return lines


@click.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@INDEX_OPTION
@MODEL_OPTION
@BACKEND_OPTION
@MAX_FILE_OPTION
@RAY_OPTION
@JSON_OPTION
def index_command(paths, index_dir, model, backend, max_file_mb, ray_address, as_json) -> None:
    """Index news files or folders into INDEX (adding to what is there)."""
    from index.build import build

    max_bytes = max_file_mb * 2**20
    _build_and_report(
        index_dir,
        model,
        backend,
        as_json,
        lambda encoder, progress: build(paths, index_dir, encoder, progress=progress, max_file_bytes=max_bytes),
        _ray_settings(ray_address),
    )


def _from_sources(
    sources_file: Path,
    index_dir: Path | None,
    model: str | None,
    backend: str | None,
    as_json: bool,
    job: Callable[..., BuildReport],
    ray_address: str | None = None,
) -> None:
    """Run `job(config, index_dir, encoder, progress=...)` for a sources file: on the index it names unless
    `index_dir` is given, on Ray when --ray (`ray_address`) or the file's [ray] table says so. For cron,
    another build holding the index exits 75 (EX_TEMPFAIL), not 1: run it again later."""
    from index.sources import load_sources

    config: SourcesConfig = load_sources(sources_file)
    target = index_dir or config.index or default_index_dir()
    ray = _ray_settings(ray_address, config.ray)
    if ray is not None:
        from index.ray_cluster import require_ray

        require_ray()  # a [ray] table without Ray installed: say so before taking the lock and loading a model
    try:
        _build_and_report(
            target,
            model,
            backend,
            as_json,
            lambda encoder, progress: job(config, target, encoder, progress=progress),
            ray,
        )
    except IndexBusyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BUSY)


@click.command("update")
@sources_options
@click.option("--prune", is_flag=True, help="Also remove articles whose file is gone.")
def update_command(sources_file, index_dir, model, backend, max_file_mb, ray_address, as_json, prune) -> None:
    """Add new and changed articles from the sources file to INDEX, following its feeds and sitemaps on the
    web, then check the alerts; safe from cron while a server runs. Unchanged articles cost nothing.
    Exits 0 when the build succeeded (failed web sources and undelivered alert hits are warnings on
    stderr), 1 when it failed, 75 when another build holds the index (run it again later)."""
    from index.maintenance import update

    job = partial(update, prune=prune, max_file_bytes=max_file_mb * 2**20)
    _from_sources(sources_file, index_dir, model, backend, as_json, job, ray_address)


@click.command("rebuild")
@sources_options
def rebuild_command(sources_file, index_dir, model, backend, max_file_mb, ray_address, as_json) -> None:
    """Rebuild INDEX from the sources file into a new generation (vectors reused, not re-embedded);
    articles no longer in the sources are gone. Articles of its web sources are kept (pages are not
    fetched again); new ones are fetched. Exit codes as for update."""
    from index.maintenance import rebuild

    job = partial(rebuild, max_file_bytes=max_file_mb * 2**20)
    _from_sources(sources_file, index_dir, model, backend, as_json, job, ray_address)


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
