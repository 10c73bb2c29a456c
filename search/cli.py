"""The `newsdesk` command: search, show, related, stats, serve, eval here; the commands that change an
index (index, update, rebuild, remove, reindex-vectors) in search/cli_write.py.

Exit codes: 0 done, 1 failed (one line on stderr), 2 bad arguments; `update` and `rebuild` exit 75
(EX_TEMPFAIL) when another build holds the index, so cron simply runs them again later.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from index.errors import NewsdeskError
from search.cli_alerts import alerts as alerts_group
from search.cli_options import INDEX_OPTION, JSON_OPTION, echo_json, time_options
from search.cli_write import WRITE_COMMANDS
from search.query import MODES


def _filter_options(command):
    command = click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Published on or before.")(
        command
    )
    command = click.option(
        "--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after (YYYY-MM-DD)."
    )(command)
    command = click.option("--source", "sources", multiple=True, help="Only this outlet (repeatable).")(command)
    command = click.option("--offset", default=0, show_default=True, help="Skip this many results (paging).")(command)
    return click.option("-k", "k", default=10, show_default=True, help="Number of results.")(command)


class _Group(click.Group):
    """Every NewsdeskError becomes one line on stderr and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NewsdeskError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, commands=WRITE_COMMANDS)
@click.version_option(package_name="newsdesk")
def main() -> None:
    """Semantic search over news articles."""


def _open(index_dir: Path):
    from search.searcher import Searcher

    return Searcher.open(index_dir)


def _filters(sources, date_from, date_to):
    from search.searcher import Filters

    as_date = lambda value: value.date() if value else None  # noqa: E731
    return Filters(sources=tuple(sources), date_from=as_date(date_from), date_to=as_date(date_to))


def _print_results(response, as_json: bool) -> None:
    from search.highlight import mark

    if as_json:
        payload = response.as_dict()
        echo_json(payload)
        return
    if response.time_range:
        span = f"{response.time_range.start or '…'} to {response.time_range.end or '…'}"
        click.echo(f"dates: {response.time_range.label} ({span}, from {response.time_range.words!r})")
    if response.facets:
        _print_facets(response.facets)
    if not response.results:
        click.echo("no articles match — try other words or fewer filters")
        return
    for rank, result in enumerate(response.results, start=response.offset + 1):
        when = (result.published or "")[:10] or "undated"
        click.echo(
            click.style(f"{rank}. {result.title}", bold=True) + f"  ({result.source or 'unknown source'}, {when})"
        )
        click.echo(f"   {result.url or result.id}")
        text, spans = (
            (result.snippet, result.snippet_highlights) if result.snippet else (result.passage, result.highlights)
        )
        shown = mark(text, spans, "\x1b[1m", "\x1b[0m") if sys.stdout.isatty() else mark(text, spans)
        click.echo(f"   {_shorten(shown, 400)}")
        if result.also:
            click.echo("   also covered by: " + ", ".join(o.source or o.title for o in result.also))
        click.echo(f"   id {result.id}  score {result.score:.4f}")


def _print_facets(facets) -> None:
    undated = f", {facets.undated} undated" if facets.undated else ""
    click.echo(f"{facets.total} matching articles{undated}; per {facets.interval}:")
    for bucket in facets.dates:
        span = bucket.start if bucket.start == bucket.end else f"{bucket.start}…{bucket.end}"
        click.echo(f"  {span:<22} {bucket.count:>5}")
    click.echo("outlets: " + ", ".join(f"{s.value or '(none)'} {s.count}" for s in facets.sources))


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


@main.command("search")
@click.argument("query")
@INDEX_OPTION
@_filter_options
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--passages", default=0, show_default=True, help="More matching passages per article.")
@time_options
@JSON_OPTION
def search_command(query, index_dir, k, offset, sources, date_from, date_to, mode, passages, as_json, **time) -> None:
    """Search the index with a natural-language question."""
    searcher = _open(index_dir)
    response = searcher.search(
        query, k=k, offset=offset, mode=mode, filters=_filters(sources, date_from, date_to), passages=passages, **time
    )
    _print_results(response, as_json)


@main.command("related")
@click.argument("id_or_url")
@INDEX_OPTION
@_filter_options
@JSON_OPTION
def related_command(id_or_url, index_dir, k, offset, sources, date_from, date_to, as_json) -> None:
    """Articles related to one article (by id or URL)."""
    searcher = _open(index_dir)
    _print_results(
        searcher.related(id_or_url, k=k, offset=offset, filters=_filters(sources, date_from, date_to)), as_json
    )


@main.command("show")
@click.argument("id_or_url")
@INDEX_OPTION
@JSON_OPTION
def show_command(id_or_url, index_dir, as_json) -> None:
    """One article with all its fields and passages."""
    view = _open(index_dir).article(id_or_url)
    if as_json:
        echo_json(view.as_dict())
        return
    click.echo(click.style(view.title, bold=True))
    for label, value in (
        ("id", view.id),
        ("url", view.url),
        ("source", view.source),
        ("published", view.published),
        ("authors", ", ".join(view.authors)),
        ("story", view.story_id),
        ("first seen", view.first_seen),
        ("updated", view.updated),
    ):
        if value:
            click.echo(f"{label:>10}: {value}")
    for other in view.urls[1:]:
        click.echo(f"{'also at':>10}: {other}")
    for copy in view.also:
        click.echo(f"{'same story':>10}: {copy.title} ({copy.source}) {copy.url or copy.id}")
    for number, passage in enumerate(view.passages, start=1):
        click.echo(f"\n[{number}] chars {passage.start}–{passage.end}\n{passage.text}")


@main.command("stats")
@INDEX_OPTION
@JSON_OPTION
def stats_command(index_dir, as_json) -> None:
    """Counts, sources, date range and encoder of an index."""
    stats = _open(index_dir).stats()
    if as_json:
        echo_json(stats.as_dict())
        return
    click.echo(f"{stats.articles} articles, {stats.passages} passages, {stats.stories} multi-outlet stories")
    click.echo(f"published {stats.date_from or '?'} … {stats.date_to or '?'}; generation {stats.generation}")
    click.echo(f"encoder {stats.encoder['name']} ({stats.encoder.get('backend')})")
    for source, count in list(stats.sources.items())[:30]:
        click.echo(f"  {count:>7}  {source or '(no source)'}")


@main.command("serve")
@INDEX_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def serve_command(index_dir, host, port) -> None:
    """Serve the HTTP API and the web page."""
    # Before torch loads OpenMP: each request thread gets its own OpenMP team, and busy-waiting idle
    # teams starve the working one (measured on 2 CPUs: one client's p50 436 ms → 15 ms; bench_load.py).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import uvicorn

    from search.api import create_app
    from search.settings import Settings

    app = create_app(Settings(index=index_dir))
    click.echo(f"newsdesk: serving {index_dir} at http://{host}:{port}", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info")


def _print_question_scores(scores) -> None:
    click.echo(f"{'mode':<8} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'nDCG@10':>8} {'s':>6}")
    for s in scores:
        click.echo(
            f"{s.mode:<8} {s.recall_at_1:>6.3f} {s.recall_at_5:>6.3f} {s.recall_at_10:>6.3f} "
            f"{s.mrr_at_10:>7.3f} {s.ndcg_at_10:>8.3f} {s.seconds:>6.1f}"
        )


@main.command("eval")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@INDEX_OPTION
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(MODES),
    help="Modes to score (repeatable; default all three). Questions files only.",
)
@click.option(
    "--no-dates",
    "use_dates",
    flag_value=False,
    default=True,
    help="Ask every question timeless only, even when the file gives the date each was asked on.",
)
@JSON_OPTION
def eval_command(path, index_dir, modes, use_dates, as_json) -> None:
    """Score retrieval on a questions file (question, relevant_urls) or a stories file (headline, urls).

    Questions with a `date` are scored twice: asked on that date (as_of, time words, recency prior) and
    timeless (as before issue 13); --no-dates scores only the second."""
    from search.evaluate import as_dicts, evaluate_questions, evaluate_stories, file_kind, has_dates, load_jsonl

    records = load_jsonl(path)
    searcher = _open(index_dir)
    if file_kind(records) == "questions":
        modes = modes or MODES
        dated = evaluate_questions(searcher, records, modes, dated=True) if use_dates and has_dates(records) else []
        timeless = evaluate_questions(searcher, records, modes)
        if as_json:
            payload = {"kind": "questions", "file": str(path), "scores": as_dicts(timeless)}
            if dated:
                payload["scores_with_dates"] = as_dicts(dated)
            echo_json(payload)
            return
        click.echo(f"{len(records)} questions from {path}")
        if dated:
            click.echo("\nwith dates: each question asked on its date (as_of, time words, recency prior)")
            _print_question_scores(dated)
            click.echo("\nwithout dates: timeless (no as_of, no time words, no recency prior)")
        _print_question_scores(timeless)
        return
    # A name of its own: the questions branch's `scores` are another type.
    story = evaluate_stories(searcher, records)
    if as_json:
        echo_json({"kind": "stories", "file": str(path), "scores": as_dicts(story)})
        return
    click.echo(
        f"{story.stories} stories, {story.pairs} member pairs ({story.members_missing} member URLs not in the index)"
    )
    click.echo(
        f"related recall@5 {story.related_recall_at_5:.3f}  recall@10 {story.related_recall_at_10:.3f}  "
        f"headline→members recall@10 {story.headline_recall_at_10:.3f}  ({story.seconds:.1f} s)"
    )


main.add_command(alerts_group)

if __name__ == "__main__":
    main()
