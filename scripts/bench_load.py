"""Load test: concurrent clients against a running newsdesk server on loopback.

    python scripts/bench_load.py                       # serves var/demo itself on a free port
    python scripts/bench_load.py --index var/news      # ... or another index
    python scripts/bench_load.py --url http://127.0.0.1:8000 --clients 1,8,32 --seconds 10

For each number of clients, every client (a thread with its own HTTP connection) sends
`GET /api/search` in a loop until --seconds pass or --max-requests are sent, whichever comes first;
then requests/s, p50 and p99 latency and errors (transport errors and any status but 200) are printed.
Queries are the sample questions, each made distinct with a counter so the server's query-vector cache
never answers (every request embeds its query); --repeat sends them as they are (cache hits after the
first round). The server started here runs in its own process, so the clients do not share its GIL.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "data" / "eval" / "sample_questions.jsonl"
FALLBACK = ["heat pump rebate", "port strike pay deal", "offshore wind farm output", "tram line vote"]


@dataclass(slots=True)
class LevelResult:
    clients: int
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def load_questions() -> list[str]:
    try:
        lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["question"] for line in lines if line.strip()] or FALLBACK
    except (OSError, ValueError, KeyError):
        return FALLBACK


def run_level(
    url: str, clients: int, seconds: float, max_requests: int, questions: list[str], repeat: bool, mode: str, first: int
) -> LevelResult:
    """One level; distinct queries are numbered from `first`, so no level repeats another's."""
    latencies: list[float] = []
    errors: list[str] = []
    sent = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client_loop() -> None:
        nonlocal sent
        with httpx.Client(base_url=url, timeout=60) as client:
            while time.perf_counter() < deadline:
                with lock:
                    if sent >= max_requests:
                        return
                    number = sent
                    sent += 1
                question = questions[number % len(questions)]
                query = question if repeat else f"{question} {first + number}"
                started = time.perf_counter()
                try:
                    response = client.get("/api/search", params={"q": query, "k": 10, "mode": mode})
                    ok = response.status_code == 200
                    problem = "" if ok else f"{response.status_code} {response.text[:120]}"
                except httpx.HTTPError as exc:
                    ok, problem = False, f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(problem)

    began = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    for problem in errors[:3]:
        print(f"  error: {problem}", file=sys.stderr)
    return LevelResult(
        clients=clients,
        requests=len(latencies),
        errors=len(errors),
        seconds=round(wall, 2),
        requests_per_second=round(len(latencies) / wall, 1) if wall else 0.0,
        p50_ms=round(percentile(latencies, 0.50) * 1000, 1),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 1),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(index_dir: Path) -> tuple[subprocess.Popen, str]:
    if not (index_dir / "manifest.json").is_file():
        sys.exit(f"error: no index at {index_dir} — build it with `newsdesk index data/sample --index {index_dir}`")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "search.cli", "serve", "--index", str(index_dir), "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"error: the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    sys.exit("error: the server did not become healthy within 180 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one over --index)")
    parser.add_argument("--index", type=Path, default=REPO / "var" / "demo", help="index to serve (default var/demo)")
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="time budget per level")
    parser.add_argument("--max-requests", type=int, default=5000, help="request budget per level")
    parser.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
    parser.add_argument("--repeat", action="store_true", help="repeat the questions verbatim (query cache hits)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.clients.split(",") if n.strip()]
    questions = load_questions()

    server = None
    url = args.url
    if url is None:
        server, url = start_server(args.index)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:  # warm-up: first-request costs are not load
            for question in questions[:5]:
                client.get("/api/search", params={"q": question, "mode": args.mode})
        results = [
            run_level(url, n, args.seconds, args.max_requests, questions, args.repeat, args.mode, i * args.max_requests)
            for i, n in enumerate(levels)
        ]
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    if args.json:
        print(json.dumps([asdict(r) for r in results]))
    else:
        queries = "repeated (cache hits)" if args.repeat else "distinct (every query embedded)"
        print(f"{url}  mode={args.mode}  queries {queries}  budget {args.seconds:g} s / {args.max_requests} requests")
        print(f"{'clients':>7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
        for r in results:
            print(
                f"{r.clients:>7} {r.requests:>8} {r.requests_per_second:>8.1f} {r.p50_ms:>8.1f} "
                f"{r.p99_ms:>8.1f} {r.errors:>6}"
            )
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
