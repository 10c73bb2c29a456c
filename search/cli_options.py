"""The options several `newsdesk` commands share, and how --json prints."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from index.encoders import BACKENDS
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
    options = (SOURCES_OPTION, SOURCES_INDEX_OPTION, MODEL_OPTION, BACKEND_OPTION, MAX_FILE_OPTION, JSON_OPTION)
    for option in reversed(options):
        command = option(command)
    return command
