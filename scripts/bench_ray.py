"""Embedding speed through Ray against the local path, on this machine, in one run (issue 16).

    python scripts/bench_ray.py [--n 3000] [--block 1000] [--data ../shared/data] [--batch-size 64]

Passages are cut from `eval/rtqa-5k.jsonl.gz` the way the build cuts them (scripts/bench_encode.py's
`passages`, title as context). Three legs embed the same passages with the int8 encoder:
- local: `encoder.encode(texts, batch_size)` as the build calls it (one one-thread session per core);
- ray-1 and ray-2: a RayEncoder over that encoder with 1 and 2 workers on a private local Ray.
Both Ray pools live side by side (Ray is told there are 3 CPUs, so all 3 actors fit, while only one
pool works at a time), and the legs take turns over blocks of passages, in rotating order, so a change
in the machine's load hits all three alike. Every leg is warmed up first. Passages/s count the encode
calls only: starting the actors (process start, model load, canary proof) is printed apart, as a
one-off cost per build. Prints the table (with the cores each leg kept busy and passages per CPU
second, which stay comparable when other work shares the machine), the ratios the issue sets targets
for, the load average before and after, and whether the three legs gave byte-identical vectors.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_encode import CORPUS, DATA, passages  # noqa: E402

from index.encoders import Encoder, load_encoder  # noqa: E402
from index.errors import NewsdeskError  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--n", type=int, default=3000, help="passages to embed per leg (default: %(default)s)")
    parser.add_argument("--block", type=int, default=1000, help="passages per turn of each leg (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="as the build passes it (default: %(default)s)")
    args = parser.parse_args()
    corpus = args.data / CORPUS
    if not corpus.is_file():
        print(f"skipped: {corpus} not found (this benchmark needs ../shared/data)")
        return 0
    try:
        from index.ray_cluster import connect
        from index.ray_encoder import RayEncoder

        local = load_encoder()
        texts = list(passages(corpus, local, args.n))
        load_before = os.getloadavg()
        with connect(num_cpus=3) as connection:
            legs: dict[str, Encoder] = {"local": local}
            startup: dict[str, float] = {}
            for workers in (1, 2):
                started = time.perf_counter()
                legs[f"ray-{workers}"] = RayEncoder(local, workers=workers)
                startup[f"ray-{workers}"] = time.perf_counter() - started
            measured = run_legs(legs, texts, args.block, args.batch_size)
            summary = connection.summary()
    except NewsdeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_table(texts, measured, startup, load_before, summary.cpus)
    return 0


@dataclass
class Measured:
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process and the leg's Ray workers (all on this machine)
    parts: list[np.ndarray] = field(default_factory=list)


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of these processes so far, from /proc."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_legs(legs: dict[str, Encoder], texts: list[str], block: int, batch_size: int) -> dict[str, Measured]:
    """Time and CPU each leg spent encoding `texts`, in turns over blocks, and the vectors it produced."""
    for encoder in legs.values():  # warm-up: first calls allocate and pick kernels
        encoder.encode(texts[:batch_size], batch_size=batch_size)
    names = list(legs)
    pids = {name: [os.getpid(), *(p.pid for p in getattr(legs[name], "proofs", []))] for name in names}
    measured = {name: Measured() for name in names}
    for turn, begin in enumerate(range(0, len(texts), block)):
        chunk = texts[begin : begin + block]
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            cpu, started = cpu_seconds(pids[name]), time.perf_counter()
            measured[name].parts.append(legs[name].encode(chunk, batch_size=batch_size))
            measured[name].seconds += time.perf_counter() - started
            measured[name].cpu_seconds += cpu_seconds(pids[name]) - cpu
    return measured


def print_table(
    texts: list[str],
    measured: dict[str, Measured],
    startup: dict[str, float],
    load_before: tuple[float, float, float],
    cpus: int,
) -> None:
    rate = {name: len(texts) / leg.seconds for name, leg in measured.items()}
    print(
        f"{len(texts)} passages from {CORPUS.name}, int8 encoder, {os.cpu_count()} CPUs here "
        f"(Ray told {cpus}); load average before {load_before[0]:.2f} / {load_before[1]:.2f} (1 / 5 min)"
    )
    head = f"{'leg':<8} {'passages/s':>10} {'seconds':>8} {'vs local':>9} {'cores busy':>11} {'per core-s':>11}"
    print(f"{head} {'start-up s':>11}")
    for name, leg in measured.items():
        start = f"{startup[name]:.1f}" if name in startup else "-"
        print(
            f"{name:<8} {rate[name]:>10.1f} {leg.seconds:>8.1f} {rate[name] / rate['local']:>8.2f}x "
            f"{leg.cpu_seconds / leg.seconds:>11.2f} {len(texts) / leg.cpu_seconds:>11.1f} {start:>11}"
        )
    print(
        f"ray-2 / local = {rate['ray-2'] / rate['local']:.2f}x (target >= 0.85); "
        f"ray-2 / ray-1 = {rate['ray-2'] / rate['ray-1']:.2f}x (target >= 1.6)"
    )
    vectors = {name: np.concatenate(leg.parts).tobytes() for name, leg in measured.items()}
    same = all(v == vectors["local"] for v in vectors.values())
    print(f"vectors byte-identical across legs: {same}; load average after {os.getloadavg()[0]:.2f}")
    print(
        "cores busy: CPU seconds of this process and the leg's workers per second of wall time; per core-s: "
        "passages per CPU second, the cost of the work whatever the load. With "
        "other work on the machine Linux shares the CPUs between sessions (autogroup), not threads, so "
        "a second worker only helps when cores are idle: compare legs on a quiet machine."
    )
    print(
        "passages/s exclude start-up (actor processes, model load, canary proof: the start-up column); "
        "they include everything per batch: pickling texts out and vectors back, the driver's scheduling, "
        "and each call's tail where a worker waits for the last batch of another."
    )


if __name__ == "__main__":
    sys.exit(main())
