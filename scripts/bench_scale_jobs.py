"""The steps scripts/bench_scale.py times, each run in a child process of its own (`run_child`), so each one's
peak RSS is its own: build, search (open + queries + recall), add, remove. Only public entry points of
newsdesk are called: index.build.build, index.maintenance.remove, search.Searcher (its retriever for the
dense-only recall check).

A job gets a JSON spec and returns a JSON-able dict; times are of the operation alone (interpreter start
and imports excluded), RSS figures are the child's peak so far (`ru_maxrss`) at named moments.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling, when imported by file (tests)
from bench_stand_in import QueryEncoder, StandInEncoder, read_vector_log

Spec = dict[str, Any]
EXACT_BLOCK = 1 << 17  # stored vectors per exact-search block: 200 MB of float32 at a time
WARM_UP = 5


def peak_rss_mib() -> float:
    """This process's peak resident set so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class StageClock:
    """A progress factory (index.report.ProgressFactory) that only times the build's stages: each bar's life
    is a stage; before the first and after the last are named so (an update copies or opens the store before
    reading; stories, commit, postings and the vector index come after embedding)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, label: str, total: int | None) -> StageClock.Bar:
        if not self.seconds:
            self.seconds["before reading"] = time.perf_counter() - self.started
        return StageClock.Bar(self, label)

    def finish(self) -> dict[str, float]:
        self.seconds["after embedding"] = time.perf_counter() - self.last
        return self.seconds

    class Bar:
        def __init__(self, clock: StageClock, label: str) -> None:
            self.clock, self.label, self.started = clock, label, time.perf_counter()

        def update(self, n: int = 1) -> None:
            pass

        def close(self) -> None:
            self.clock.last = time.perf_counter()
            seconds = self.clock.last - self.started
            self.clock.seconds[self.label] = self.clock.seconds.get(self.label, 0.0) + seconds


def index_job(spec: Spec) -> dict[str, Any]:
    """JSON Lines files indexed through index.build.build: a fresh index (build) or into one (add). With
    `vector_log`, the stand-in's vectors are logged there (the reference of exact search)."""
    from index.build import build

    encoder = StandInEncoder(vector_log=Path(spec["vector_log"]) if spec.get("vector_log") else None)
    baseline = peak_rss_mib()
    started = time.perf_counter()
    clock = StageClock()
    report = build([Path(p) for p in spec["paths"]], Path(spec["index"]), encoder, progress=clock)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "stages": clock.finish(),
        "stand_in_seconds": encoder.seconds,
        "added": report.added,
        "articles": report.articles,
        "passages": report.passages,
        "embedded": report.embedded,
        "stories": report.stories,
        "skipped": len(report.skipped),
        "rss_before_mib": baseline,
    }


def remove_job(spec: Spec) -> dict[str, Any]:
    """Articles removed by URL through index.maintenance.remove."""
    from index.maintenance import remove

    baseline = peak_rss_mib()
    started = time.perf_counter()
    report = remove(Path(spec["index"]), spec["urls"])
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "removed": len(report.removed),
        "not_found": len(report.not_found),
        "passages": report.passages,
        "rss_before_mib": baseline,
    }


def search_job(spec: Spec) -> dict[str, Any]:
    """Open a searcher (the real encoder loaded first), one cold query, then hybrid queries with the real
    encoder's cost included, then recall@10 of the dense retriever against exact search."""
    from index.encoders import load_encoder
    from search.query import Filters
    from search.searcher import Searcher

    queries: list[str] = spec["queries"]
    baseline = peak_rss_mib()
    started = time.perf_counter()
    encoder = QueryEncoder(StandInEncoder(), load_encoder())
    model_seconds = time.perf_counter() - started
    model_rss = peak_rss_mib()
    started = time.perf_counter()
    searcher = Searcher.open(Path(spec["index"]), encoder=encoder)
    open_seconds = time.perf_counter() - started
    open_rss = peak_rss_mib()
    started = time.perf_counter()
    searcher.search(queries[-1], k=10)
    first_ms = (time.perf_counter() - started) * 1000
    for query in queries[:WARM_UP]:
        searcher.search(query, k=10)
    latencies, embedding = [], []
    for query in queries:
        searcher.clear_query_cache()  # every query embedded afresh
        real, stand_in = encoder.real_seconds, encoder.stand_in_seconds
        started = time.perf_counter()
        searcher.search(query, k=10)
        elapsed = time.perf_counter() - started
        # The stand-in's own vector is not a cost a real searcher pays: subtracted.
        latencies.append((elapsed - (encoder.stand_in_seconds - stand_in)) * 1000)
        embedding.append((encoder.real_seconds - real) * 1000)
    serving_rss = peak_rss_mib()
    vectors = StandInEncoder().encode(queries)
    found = [searcher.retriever.dense_hits(v, 10, Filters()).scores for v in vectors]
    exact = exact_top_scores(read_vector_log(Path(spec["vector_log"])), vectors, 10)
    return {
        "model_seconds": model_seconds,
        "open_seconds": open_seconds,
        "first_query_ms": first_ms,
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "embedding_p50_ms": statistics.median(embedding),
        "recall_at_10": recall_by_score(found, exact),
        "neighbour_cosines": [float(exact[:, 0].mean()), float(exact[:, -1].mean())],
        "queries": len(queries),
        "rss_before_mib": baseline,
        "rss_model_mib": model_rss,
        "rss_open_mib": open_rss,
        "rss_serving_mib": serving_rss,
    }


def exact_top_scores(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Each query's k best inner products over all of `base` (faiss IndexFlatIP a block at a time), best first."""
    import faiss

    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    for begin in range(0, len(base), EXACT_BLOCK):
        block = faiss.IndexFlatIP(base.shape[1])
        block.add(np.ascontiguousarray(base[begin : begin + EXACT_BLOCK]))
        scores, _ = block.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        best = -np.sort(-np.hstack([best, scores]), axis=1)[:, :k]
    return best


def recall_by_score(found: list[np.ndarray], exact: np.ndarray, tolerance: float = 1e-4) -> float:
    """Mean share of each query's exact top-k that the retriever's k results reach: a result counts when it
    scores at least the exact k-th best. By score, not id, so the reference needs no passage ids (the vectors
    come from the stand-in's log); ties within `tolerance` are the only way to miscount."""
    k = exact.shape[1]
    hits = [min(k, int((scores >= exact[row, -1] - tolerance).sum())) for row, scores in enumerate(found)]
    return float(np.mean(hits)) / k


JOBS: dict[str, Callable[[Spec], dict[str, Any]]] = {
    "build": index_job,
    "add": index_job,
    "remove": remove_job,
    "search": search_job,
}


@dataclass(frozen=True)
class ChildResult:
    """What a job returned, and the child's wall time from spawn to exit, CPU time (user + system: less
    sensitive than wall time to a shared machine's load) and peak RSS (wait4)."""

    result: dict[str, Any]
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mib: float


def run_child(script: Path, job: str, spec: Spec, work: Path) -> ChildResult:
    """Run `job` in a child process (`script --child JOB SPEC_FILE`) and collect its result and rusage."""
    spec_file = work / f".{job}-spec.json"
    out_file = work / f".{job}-result.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    out_file.unlink(missing_ok=True)
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, str(script), "--child", job, str(spec_file), str(out_file)])
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the sum of all children
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0 or not out_file.is_file():
        raise RuntimeError(f"the {job} step failed (exit {child.returncode}); its output is above")
    result = json.loads(out_file.read_text(encoding="utf-8"))
    spec_file.unlink()
    out_file.unlink()
    return ChildResult(result, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def child_main(job: str, spec_file: str, out_file: str) -> int:
    """The child's side of `run_child`."""
    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    result = JOBS[job](spec)
    Path(out_file).write_text(json.dumps(result), encoding="utf-8")
    return 0
