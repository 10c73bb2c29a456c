"""`newsdesk update` following the web, measured: a loopback news site of 200 articles in 5 feeds, updated twice.

    python scripts/bench_update.py                          # 200 articles, 5 feeds, min_interval 0.02 s
    python scripts/bench_update.py --articles 500 --feeds 10 --min-interval 0.05 --json

The site (tests/web_site.py: real-looking pages, robots.txt, ETag/Last-Modified and 304s) is served by a
separate process on 127.0.0.1, so it shares no GIL with the update. Each run is the real command, in a
subprocess: `newsdesk update --sources FILE --json` into a real index folder, with the default int8 encoder.
The first run finds every article new: robots.txt, the feeds, every page fetched, extracted with trafilatura,
chunked, embedded and stored. The second finds nothing new: robots.txt is remembered, each feed answers 304.

For each run: wall time of the command (interpreter start and model load included), requests sent, body
bytes received, 304s, articles indexed, the seconds spent embedding and their share of the wall time, and
the site's own count of the requests it answered.

min_interval is small but not zero (0.02 s by default): on loopback the pace would otherwise only measure
our own sleeping, which a public host never gets below a second of (index/web/hosts.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.web_site import STATS_PATH, LoopbackSite, publish_news  # noqa: E402


def serve(articles: int, feeds: int) -> None:
    """Serve the site until stdin closes; first print its origin and feed URLs as one JSON line."""
    with LoopbackSite() as site:
        news = publish_news(site, articles=articles, feeds=feeds)
        print(json.dumps({"origin": site.origin, "feeds": news.feeds}), flush=True)
        sys.stdin.read()


def site_requests(origin: str) -> int:
    return int(httpx.get(origin + STATS_PATH, timeout=10).json()["requests"])


def one_run(sources: Path, origin: str) -> dict[str, object]:
    """`newsdesk update --sources FILE --json` in a subprocess, and what it reported."""
    before = site_requests(origin)
    command = [sys.executable, "-m", "search.cli", "update", "--sources", str(sources), "--json"]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"newsdesk update exited {done.returncode}:\n{done.stderr}")
    report = json.loads(done.stdout)
    web, stages = report["web"], report["time"]
    embedding = stages.get("embedding", 0.0)
    return {
        "seconds": round(seconds, 2),
        "build_seconds": report["seconds"],
        "requests": web["requests"],
        "bytes": web["bytes"],
        "not_modified": web["not_modified"],
        "articles": report["added"] + report["updated"],
        "passages_embedded": report["embedded"],
        "embedding_seconds": embedding,
        "embedding_share": round(embedding / seconds, 3),
        "reading_seconds": stages.get("reading", 0.0),
        "failures": web["failures"],
        "site_answered": site_requests(origin) - before,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--feeds", type=int, default=5)
    parser.add_argument("--min-interval", type=float, default=0.02, help="seconds between two requests to the site")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the site's own process
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.articles, args.feeds)
        return 0
    command = [sys.executable, __file__, "--serve", "--articles", str(args.articles), "--feeds", str(args.feeds)]
    with (
        tempfile.TemporaryDirectory(prefix="bench-update-") as work,
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as server,
    ):
        assert server.stdout is not None and server.stdin is not None
        site = json.loads(server.stdout.readline())
        sources = Path(work) / "sources.toml"
        feeds = ", ".join(f'"{url}"' for url in site["feeds"])
        sources.write_text(
            f'index = "index"\n[fetch]\ncontact = "https://newsroom.example/bench"\n'
            f"min_interval = {args.min_interval}\n\n"
            f'[[source]]\nfeeds = [{feeds}]\noutlet = "Loopback Ledger"\n',
            encoding="utf-8",
        )
        runs = [one_run(sources, site["origin"]) for _ in range(2)]
        encoder = json.loads((Path(work) / "index" / "manifest.json").read_text())["encoder"]
        server.stdin.close()
    result = {
        "articles": args.articles,
        "feeds": args.feeds,
        "min_interval": args.min_interval,
        "encoder": f"{encoder['name']} ({encoder.get('backend')})",
        "runs": runs,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"site: {args.articles} articles in {args.feeds} feeds on {site['origin']}, "
        f"min_interval {args.min_interval} s; encoder {result['encoder']}"
    )
    for name, numbers in zip(("first run", "second run"), runs, strict=True):
        print(
            f"{name}: {numbers['seconds']} s wall ({numbers['build_seconds']} s build), "
            f"{numbers['requests']} requests sent ({numbers['site_answered']} answered by the site), "
            f"{numbers['bytes']:,} bytes fetched, {numbers['not_modified']} × 304, "
            f"{numbers['articles']} articles indexed; fetching, extracting and chunking "
            f"{numbers['reading_seconds']} s, embedding {numbers['embedding_seconds']} s "
            f"({numbers['embedding_share']:.0%} of the wall time); {numbers['failures']} failures"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
