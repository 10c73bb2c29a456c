"""Following the web, measured: a loopback news site of 200 articles in 5 feeds, fetched twice.

    python scripts/bench_update.py                          # 200 articles, 5 feeds, min_interval 0
    python scripts/bench_update.py --articles 500 --feeds 10 --min-interval 0.05 --json

The site (tests/web_site.py: real-looking pages, robots.txt, ETag/Last-Modified and 304s) is served
by a separate process on 127.0.0.1, so it does not share this one's GIL. The first run finds every
article new: robots.txt, the feeds, every page, extracted with trafilatura. The second finds nothing
new: robots.txt is remembered, each feed answers 304. For each run: wall time, requests sent, body bytes
received, 304s, articles yielded, and the site's own count of the requests it answered.

The sources file written for the site is printed, so `newsdesk update --sources FILE` can be pointed at
the same site once it follows the web; until then the runs drive `index.web.follow_web_sources`, and
consume the articles without indexing them (extraction included, embedding not).
min_interval is 0 by default: on loopback the pace would only measure our own sleeping (a public host
never gets less than a second; see index/web/hosts.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index.model import Article  # noqa: E402
from index.sources import load_sources  # noqa: E402
from index.web import follow_web_sources  # noqa: E402
from tests.web_site import STATS_PATH, LoopbackSite, publish_news  # noqa: E402


def serve(articles: int, feeds: int) -> None:
    """Serve the site until stdin closes; first print its feed URLs as one JSON line."""
    with LoopbackSite() as site:
        news = publish_news(site, articles=articles, feeds=feeds)
        print(json.dumps({"origin": site.origin, "feeds": news.feeds}), flush=True)
        sys.stdin.read()


def site_requests(origin: str) -> dict:
    return httpx.get(origin + STATS_PATH, timeout=10).json()


def one_run(sources: Path, state: Path, origin: str) -> dict[str, object]:
    config = load_sources(sources)
    before = site_requests(origin)
    started = time.perf_counter()
    with follow_web_sources(config, state) as run:
        found = sum(1 for item in run if isinstance(item, Article))
        run.commit()
    seconds = time.perf_counter() - started
    after = site_requests(origin)
    report = run.report
    return {
        "seconds": round(seconds, 2),
        "requests": report.total("requests"),
        "bytes": report.total("bytes"),
        "not_modified": report.total("not_modified"),
        "articles": found,
        "failures": len(report.failures),
        "site_answered": after["requests"] - before["requests"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--feeds", type=int, default=5)
    parser.add_argument("--min-interval", type=float, default=0.0, help="seconds between two requests to the site")
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
            f'[fetch]\ncontact = "https://newsroom.example/bench"\nmin_interval = {args.min_interval}\n\n'
            f'[[source]]\nfeeds = [{feeds}]\noutlet = "Loopback Ledger"\n',
            encoding="utf-8",
        )
        state = Path(work) / "fetch_state.sqlite"
        runs = [one_run(sources, state, site["origin"]) for _ in range(2)]
        server.stdin.close()
    result = {"articles": args.articles, "feeds": args.feeds, "min_interval": args.min_interval, "runs": runs}
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"site: {args.articles} articles in {args.feeds} feeds on {site['origin']}, min_interval {args.min_interval} s"
    )
    print(f"sources file: {sources} (removed on exit)")
    for name, numbers in zip(("first run", "second run"), runs, strict=True):
        print(
            f"{name}: {numbers['seconds']} s, {numbers['requests']} requests sent "
            f"({numbers['site_answered']} answered by the site), {numbers['bytes']:,} bytes fetched, "
            f"{numbers['not_modified']} × 304, {numbers['articles']} articles, {numbers['failures']} failures"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
