"""Vector index types measured: build time, size, one-query latency and recall against exact search.

    nice -n 19 python scripts/bench_ann.py            # the full run: about 20 minutes of one core
    nice -n 19 python scripts/bench_ann.py --quick    # 100k synthetic vectors, a short sweep: about 4 minutes
    python scripts/bench_ann.py [--synthetic 1000000] [--index var/rtqa] [--pool var/allsides8k ...]
        [--questions FILE] [--queries 200] [--kinds ...] [--synthetic-kinds ...] [--sweep 25000,50000,...]
        [--sweep-kinds hnsw,ivf_sq8] [--budget-ms 5] [--seed 0]

(b) the passage vectors of a real index, its own encoder's vectors of the dev questions as queries; then
    flat against hnsw and ivf_sq8 on it pooled with other real indexes (--pool) at growing sizes;
(a) synthetic clustered unit vectors, held-out draws of the same distribution as queries;
(d) filtered searches through index.vectors.search on the HNSW index of (a);
(c) flat against the approximate types that met the target in (a), on growing subsets of (a): the size
    threshold is read off here.
Each approximate type's knob (efSearch, nprobe) is tuned twice: to the smallest value giving recall@10 >= 0.98
for k=10, and recall@200 >= 0.98 for k=200 (the searcher's depth: fusion ranks all 200).
Everything runs on one thread, as a query in the searcher does (index/vectors.py); builds too, so build
seconds are one core's. Latencies are CPU time of the searching thread, so a shared machine's load does
not count in them (its memory traffic still does); the wall-clock p50 at k=200 is printed beside them.
Skips a part, with a message, when its data is absent.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy and faiss load their thread pools
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from index import layout, vectors  # noqa: E402
from index.errors import NewsdeskError  # noqa: E402
from index.maintenance import encoder_for  # noqa: E402
from index.snapshot import Snapshot  # noqa: E402

DATA = REPO.parent / "shared" / "data"
TARGET_RECALL = 0.98
LATENT = 32  # dimensions the synthetic mixture varies along (see `clustered`)
DEEP = 200  # the searcher's retrieval depth (search/settings.py)
IP = faiss.METRIC_INNER_PRODUCT
SQ8 = faiss.ScalarQuantizer.QT_8bit
EF_VALUES = (16, 24, 32, 48, 64, 96, 128, 192, 256, 320, 400, 512, 640, 800, 1024, 1280, 1600)
NPROBE_VALUES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def ivf_lists(count: int) -> int:
    return max(16, round(4 * math.sqrt(count)))


def _hnsw_sq8(_count: int, dimension: int) -> faiss.Index:
    inner = faiss.IndexHNSWSQ(dimension, SQ8, vectors.HNSW_M, IP)
    inner.hnsw.efConstruction = vectors.HNSW_EF_CONSTRUCTION
    return faiss.IndexIDMap2(inner)


def _ivf_sq8(count: int, dimension: int) -> faiss.Index:
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dimension), dimension, ivf_lists(count), SQ8, IP)
    index.cp.niter = 10  # k-means iterations: 25 (the default) costs 2.5x the training for no recall measured
    return index


@dataclass(frozen=True)
class Candidate:
    """A vector index type: how to make one empty for `count` vectors, and its search-time knob."""

    name: str
    make: Callable[[int, int], faiss.Index]
    knob: str = ""
    values: tuple[int, ...] = ()
    trains: bool = False  # learns from a sample of the vectors before any is added

    def params(self, value: int | None) -> faiss.SearchParameters | None:
        if self.knob == "efSearch":
            return faiss.SearchParametersHNSW(efSearch=value)
        if self.knob == "nprobe":
            return faiss.SearchParametersIVF(nprobe=value)
        return None


CANDIDATES = {
    c.name: c
    for c in (
        Candidate("flat", lambda _n, d: vectors.new_index(vectors.FLAT, d)),
        Candidate("sq8", lambda _n, d: faiss.IndexIDMap2(faiss.IndexScalarQuantizer(d, SQ8, IP)), trains=True),
        Candidate("hnsw", lambda _n, d: vectors.new_index(vectors.HNSW, d), "efSearch", EF_VALUES),
        Candidate("hnsw_sq8", _hnsw_sq8, "efSearch", EF_VALUES, trains=True),
        Candidate("ivf_sq8", _ivf_sq8, "nprobe", NPROBE_VALUES, trains=True),
    )
}


@dataclass
class Row:
    kind: str
    count: int
    knob: str
    value: int | None  # knob for k=10
    value_deep: int | None  # knob for k=200
    build_s: float
    bytes_per_vector: float
    p50_10: float
    p95_10: float
    p50_deep: float
    p95_deep: float
    wall50_deep: float
    recall_10: float
    recall_deep: float

    def cells(self) -> str:
        knob = f"{self.knob} {self.value}/{self.value_deep}" if self.knob else "exact"
        return (
            f"{self.kind:<9} {self.count:>9,} {knob:<17} {self.build_s:>8.1f} {self.bytes_per_vector:>7.0f} "
            f"{self.p50_10:>7.2f} {self.p95_10:>7.2f} {self.p50_deep:>8.2f} {self.p95_deep:>8.2f} "
            f"{self.wall50_deep:>8.2f} {self.recall_10:>6.3f} {self.recall_deep:>7.3f}"
        )


HEADER = (
    f"{'kind':<9} {'n':>9} {'knob @10/@200':<17} {'build s':>8} {'B/vec':>7} {'p50@10':>7} {'p95@10':>7} "
    f"{'p50@200':>8} {'p95@200':>8} {'wall@200':>8} {'R@10':>6} {'R@200':>7}"
)
UNITS = "(times in ms of one core per query; wall@200 is the wall-clock p50 at k=200; R@k against exact top-k)"


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def clustered(count: int, dimension: int, seed: int, centres: int = 4096, topics: int = 256) -> np.ndarray:
    """Unit vectors from a Gaussian mixture: `centres` random centres, themselves grouped under `topics`,
    uneven cluster sizes. The mixture lives in a LATENT-dimensional space mapped into `dimension` dimensions,
    plus a little isotropic noise, because text embeddings vary along few directions locally: with isotropic
    384-d clusters a million points make every cluster mate about equally near (measured: 1st/10th neighbour
    cosine 0.67/0.65, where the real passages keep a 0.13 gap from 27k to 114k; docs/benchmarks.md)."""
    rng = np.random.default_rng(seed)
    topic = rng.standard_normal((topics, LATENT), dtype=np.float32)
    centre = topic[rng.integers(0, topics, centres)] + rng.standard_normal((centres, LATENT), dtype=np.float32)
    weight = 1 / np.sqrt(np.arange(1, centres + 1))
    label = rng.choice(centres, count, p=weight / weight.sum())
    into = rng.standard_normal((LATENT, dimension), dtype=np.float32) / np.float32(math.sqrt(LATENT))
    out = np.empty((count, dimension), dtype=np.float32)
    for begin in range(0, count, 1 << 16):
        chunk = label[begin : begin + (1 << 16)]
        point = (centre[chunk] + 0.8 * rng.standard_normal((len(chunk), LATENT), dtype=np.float32)) @ into
        noise = rng.standard_normal(point.shape, dtype=np.float32) * np.linalg.norm(point, axis=1, keepdims=True)
        out[begin : begin + len(chunk)] = unit(point + 0.4 / np.float32(math.sqrt(dimension)) * noise)
    return out


def exact_top(base: np.ndarray, queries: np.ndarray, k: int, subset: np.ndarray | None = None) -> np.ndarray:
    """Row numbers of the exact top-k inner products (among the `subset` rows, when given), best first."""
    count = len(base) if subset is None else len(subset)
    best_scores = np.empty((len(queries), 0), dtype=np.float32)
    best_rows = np.empty((len(queries), 0), dtype=np.int64)
    for begin in range(0, count, 1 << 17):
        rows = np.arange(begin, min(count, begin + (1 << 17))) if subset is None else subset[begin : begin + (1 << 17)]
        block = base[rows[0] : rows[-1] + 1] if subset is None else base[rows]
        scores, found = _top(queries @ block.T, np.broadcast_to(rows, (len(queries), len(rows))), k)
        best_scores, best_rows = _top(np.hstack([best_scores, scores]), np.hstack([best_rows, found]), k)
    order = np.argsort(-best_scores, axis=1)
    return np.take_along_axis(best_rows, order, 1)


def _top(scores: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of each row of `scores` (unordered), with their `rows` entries."""
    if scores.shape[1] <= k:
        return scores, rows
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(scores, top, 1), np.take_along_axis(rows, top, 1)


def recall(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean share of each query's exact top-k found in its first k results."""
    shared = [len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(shared)) / k


def profile(base: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> str:
    """Queries' mean cosine to their exact 1st, 10th and 200th neighbour: how tight the neighbourhoods are."""
    return " / ".join(f"{np.einsum('ij,ij->i', base[truth[:, r]], queries).mean():.2f}" for r in (0, 9, DEEP - 1))


def build(candidate: Candidate, base: np.ndarray, ids: np.ndarray) -> tuple[faiss.Index, float]:
    """An index of `candidate` over all of `base`, and the CPU seconds it took (training included)."""
    started = time.process_time()
    index = candidate.make(len(base), base.shape[1])
    if candidate.trains:
        sample = np.random.default_rng(1).choice(len(base), min(len(base), 40 * ivf_lists(len(base))), replace=False)
        index.train(base[np.sort(sample)])
    index.add_with_ids(base, ids)
    return index, time.process_time() - started


def tune(candidate: Candidate, index: faiss.Index, queries: np.ndarray, truth: np.ndarray, k: int) -> int | None:
    """The smallest knob value with recall@k >= TARGET_RECALL (the largest tried when none reaches it)."""
    if not candidate.knob:
        return None
    # efSearch below k is not used: FAISS walks with max(efSearch, k).
    values = [v for v in candidate.values if candidate.knob != "efSearch" or v >= k]
    for value in values:
        _, found = index.search(queries, k, params=candidate.params(value))
        if recall(found, truth, k) >= TARGET_RECALL:
            break
    return value


def timed(index: faiss.Index, queries: np.ndarray, k: int, params) -> tuple[list[float], list[float], np.ndarray]:
    """Per-query CPU and wall milliseconds of one-query searches, and the ids found."""
    for query in queries[:10]:  # warm-up: first touches of an index's pages
        index.search(query[None], k, params=params)
    cpu, wall, found = [], [], []
    for query in queries:
        started_cpu, started_wall = time.thread_time(), time.perf_counter()
        _, ids = index.search(query[None], k, params=params)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started_wall) * 1000)
        found.append(ids[0])
    return cpu, wall, np.array(found)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(
    candidate: Candidate,
    index: faiss.Index,
    build_s: float,
    queries: np.ndarray,
    truth: np.ndarray,
    ids: np.ndarray,
) -> Row:
    """One row: the knob tuned for k=10 and for k=200, then k=10 and k=200 searches timed with them."""
    expected = ids[truth]
    value, value_deep = tune(candidate, index, queries, expected, 10), tune(candidate, index, queries, expected, DEEP)
    cpu_10, _, found_10 = timed(index, queries, 10, candidate.params(value))
    cpu_deep, wall_deep, found = timed(index, queries, DEEP, candidate.params(value_deep))
    size = faiss.serialize_index(index).size / index.ntotal
    return Row(
        candidate.name,
        index.ntotal,
        candidate.knob,
        value,
        value_deep,
        build_s,
        size,
        statistics.median(cpu_10),
        p95(cpu_10),
        statistics.median(cpu_deep),
        p95(cpu_deep),
        statistics.median(wall_deep),
        recall(found_10, expected, 10),
        recall(found, expected, DEEP),
    )


def compare(
    title: str, base: np.ndarray, queries: np.ndarray, kinds: list[str], keep: str | None = None
) -> tuple[list[Row], faiss.Index | None]:
    """Every kind over one data set: the table and the flat ratios. Returns the rows, and the index of
    kind `keep` (the others are dropped as soon as they are measured)."""
    ids = np.arange(len(base), dtype=np.int64)
    truth = exact_top(base, queries, DEEP)
    print(f"\n{title}")
    print(f"queries' mean cosine to their exact 1st / 10th / 200th neighbour: {profile(base, queries, truth)}")
    print(HEADER)
    rows, kept = [], None
    for kind in kinds:
        candidate = CANDIDATES[kind]
        index, build_s = build(candidate, base, ids)
        row = measure(candidate, index, build_s, queries, truth, ids)
        print(row.cells(), flush=True)
        rows.append(row)
        if kind == keep:
            kept = index
        del index
    print(UNITS)
    print_ratios(rows)
    return rows, kept


def print_ratios(rows: list[Row]) -> None:
    flat = next((row for row in rows if row.kind == "flat"), None)
    if flat is None:
        return
    for row in rows:
        if row is not flat:
            print(
                f"  {row.kind:<9} vs flat: p50@10 {row.p50_10 / flat.p50_10:.3f}x, p50@200 "
                f"{row.p50_deep / flat.p50_deep:.3f}x, bytes {row.bytes_per_vector / flat.bytes_per_vector:.2f}x"
            )


def good_approximate(rows: list[Row]) -> list[str]:
    """The approximate kinds that reached the recall target at both depths, fastest at k=200 first."""
    good = [row for row in rows if row.knob and min(row.recall_10, row.recall_deep) >= TARGET_RECALL]
    return [row.kind for row in sorted(good, key=lambda row: row.p50_deep)]


def sweep(
    title: str,
    base: np.ndarray,
    queries: np.ndarray,
    sizes: list[int],
    kinds: list[str],
    budget_ms: float,
    known: tuple[Row, ...] = (),
) -> None:
    """Flat and `kinds` on the first n vectors for each size; rows already measured on all of `base` are
    reused. Kinds without training grow one index through the sizes (an index built on the first n
    vectors is the same either way); the others are built afresh for each size."""
    print(f"\n{title}: flat against {', '.join(kinds)}")
    print(HEADER)
    grown: dict[str, tuple[faiss.Index, float]] = {}
    rows = []
    for size in sizes:
        subset, ids = base[:size], np.arange(size, dtype=np.int64)
        truth = exact_top(subset, queries, DEEP)
        for name in ("flat", *kinds):
            candidate = CANDIDATES[name]
            reused = next((row for row in known if row.kind == name and row.count == size), None)
            if reused is not None:
                row = reused
            elif candidate.knob and not candidate.trains:
                index, spent = grown.get(name) or (candidate.make(size, base.shape[1]), 0.0)
                started = time.process_time()
                index.add_with_ids(base[index.ntotal : size], ids[index.ntotal : size])
                grown[name] = index, spent + time.process_time() - started
                row = measure(candidate, index, grown[name][1], queries, truth, ids)
            else:
                index, build_s = build(candidate, subset, ids)
                row = measure(candidate, index, build_s, queries, truth, ids)
                del index
            print(row.cells(), flush=True)
            rows.append(row)
    print(UNITS)
    flat = [row for row in rows if row.kind == "flat"]
    over = next((i for i, row in enumerate(flat) if row.p50_deep > budget_ms), None)
    if over is None:
        print(f"flat stays within {budget_ms:g} ms p50 at k=200 up to {flat[-1].count:,} vectors")
    elif over == 0:
        print(f"flat exceeds {budget_ms:g} ms p50 at k=200 already at {flat[0].count:,} vectors")
    else:
        low, high = flat[over - 1], flat[over]
        crossing = low.count + (budget_ms - low.p50_deep) / (high.p50_deep - low.p50_deep) * (high.count - low.count)
        print(
            f"flat crosses {budget_ms:g} ms p50 at k=200 near {crossing:,.0f} vectors "
            f"({low.count:,}: {low.p50_deep:.2f} ms, {high.count:,}: {high.p50_deep:.2f} ms)"
        )
    for kind in kinds:
        measured = [row for row in rows if row.kind == kind]
        print(
            f"{kind}: recall@10 {min(r.recall_10 for r in measured):.3f}-{max(r.recall_10 for r in measured):.3f}, "
            f"p50@200 {min(r.p50_deep for r in measured):.2f}-{max(r.p50_deep for r in measured):.2f} ms, "
            f"{CANDIDATES[kind].knob} {', '.join(f'{r.value}/{r.value_deep}' for r in measured)}"
        )


def filtered(index: faiss.Index, base: np.ndarray, queries: np.ndarray, shares: tuple[float, ...]) -> None:
    """index.vectors.search on the HNSW index with filters of several sizes, the exact scan and the
    graph walk forced in turn, against the exact filtered top-k."""
    print(f"\n(d) filtered search through index.vectors.search on the hnsw index of (a), {len(queries)} queries, k=200")
    print(f"{'share':>6} {'allowed':>9} {'path':<6} {'p50 ms':>7} {'p95 ms':>7} {'R@10':>6} {'R@200':>6} {'fewest':>6}")
    rng = np.random.default_rng(2)
    switch = vectors.HNSW_SCAN_FACTOR
    try:
        for share in shares:
            allowed = np.sort(rng.choice(len(base), round(share * len(base)), replace=False)).astype(np.int64)
            truth = exact_top(base, queries, DEEP, allowed)
            for path, factor in (("scan", math.inf), ("graph", 0)):
                vectors.HNSW_SCAN_FACTOR = factor  # force one path of the shipped function
                cpu, found = [], []
                for query in queries:
                    started = time.thread_time()
                    ids = vectors.search(index, query, DEEP, allowed).ids
                    cpu.append((time.thread_time() - started) * 1000)
                    found.append(ids)
                returned = min(len(ids) for ids in found)
                padded = np.array([np.pad(ids, (0, DEEP - len(ids)), constant_values=-1) for ids in found])
                print(
                    f"{share:>6.2f} {len(allowed):>9,} {path:<6} {statistics.median(cpu):>7.2f} {p95(cpu):>7.2f} "
                    f"{recall(padded, truth, 10):>6.3f} {recall(padded, truth, DEEP):>6.3f} {returned:>6}",
                    flush=True,
                )
    finally:
        vectors.HNSW_SCAN_FACTOR = switch
    print(
        f"(fewest: fewest passages returned for a query. Shipped: the scan while allowed * share < {switch:g} * ef, "
        f"else the graph walk with efSearch = ef / share; ef = max({vectors.HNSW_EF_SEARCH}, "
        f"{vectors.HNSW_EF_PER_RESULT}k) = {max(vectors.HNSW_EF_SEARCH, vectors.HNSW_EF_PER_RESULT * DEEP)} here)"
    )


def stored_vectors(index_dir: Path) -> np.ndarray | None:
    """The live passage vectors of an index's live generation, in passage id order; None without an index."""
    if layout.live_generation(index_dir) is None:
        return None
    snapshot = Snapshot.open(index_dir)
    try:
        return snapshot.vectors.vectors_of(snapshot.live_passage_ids())
    finally:
        snapshot.close()


def same_encoder(one: Path, other: Path) -> bool:
    keys = ("name", "fingerprint", "backend", "dimension")
    first, second = layout.read_manifest(one)["encoder"], layout.read_manifest(other)["encoder"]
    return all(first.get(key) == second.get(key) for key in keys)


def real(args: argparse.Namespace, kinds: list[str]) -> None:
    """(b): every kind on one real index; then flat against hnsw on it pooled with other indexes of the
    same encoder, in random order, at growing sizes."""
    base = stored_vectors(args.index)
    if base is None:
        print(f"\n(b) skipped: no index at {args.index} (build one with `newsdesk index`)")
        return
    if not args.questions.is_file():
        print(f"\n(b) skipped: {args.questions} not found (this part needs ../shared/data)")
        return
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["question"] for line in lines if line.strip()]
    queries = np.asarray(encoder_for(args.index).encode(texts), dtype=np.float32)
    compare(
        f"(b) real: {len(base):,} passage vectors of {args.index}, its encoder's vectors of the {len(queries)} "
        f"questions of {args.questions.name} as queries ({ivf_lists(len(base))} IVF lists)",
        base,
        queries,
        kinds,
    )
    pooled, names = [base], [str(args.index)]
    for other in args.pool:
        vectors_of_other = stored_vectors(other)
        if vectors_of_other is None or not same_encoder(args.index, other):
            print(f"(b) pooling: {other} left out (no index there, or another encoder)")
            continue
        pooled.append(vectors_of_other)
        names.append(str(other))
    if len(pooled) > 1:
        everything = np.concatenate(pooled)
        everything = everything[np.random.default_rng(args.seed).permutation(len(everything))]
        sizes = [size for size in (25_000, 50_000) if size < len(everything)] + [len(everything)]
        sweep(
            f"(b) real, pooled: the passage vectors of {' + '.join(names)} in random order, the same queries",
            everything,
            queries,
            sizes,
            ["hnsw", "ivf_sq8"],
            args.budget_ms,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="synthetic vectors (0: none)")
    parser.add_argument("--index", type=Path, default=REPO / "var" / "rtqa", help="a real index (default: %(default)s)")
    parser.add_argument(
        "--pool",
        type=Path,
        nargs="*",
        default=[REPO / "var" / "allsides8k"],
        help="more indexes of the same encoder, pooled with --index for a real size sweep (default: %(default)s)",
    )
    parser.add_argument("--questions", type=Path, default=DATA / "eval" / "questions_dev.jsonl")
    parser.add_argument("--queries", type=int, default=200, help="synthetic queries (default: %(default)s)")
    parser.add_argument("--kinds", default=",".join(CANDIDATES), help="types compared in (b) (default: %(default)s)")
    parser.add_argument(
        "--synthetic-kinds",
        default="flat,sq8,hnsw,ivf_sq8",
        help="types compared in (a) (default: %(default)s; hnsw_sq8 builds as slowly as hnsw, 6 min at 1M)",
    )
    parser.add_argument("--sweep", default="25000,50000,100000,250000,500000,1000000", help="sizes for (c)")
    parser.add_argument(
        "--sweep-kinds", default=None, help="approximate types for (c) (default: those reaching the target in (a))"
    )
    parser.add_argument("--budget-ms", type=float, default=5.0, help="p50 at k=200 that flat must stay within")
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="100k synthetic vectors, 100 queries, sweep to 100k")
    args = parser.parse_args()
    if args.quick:
        args.synthetic, args.queries, args.sweep = min(args.synthetic, 100_000), 100, "25000,50000,100000"
    kinds, synthetic_kinds = (
        ["flat", *[k for k in names.split(",") if k and k != "flat"]] for names in (args.kinds, args.synthetic_kinds)
    )
    unknown = [k for k in kinds + synthetic_kinds if k not in CANDIDATES]
    if unknown:
        parser.error(f"unknown kind {unknown[0]!r}; choose from {', '.join(CANDIDATES)}")
    faiss.omp_set_num_threads(1)
    print(
        f"bench_ann: faiss {faiss.__version__}, {os.cpu_count()} CPUs, one thread; load average "
        f"{os.getloadavg()[0]:.2f}; recall target {TARGET_RECALL}"
    )
    try:
        real(args, kinds)
    except NewsdeskError as exc:
        print(f"\n(b) skipped: {exc}")

    if args.synthetic <= 0:
        print("\n(a), (c), (d) skipped: --synthetic 0")
        return 0
    data = clustered(args.synthetic + args.queries, args.dimension, args.seed)
    base, queries = data[: args.synthetic], data[args.synthetic :]
    rows, graph = compare(
        f"(a) synthetic: {len(base):,} unit vectors of a Gaussian mixture (4096 clusters under 256 topics, varying "
        f"along {LATENT} directions plus isotropic noise; seed {args.seed}), {len(queries)} held-out draws as queries "
        f"({ivf_lists(len(base))} IVF lists).\nClustered because uniform random vectors have no neighbourhood "
        "structure (every point about as far as any other): a worst case for every approximate type.",
        base,
        queries,
        synthetic_kinds,
        keep="hnsw",
    )
    if graph is not None:
        filtered(graph, base, queries[:50], (0.03, 0.1, 0.2, 0.4, 0.7))
        del graph
    sweep_kinds = args.sweep_kinds.split(",") if args.sweep_kinds else good_approximate(rows)
    if not sweep_kinds:
        print("\n(c) skipped: no approximate type reached the recall target in (a)")
        return 0
    sizes = sorted({int(s) for s in args.sweep.split(",") if s and int(s) <= len(base)})
    sweep(
        "(c) size sweep on the first n vectors of (a)", base, queries, sizes, sweep_kinds, args.budget_ms, tuple(rows)
    )
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
