"""`newsdesk alerts`: add, list, remove and check standing searches (the group is attached to `newsdesk`).

    newsdesk alerts add tram-line "harbor tram line" --source "Harbor Times" --webhook https://hooks.example/n
    newsdesk alerts list
    newsdesk alerts show tram-line     # its latest hits, and any webhook delivery that failed
    newsdesk alerts check          # what `newsdesk update` runs after each build
    newsdesk alerts remove tram-line

`check` exits 1 when a hit could not be delivered or an alert's search failed (each named on stderr), so
cron mails it; the hit is kept and delivered by a later check.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from search.alerts import Alert, Alerts, AlertSpec, CheckReport, check_index
from search.cli_options import INDEX_OPTION, JSON_OPTION, echo_json
from search.searcher import MODES


@click.group("alerts")
def alerts() -> None:
    """Standing searches: after each update, every new article on an alert's first page (top 10) is
    reported once — a JSON line in the lines file, and a POST to the alert's webhook if it has one.
    What an alert finds when it is added is its backlog, never reported."""


@alerts.command("add")
@click.argument("name")
@click.argument("query")
@click.option("--source", "sources", multiple=True, help="Only this outlet (repeatable).")
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Published on or before (YYYY-MM-DD).")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True)
@click.option("--webhook", default=None, help="POST each new hit here as JSON (http or https URL).")
@INDEX_OPTION
@JSON_OPTION
def add_command(name, query, sources, date_from, date_to, mode, webhook, index_dir, as_json) -> None:
    """Add alert NAME (a slug, e.g. tram-line) watching QUERY."""
    from search.searcher import Searcher

    spec = AlertSpec(
        name,
        query,
        tuple(sources),
        date_from.date() if date_from else None,
        date_to.date() if date_to else None,
        mode,
        webhook,
    )
    searcher = Searcher.open(index_dir)
    try:
        alert = Alerts(index_dir).add(spec, searcher)
    finally:
        searcher.close()
    if as_json:
        echo_json(_alert_dict(alert))
        return
    click.echo(f"alert {alert.name} added: what it finds today is its backlog and is not reported")
    click.echo("new articles on its first page are reported after each update (or `newsdesk alerts check`)")


@alerts.command("list")
@INDEX_OPTION
@JSON_OPTION
def list_command(index_dir, as_json) -> None:
    """The alerts, with their hits and undelivered webhook POSTs."""
    found = Alerts(index_dir).list()
    if as_json:
        echo_json({"alerts": [_alert_dict(alert) for alert in found]})
        return
    if not found:
        click.echo('no alerts — add one with `newsdesk alerts add NAME "query"`')
        return
    for alert in found:
        click.echo(click.style(alert.name, bold=True) + f"  {alert.query!r}  ({alert.mode}{_filters(alert)})")
        checked = alert.last_checked or "never"
        undelivered = f", {alert.undelivered} not delivered to the webhook" if alert.undelivered else ""
        click.echo(f"   {alert.hits} hits{undelivered}; last checked {checked}; added {alert.created}")
        if alert.webhook:
            click.echo(f"   webhook {alert.webhook}")


@alerts.command("show")
@click.argument("name")
@click.option("--hits", "limit", default=20, show_default=True, help="How many of the latest hits to show.")
@INDEX_OPTION
@JSON_OPTION
def show_command(name, limit, index_dir, as_json) -> None:
    """Alert NAME and its latest hits, most recent first, with each one's webhook delivery."""
    detail = Alerts(index_dir).detail(name, limit)
    if as_json:
        echo_json(asdict(detail))
        return
    alert = detail.alert
    click.echo(click.style(alert.name, bold=True) + f"  {alert.query!r}  ({alert.mode}{_filters(alert)})")
    for hit in detail.hits:
        delivery = "" if hit.webhook in ("none", "delivered") else f"  [webhook {hit.webhook}: {hit.webhook_error}]"
        click.echo(f"  {hit.matched_at}  {hit.title}  {hit.url or hit.article_id}{delivery}")
    if not detail.hits:
        click.echo("  no hits yet")


@alerts.command("remove")
@click.argument("name")
@INDEX_OPTION
@JSON_OPTION
def remove_command(name, index_dir, as_json) -> None:
    """Remove alert NAME and its state (lines already written stay in the lines file)."""
    alert = Alerts(index_dir).remove(name)
    if as_json:
        echo_json(_alert_dict(alert))
        return
    click.echo(f"removed alert {alert.name} ({alert.hits} hits reported)")


@alerts.command("check")
@INDEX_OPTION
@click.option(
    "--file",
    "lines_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The lines file hits are appended to (default: $NEWSDESK_ALERTS_FILE, else alerts.jsonl in the index).",
)
@click.option("--retry-failed", is_flag=True, help="Try again the webhook POSTs that were given up on.")
@JSON_OPTION
def check_command(index_dir, lines_file, retry_failed, as_json) -> None:
    """Check every alert now and deliver what is new or still owed. Exits 1 if anything was not delivered."""
    from search.settings import Settings

    settings = Settings(index=index_dir, **({"alerts_file": lines_file} if lines_file else {}))
    if retry_failed:
        Alerts(index_dir).retry_failed()
    report = check_index(index_dir, settings=settings)
    if as_json:
        echo_json(report.as_dict())
    else:
        print_check_report(report)
    for problem in report.problems:
        click.echo(f"error: alert {problem.alert}, article {problem.article_id}: {problem.error}", err=True)
    for error in report.errors:
        click.echo(f"error: alert {error['alert']}: {error['error']}", err=True)
    if not report.ok:
        raise SystemExit(1)


def print_check_report(report: CheckReport) -> None:
    """A check as a person reads it (`alerts check`, and `update` after its build): counts, then each new hit."""
    alerts_word = "alert" if report.checked == 1 else "alerts"
    articles_word = "article" if len(report.new) == 1 else "articles"
    click.echo(f"checked {report.checked} {alerts_word}: {len(report.new)} new {articles_word}")
    for hit in report.new:
        when = (hit.published or "")[:10] or "undated"
        where = hit.url or hit.article_id
        click.echo(f"  [{hit.alert}] {hit.title}  ({hit.source or 'unknown source'}, {when})  {where}")
    if report.written or report.posted:
        click.echo(f"{report.written} lines written, {report.posted} webhook POSTs delivered")


def _filters(alert: Alert) -> str:
    parts = [f"source {s}" for s in alert.sources]
    parts += [f"from {alert.date_from}"] if alert.date_from else []
    parts += [f"to {alert.date_to}"] if alert.date_to else []
    return "".join(f", {part}" for part in parts)


def _alert_dict(alert: Alert) -> dict[str, object]:
    return asdict(alert)
