"""Indexing speed against what a user would otherwise pick: newsdesk, plain sentence-transformers + FAISS, txtai.

    python scripts/bench_index.py [--corpus ../shared/data/eval/rtqa-5k.jsonl.gz] [--workdir var/bench]
                                  [--limit N] [--legs newsdesk plain txtai] [--json]

Each leg runs in a child process of its own, one after the other, and is measured the same way: wall
time from spawn to exit (interpreter start, imports and model load included) and that child's peak RSS.

- newsdesk: `newsdesk index CORPUS --backend int8`, the whole pipeline (read, clean, dedupe, chunk,
  embed, SQLite + FTS5 + FAISS).
- plain: sentence-transformers `encode(batch_size=32)` + `faiss.IndexFlatIP`, index and passages JSONL.
- txtai: `Embeddings(content=True, hybrid=True)`, saved to WORKDIR/txtai (scripts/bench_query.py uses it).

The peers index newsdesk's own passages (title + passage, as its encoder saw them), exported from the
newsdesk index to WORKDIR/passages.jsonl between the legs and untimed; reading that file is timed. So
the peers are spared reading, cleaning, dedupe and chunking: newsdesk's figure covers more work.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from peers import PASSAGES_FILE, TXTAI_DIR, newsdesk_passages, write_passages  # noqa: E402

from index.encoders import bundled_model_dir  # noqa: E402
from index.errors import NewsdeskError  # noqa: E402

DATA = REPO.parent / "shared" / "data"
LEGS = ("newsdesk", "plain", "txtai")
OUTPUT = {"newsdesk": "newsdesk", "plain": "plain", "txtai": TXTAI_DIR}


@dataclass(slots=True)
class Leg:
    name: str
    seconds: float
    passages: int
    peak_rss_mib: float
    disk_bytes: int
    load_before: float
    load_after: float

    @property
    def rate(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0

    @property
    def bytes_per_passage(self) -> float:
        return self.disk_bytes / self.passages if self.passages else 0.0


def limited_corpus(corpus: Path, workdir: Path, limit: int) -> Path:
    """The first `limit` records of a JSON Lines corpus, written once to the workdir for every leg."""
    target = workdir / f"corpus-{limit}.jsonl.gz"
    written = 0
    with gzip.open(corpus, "rt", encoding="utf-8") as source, gzip.open(target, "wt", encoding="utf-8") as sink:
        for line in source:
            if written >= limit:
                break
            if line.strip():
                sink.write(line)
                written += 1
    return target


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_leg(name: str, argv: list[str], out: Path, stdout: Path) -> tuple[Leg, dict]:
    """Run one leg as a child and wait for it with wait4, which gives that child's own rusage
    (ru_maxrss is its peak RSS), not the sum over every child this process has reaped."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    load_before = os.getloadavg()[0]
    print(f"{name}: running {' '.join(argv)}", file=sys.stderr, flush=True)
    with stdout.open("w", encoding="utf-8") as sink:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=sink, env=env, cwd=REPO)
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: tell Popen, or it waits again
    if child.returncode != 0:
        raise NewsdeskError(f"the {name} leg exited with code {child.returncode}; its output is in {stdout}")
    lines = [line for line in stdout.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = json.loads(lines[-1])
    leg = Leg(
        name=name,
        seconds=round(seconds, 2),
        passages=int(report["passages"]),
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        disk_bytes=tree_bytes(out),
        load_before=round(load_before, 2),
        load_after=round(os.getloadavg()[0], 2),
    )
    return leg, report


def newsdesk_command() -> list[str]:
    script = Path(sys.executable).with_name("newsdesk")
    if not script.is_file():
        raise NewsdeskError(f"no newsdesk command beside {sys.executable} — run `make install`")
    return [str(script)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DATA / "eval" / "rtqa-5k.jsonl.gz")
    parser.add_argument("--workdir", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--limit", type=int, default=None, help="index only the first N articles (quick runs)")
    parser.add_argument("--legs", nargs="+", choices=LEGS, default=list(LEGS))
    parser.add_argument("--json", action="store_true", help="also write the results to WORKDIR/bench_index.json")
    args = parser.parse_args()
    if not args.corpus.is_file():
        print(f"skipped: {args.corpus} not found (this benchmark needs ../shared/data)")
        return 0
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    legs = [leg for leg in LEGS if leg in args.legs]  # newsdesk first: the peers need its passages
    try:
        model_dir = bundled_model_dir()  # verified here once, so no leg pays for hashing the weights
        corpus = limited_corpus(args.corpus, workdir, args.limit) if args.limit else args.corpus.resolve()
        results, reports = run_legs(legs, corpus, workdir, model_dir)
    except NewsdeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    threads = next((r["torch_threads"] for r in reports.values() if "torch_threads" in r), "default")
    print(f"corpus {corpus.name}; {os.cpu_count()} CPUs; torch threads in the peers: {threads} (left at default)")
    print(f"{'leg':<9} {'seconds':>8} {'passages':>9} {'passages/s':>11} {'peak RSS MiB':>13} {'bytes/passage':>14}")
    for leg in results.values():
        print(
            f"{leg.name:<9} {leg.seconds:>8.1f} {leg.passages:>9} {leg.rate:>11.1f} {leg.peak_rss_mib:>13.0f} "
            f"{leg.bytes_per_passage:>14.0f}   (load {leg.load_before:.2f} → {leg.load_after:.2f})"
        )
    ratios = {}
    if "newsdesk" in results:
        for peer in ("plain", "txtai"):
            if peer in results and results[peer].rate:
                ratios[f"newsdesk/{peer}"] = round(results["newsdesk"].rate / results[peer].rate, 3)
                print(f"passages/s newsdesk / {peer}: {ratios[f'newsdesk/{peer}']:.2f}")
    counts = {leg.passages for leg in results.values()}
    if len(counts) > 1:
        print(f"warning: the legs indexed different passage counts {sorted(counts)}")
    if args.json:
        path = workdir / "bench_index.json"
        payload = {
            "corpus": str(corpus),
            "limit": args.limit,
            "cpus": os.cpu_count(),
            "legs": {name: asdict(leg) | {"passages_per_second": round(leg.rate, 2)} for name, leg in results.items()},
            "ratios": ratios,
            "newsdesk_report": _counted(reports.get("newsdesk", {})),
        }
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"results → {path}")
    return 0


def _counted(report: dict) -> dict:
    """A build report with its skip and warning lists reduced to counts (they name every file)."""
    return {k: len(v) if isinstance(v, list) else v for k, v in report.items()}


def run_legs(legs: list[str], corpus: Path, workdir: Path, model_dir: Path) -> tuple[dict[str, Leg], dict]:
    results: dict[str, Leg] = {}
    reports: dict[str, dict] = {}
    passages_path = workdir / PASSAGES_FILE
    index_dir = workdir / OUTPUT["newsdesk"]
    if "newsdesk" not in legs:
        prepare_passages(index_dir, passages_path)
    for name in legs:
        out = workdir / OUTPUT[name]
        stdout = workdir / f"{name}.out"
        if name == "newsdesk":
            argv = [*newsdesk_command(), "index", str(corpus), "--index", str(out), "--backend", "int8", "--json"]
        else:
            argv = [sys.executable, str(REPO / "scripts" / "peers.py"), name, "--passages", str(passages_path)]
            argv += ["--out", str(out), "--model", str(model_dir)]
        results[name], reports[name] = run_leg(name, argv, out, stdout)
        if name == "newsdesk":
            prepare_passages(index_dir, passages_path)  # between legs, outside any timing
    return results, reports


def prepare_passages(index_dir: Path, passages_path: Path) -> None:
    """Export newsdesk's passages for the peers; without a newsdesk index, reuse an earlier export."""
    if (index_dir / "manifest.json").is_file():
        count = write_passages(newsdesk_passages(index_dir), passages_path)
        print(f"exported {count} passages from {index_dir} → {passages_path}", file=sys.stderr, flush=True)
    elif not passages_path.is_file():
        raise NewsdeskError(f"no {passages_path} and no newsdesk index at {index_dir} — run the newsdesk leg first")


if __name__ == "__main__":
    raise SystemExit(main())
