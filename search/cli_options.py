"""The options several `newsdesk` commands share, and how --json prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from index.encoders import BACKENDS
from index.errors import NewsdeskError
from index.layout import default_index_dir
from index.readers import DEFAULT_MAX_FILE_BYTES

F = TypeVar("F", bound=Callable[..., Any])


def _index_option(**settings: Any) -> Callable[[F], F]:
    return click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path), **settings)


INDEX_OPTION = _index_option(
    default=default_index_dir, show_default="var/index or $NEWSDESK_INDEX", help="Index directory."
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object for machines.")


def echo_json(payload: object) -> None:
    """What --json prints: one JSON object on one line, text left unescaped."""
    click.echo(json.dumps(payload, ensure_ascii=False))


# --- the commands that build: index, update, rebuild ---

MODEL_OPTION = click.option(
    "--model", default=None, help="sentence-transformers model name or local path (default: all-MiniLM-L6-v2)."
)
BACKEND_OPTION = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=None,
    help="Encoder backend for a new index: int8 (default, quantized ONNX) or torch (fp32).",
)
MAX_FILE_OPTION = click.option(
    "--max-file-mb", default=DEFAULT_MAX_FILE_BYTES // 2**20, show_default=True, help="Skip files larger than this."
)


def _ray_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--ray checked before anything is loaded: Ray importable (else exit 2 saying how to install it),
    and the address in a form Ray takes ("" when none is given)."""
    if value is None:
        return None
    from index.ray_cluster import address_problem, require_ray

    try:
        require_ray()
    except NewsdeskError as exc:
        raise click.UsageError(str(exc), ctx) from None
    problem = address_problem(value) if value else None
    if problem:
        raise click.BadParameter(f"{problem}; put --ray after the paths, or write --ray=ADDRESS")
    return value


RAY_OPTION = click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[ADDRESS]",
    callback=_ray_address,
    help="Embed on a Ray cluster: the one at ADDRESS (HOST:6379); without one, the sources file's [ray] address "
    "(update, rebuild), else $RAY_ADDRESS, else a private Ray on this machine. Needs pip install '.[ray]'.",
)

# --- update and rebuild: a sources file instead of paths ---

SOURCES_OPTION = click.option(
    "--sources",
    "sources_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default="sources.toml",
    show_default=True,
    help="The sources file: what the index is built from.",
)
SOURCES_INDEX_OPTION = _index_option(
    default=None, help="Index directory (default: the sources file's `index`, else $NEWSDESK_INDEX or var/index)."
)


def sources_options(command):
    """The options `update` and `rebuild` share, listed in this order by --help."""
    options = (
        SOURCES_OPTION,
        SOURCES_INDEX_OPTION,
        MODEL_OPTION,
        BACKEND_OPTION,
        MAX_FILE_OPTION,
        RAY_OPTION,
        JSON_OPTION,
    )
    for option in reversed(options):
        command = option(command)
    return command


# --- search: the moment and the time ---


def _as_of(ctx, param, value):
    """--as-of checked as the API checks as_of (the message names the accepted forms)."""
    from search.moments import parse_as_of

    if value is None:
        return None
    try:
        return parse_as_of(value)
    except NewsdeskError as exc:
        raise click.BadParameter(str(exc)) from None


def _when(ctx, param, value):
    from search.moments import parse_when

    if value is not None:
        try:
            parse_when(value, datetime.now(UTC))
        except NewsdeskError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def time_options(command):
    """The options of a search in time: as of when, a window, the order, the recency prior, facets."""
    from search.query import DEFAULT_RECENCY, RECENCY_PRESETS, SORTS

    options = (
        click.option(
            "--as-of",
            callback=_as_of,
            metavar="DATE|DATETIME",
            help="Ask as of this moment: YYYY-MM-DD (the end of that day, UTC) or an ISO datetime; nothing "
            "published after it is returned, and time words are read relative to it. Default: now.",
        ),
        click.option("--when", callback=_when, metavar="24h|7d|30d", help="Only the window ending at --as-of."),
        click.option(
            "--sort",
            type=click.Choice(SORTS),
            default="relevance",
            show_default=True,
            help="newest: the articles that match, newest first.",
        ),
        click.option(
            "--recency",
            type=click.Choice(RECENCY_PRESETS),
            default=DEFAULT_RECENCY,
            show_default=True,
            help="How much newer articles (before --as-of) are preferred; off: relevance alone.",
        ),
        click.option(
            "--no-time-words",
            "time_words",
            flag_value=False,
            default=True,
            help="Do not read dates in the question ('last week', 'in March 2020').",
        ),
        click.option("--facets", is_flag=True, help="Also count the matching articles per outlet and over time."),
    )
    for option in reversed(options):
        command = option(command)
    return command
