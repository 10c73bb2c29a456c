"""What scripts/rebuild_index.py and scripts/update_index.py share: arguments, lock, report, exit code.

Exit codes: 0 done, 1 failed (the reason on stderr), 75 another build holds the index (EX_TEMPFAIL:
cron can simply run again later), 2 bad arguments. The lock is taken before the model is loaded, so a
second run fails at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index import maintenance  # noqa: E402
from index.build import build_lock  # noqa: E402
from index.encoder import Encoder  # noqa: E402
from index.errors import IndexBusyError, NewsdeskError  # noqa: E402
from index.layout import default_index_dir  # noqa: E402
from index.sources import load_sources  # noqa: E402

EXIT_BUSY = 75


class _Bar:
    """tqdm on a terminal, silent under cron."""

    def __init__(self, label: str, total: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=label, file=sys.stderr, disable=None, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def parser(kind: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{kind}_index.py", description=description)
    parser.add_argument("--sources", type=Path, default=Path("sources.toml"), help="sources file (sources.toml)")
    parser.add_argument(
        "--index",
        type=Path,
        default=None,
        help="index folder (default: the sources file's, else $NEWSDESK_INDEX or var/index)",
    )
    parser.add_argument("--model", default=None, help="encoder for a new index (default: the index's own)")
    parser.add_argument("--backend", choices=["torch", "int8"], default=None, help="encoder backend")
    parser.add_argument("--max-file-mb", type=int, default=200, help="skip files larger than this")
    parser.add_argument("--json", action="store_true", help="print the build report as one JSON object")
    if kind == "update":
        parser.add_argument("--prune", action="store_true", help="also remove articles whose file is gone")
    return parser


def main(kind: str, argv: list[str] | None = None, encoder: Encoder | None = None) -> int:
    """Run a rebuild or an update; `encoder` lets tests pass the one they loaded."""
    description = (
        "Rebuild the whole index from sources.toml into a new generation (vectors reused, not re-embedded)."
        if kind == "rebuild"
        else "Add new and changed articles from sources.toml to the index; --prune removes those whose file is gone."
    )
    args = parser(kind, description).parse_args(argv)
    try:
        config = load_sources(args.sources)
        index_dir = args.index or config.index or default_index_dir()
        with build_lock(index_dir):
            encoder = encoder or maintenance.encoder_for(index_dir, args.model, args.backend)
            limit = args.max_file_mb * 1024 * 1024
            if kind == "rebuild":
                report = maintenance.rebuild(config.sources, index_dir, encoder, _Bar, limit)
            else:
                report = maintenance.update(config.sources, index_dir, encoder, args.prune, _Bar, limit)
    except IndexBusyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except NewsdeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print("\n".join(maintenance.report_lines(report, index_dir)))
    return 0
